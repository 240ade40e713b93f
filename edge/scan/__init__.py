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
from edge.scan.service import ScanService
from edge.scan.state import OperationState, OperationStates

__all__ = [
    "DirectoryUnavailableError",
    "InMemoryWorkOrderDirectory",
    "OperationState",
    "OperationStates",
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
