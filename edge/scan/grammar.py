"""The barcode grammar of scan guns (keyboard-wedge mode and ``barcodes`` in ``POST /scans``).

One barcode per scan, ``PREFIX:VALUE``, prefixes case-insensitive:

==============  ===========================================  =====================================
barcode         meaning                                      example
==============  ===========================================  =====================================
``WO:<id>``     work order; starts a new scan context        ``WO:WO-2024-0042``
``OP:<n>``      operation (routing step) 1-99, default 1     ``OP:2``
``QTY:<n>``     good quantity (report / finish)              ``QTY:120``
``SCRAP:<n>``   scrap quantity (report / finish)             ``SCRAP:3``
``REASON:<r>``  pause reason: material, tooling, quality,    ``REASON:material``
                breakdown, setup, break, no_operator, other
``NOTE:<text>`` free text for a pause                        ``NOTE:coil late``
``MC:<id>``     machine (kept for the next scans)            ``MC:H2``
``OPR:<id>``    operator badge (kept for the next scans)     ``OPR:E1042``
``ACT:<a>``     START, REPORT, PAUSE, RESUME or FINISH:      ``ACT:REPORT``
                submits the scan
==============  ===========================================  =====================================

A typical report: ``WO:WO-42``, ``OP:2``, ``QTY:120``, ``SCRAP:3``, ``ACT:REPORT``. After a submit the
work order and operation stay selected (``ACT:PAUSE`` then later ``ACT:RESUME`` need no new ``WO:``);
quantities, reason and note are cleared.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any, Final

from pydantic import TypeAdapter, ValidationError

from edge.scan.model import OperationSeq, Quantity, RejectCode, Scan, ScanAction, ScanRejected, ScanRequest
from shopfloor.events import Ident, PauseReason

_BARCODE: Final = re.compile(r"^\s*([A-Za-z]+)\s*:\s*(.*?)\s*$")
_FIELDS: Final[dict[str, tuple[str, TypeAdapter[Any]]]] = {
    "WO": ("work_order_id", TypeAdapter(Ident)),
    "OP": ("operation_seq", TypeAdapter(OperationSeq)),
    "QTY": ("good", TypeAdapter(Quantity)),
    "SCRAP": ("scrap", TypeAdapter(Quantity)),
    "REASON": ("reason", TypeAdapter(PauseReason)),
    "NOTE": ("note", TypeAdapter(str)),
    "MC": ("machine_id", TypeAdapter(Ident)),
    "OPR": ("operator_id", TypeAdapter(Ident)),
    "ACT": ("action", TypeAdapter(ScanAction)),
}
_LOWERCASE_VALUES: Final = frozenset({"REASON", "ACT"})


def bad(reason: str) -> ScanRejected:
    return ScanRejected(RejectCode.BAD_SCAN, reason)


def parse_barcode(barcode: str) -> tuple[str, Any]:
    """``"QTY:120"`` -> ``("good", 120)``; raises ScanRejected(bad_scan) naming what is wrong."""
    match = _BARCODE.match(barcode)
    if match is None:
        raise bad(f"barcode {barcode!r} is not PREFIX:VALUE")
    prefix, raw = match.group(1).upper(), match.group(2)
    if prefix not in _FIELDS:
        raise bad(f"unknown barcode prefix {prefix!r} (known: {', '.join(_FIELDS)})")
    field, adapter = _FIELDS[prefix]
    value = raw.lower() if prefix in _LOWERCASE_VALUES else raw
    try:
        return field, adapter.validate_python(int(value) if prefix in ("OP", "QTY", "SCRAP") else value)
    except (ValidationError, ValueError):
        raise bad(f"barcode {barcode!r}: {raw!r} is not a valid {field}") from None


@dataclass(frozen=True, slots=True)
class _Draft:
    work_order_id: str | None = None
    operation_seq: int | None = None
    good: int | None = None
    scrap: int | None = None
    reason: PauseReason | None = None
    note: str | None = None
    machine_id: str | None = None
    operator_id: str | None = None


def complete(terminal_id: str, draft: _Draft, action: ScanAction | None, request: ScanRequest | None = None) -> Scan:
    """Check a draft is a whole scan for its action and turn it into a :class:`Scan`."""
    if action is None:
        raise bad("no action: scan ACT:START, ACT:REPORT, ACT:PAUSE, ACT:RESUME or ACT:FINISH")
    if draft.work_order_id is None:
        raise bad("no work order: scan WO:<id> first")
    has_quantity = draft.good is not None or draft.scrap is not None
    if action is ScanAction.REPORT and not has_quantity:
        raise bad("a report needs QTY:<good> and/or SCRAP:<scrap>")
    if has_quantity and action not in (ScanAction.REPORT, ScanAction.FINISH):
        raise bad(f"quantities cannot be given with {action.value}")
    if action is ScanAction.PAUSE and draft.reason is None:
        raise bad("a pause needs REASON:<reason>")
    if draft.reason is not None and action is not ScanAction.PAUSE:
        raise bad(f"a pause reason cannot be given with {action.value}")
    return Scan(
        terminal_id=terminal_id,
        work_order_id=draft.work_order_id,
        action=action,
        operation_seq=draft.operation_seq or 1,
        good=draft.good,
        scrap=draft.scrap,
        reason=draft.reason,
        note=draft.note,
        machine_id=draft.machine_id,
        operator_id=draft.operator_id,
        scanned_at=request.scanned_at if request else None,
    )


class ScanAssembler:
    """Keyboard-wedge state: barcodes accumulate until ``ACT:`` submits them as one scan."""

    def __init__(self, terminal_id: str) -> None:
        self.terminal_id = terminal_id
        self._draft = _Draft()

    def feed(self, barcode: str) -> Scan | None:
        """The scan an ``ACT:`` barcode completes, else None. A bad barcode leaves the draft as it was."""
        field, value = parse_barcode(barcode)
        if field == "action":
            scan = complete(self.terminal_id, self._draft, value)
            self._draft = replace(self._draft, good=None, scrap=None, reason=None, note=None)
            return scan
        if field == "work_order_id":
            # A new work order: start over, keeping who and where.
            self._draft = _Draft(machine_id=self._draft.machine_id, operator_id=self._draft.operator_id)
        self._draft = replace(self._draft, **{field: value})
        return None


def scan_from_request(request: ScanRequest) -> Scan:
    """Merge a request's barcodes and structured fields into one scan."""
    values: dict[str, Any] = {}
    for barcode in request.barcodes:
        field, value = parse_barcode(barcode)
        if field in values and values[field] != value:
            raise bad(f"barcodes give two different {field}: {values[field]!r} and {value!r}")
        values[field] = value
    for field in ("work_order_id", "operation_seq", "good", "scrap", "reason", "note", "machine_id", "operator_id"):
        given = getattr(request, field)
        if given is None:
            continue
        if field in values and values[field] != given:
            raise bad(f"{field} {given!r} contradicts the barcode value {values[field]!r}")
        values[field] = given
    action = values.pop("action", None)
    if request.action is not None:
        if action is not None and action != request.action:
            raise bad(f"action {request.action.value!r} contradicts the barcode ACT:{action.value}")
        action = request.action
    return complete(request.terminal_id, _Draft(**values), action, request)
