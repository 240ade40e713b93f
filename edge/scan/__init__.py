"""Scan-gun agent: barcode scans (HTTP terminals or a keyboard-wedge gun) to ``wo.*`` events."""

from edge.scan.directory import (
    DirectoryUnavailableError,
    InMemoryWorkOrderDirectory,
    PostgresWorkOrderDirectory,
    WorkOrderDirectory,
    WorkOrderStatus,
)
from edge.scan.grammar import ScanAssembler, parse_barcode, scan_from_request
from edge.scan.model import RejectCode, Scan, ScanAction, ScanRejected, ScanRequest, ScanResult
from edge.scan.service import OperationState, ScanService

__all__ = [
    "DirectoryUnavailableError",
    "InMemoryWorkOrderDirectory",
    "OperationState",
    "PostgresWorkOrderDirectory",
    "RejectCode",
    "Scan",
    "ScanAction",
    "ScanAssembler",
    "ScanRejected",
    "ScanRequest",
    "ScanResult",
    "ScanService",
    "WorkOrderDirectory",
    "WorkOrderStatus",
    "parse_barcode",
    "scan_from_request",
]
