"""What a scan terminal sends, what a complete scan is, and how a scan is refused."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import Field

from shopfloor.events import Ident, Model, PauseReason, UtcDatetime

OperationSeq = Annotated[int, Field(ge=1, le=99)]
Quantity = Annotated[int, Field(ge=0, le=10_000_000)]


class ScanAction(StrEnum):
    START = "start"
    REPORT = "report"
    PAUSE = "pause"
    RESUME = "resume"
    FINISH = "finish"


class ScanRequest(Model):
    """``POST /scans``: structured fields, raw barcodes (see :mod:`edge.scan.grammar`), or both.

    Barcodes are read first; a structured field given as well must agree with them.
    """

    terminal_id: Ident
    barcodes: Annotated[list[Annotated[str, Field(max_length=128)]], Field(max_length=32)] = Field(default_factory=list)
    work_order_id: Ident | None = None
    operation_seq: OperationSeq | None = None
    action: ScanAction | None = None
    good: Quantity | None = None
    scrap: Quantity | None = None
    reason: PauseReason | None = None
    note: Annotated[str, Field(max_length=256)] | None = None
    machine_id: Ident | None = None
    operator_id: Ident | None = None
    # When the operator scanned (a terminal that was offline sends it later); default: on arrival.
    scanned_at: UtcDatetime | None = None


@dataclass(frozen=True, slots=True)
class Scan:
    """A complete, well-formed scan: one action on one operation of one work order."""

    terminal_id: str
    work_order_id: str
    action: ScanAction
    operation_seq: int = 1
    good: int | None = None
    scrap: int | None = None
    reason: PauseReason | None = None
    note: str | None = None
    machine_id: str | None = None
    operator_id: str | None = None
    scanned_at: datetime | None = None

    @property
    def dedup_key(self) -> tuple[object, ...]:
        """Two scans with this key equal within the debounce window are one double scan."""
        return (
            self.terminal_id,
            self.work_order_id,
            self.operation_seq,
            self.action,
            self.good,
            self.scrap,
            self.reason,
        )


class RejectCode(StrEnum):
    BAD_SCAN = "bad_scan"
    UNKNOWN_WORK_ORDER = "unknown_work_order"
    WORK_ORDER_CLOSED = "work_order_closed"
    INVALID_TRANSITION = "invalid_transition"
    QUEUE_FULL = "queue_full"
    DIRECTORY_UNAVAILABLE = "directory_unavailable"


HTTP_STATUS: dict[RejectCode, int] = {
    RejectCode.BAD_SCAN: 422,
    RejectCode.UNKNOWN_WORK_ORDER: 404,
    RejectCode.WORK_ORDER_CLOSED: 409,
    RejectCode.INVALID_TRANSITION: 409,
    RejectCode.QUEUE_FULL: 503,
    RejectCode.DIRECTORY_UNAVAILABLE: 503,
}


class ScanRejected(Exception):
    """A scan the terminal must be told about: ``code`` for machines, ``reason`` for the operator."""

    def __init__(self, code: RejectCode, reason: str) -> None:
        self.code = code
        self.reason = reason
        super().__init__(f"{code.value}: {reason}")

    @property
    def http_status(self) -> int:
        return HTTP_STATUS[self.code]


class ScanResult(Model):
    """The answer to the terminal: the events published (or, for a double scan, the earlier ones)."""

    work_order_id: str
    operation_seq: int
    action: ScanAction
    state: str
    event_ids: list[str]
    event_types: list[str]
    duplicate: bool = False
