"""Keyboard-wedge mode: a scan gun typing one barcode per line into stdin (grammar: edge.scan.grammar).

Every line gets one answer line: ``OK <event types> <work order>/<op> <state>`` when a scan was
published, ``DUP ...`` for a double scan, ``ERR <code> <reason>`` when refused, nothing while a scan is
still being assembled (``WO:``, ``QTY:`` ... before ``ACT:``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TextIO

from edge.scan.grammar import ScanAssembler
from edge.scan.model import ScanRejected
from edge.scan.service import ScanService


def run_wedge(service: ScanService, terminal_id: str, lines: Iterable[str], out: TextIO) -> int:
    """Handle scans until the input ends; returns how many scans were refused."""
    assembler = ScanAssembler(terminal_id)
    refused = 0
    for line in lines:
        if not line.strip():
            continue
        try:
            scan = assembler.feed(line)
            if scan is None:
                continue
            result = service.handle_scan(scan)
        except ScanRejected as exc:
            refused += 1
            out.write(f"ERR {exc.code.value} {exc.reason}\n")
        else:
            tag = "DUP" if result.duplicate else "OK"
            out.write(
                f"{tag} {','.join(result.event_types)} {result.work_order_id}/{result.operation_seq} {result.state}\n"
            )
        out.flush()
    return refused
