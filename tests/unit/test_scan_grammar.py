"""The barcode grammar: single barcodes, keyboard-wedge assembly, and POST /scans requests."""

from __future__ import annotations

import pytest

from edge.scan import RejectCode, ScanAction, ScanAssembler, ScanRejected, ScanRequest, parse_barcode, scan_from_request
from shopfloor.events import PauseReason

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("barcode", "parsed"),
    [
        ("WO:WO-2024-0042", ("work_order_id", "WO-2024-0042")),
        ("op:2", ("operation_seq", 2)),
        ("QTY:120", ("good", 120)),
        (" SCRAP : 3 ", ("scrap", 3)),
        ("REASON:Material", ("reason", PauseReason.MATERIAL)),
        ("ACT:finish", ("action", ScanAction.FINISH)),
        ("MC:H2", ("machine_id", "H2")),
        ("OPR:E1042", ("operator_id", "E1042")),
        ("NOTE:coil late", ("note", "coil late")),
    ],
)
def test_each_prefix_parses_to_its_field(barcode: str, parsed: tuple[str, object]) -> None:
    assert parse_barcode(barcode) == parsed


@pytest.mark.parametrize(
    ("barcode", "words"),
    [
        ("4006381333931", "PREFIX:VALUE"),
        ("LOT:123", "unknown barcode prefix 'LOT'"),
        ("OP:0", "operation_seq"),
        ("OP:two", "operation_seq"),
        ("QTY:-5", "good"),
        ("REASON:lunch", "reason"),
        ("WO:has space", "work_order_id"),
        ("ACT:STOP", "action"),
    ],
)
def test_bad_barcodes_are_refused_with_what_is_wrong(barcode: str, words: str) -> None:
    with pytest.raises(ScanRejected) as caught:
        parse_barcode(barcode)
    assert caught.value.code is RejectCode.BAD_SCAN
    assert words in caught.value.reason


def test_wedge_assembles_until_act_and_keeps_the_context() -> None:
    gun = ScanAssembler("T1")
    for barcode in ("MC:H2", "OPR:E7", "WO:WO-1", "OP:2", "QTY:120", "SCRAP:3"):
        assert gun.feed(barcode) is None
    report = gun.feed("ACT:REPORT")
    assert report is not None
    assert (report.terminal_id, report.work_order_id, report.operation_seq) == ("T1", "WO-1", 2)
    assert (report.action, report.good, report.scrap, report.machine_id, report.operator_id) == (
        ScanAction.REPORT,
        120,
        3,
        "H2",
        "E7",
    )
    # Quantities are cleared after a submit: a pause needs its reason, not the old quantities.
    with pytest.raises(ScanRejected, match="REASON"):
        gun.feed("ACT:PAUSE")
    gun.feed("REASON:tooling")
    pause = gun.feed("ACT:PAUSE")
    assert pause is not None
    assert (pause.work_order_id, pause.operation_seq, pause.reason, pause.good) == (
        "WO-1",
        2,
        PauseReason.TOOLING,
        None,
    )
    # A new work order starts over (operation back to 1) but keeps machine and operator.
    gun.feed("WO:WO-2")
    start = gun.feed("ACT:START")
    assert start is not None
    assert (start.work_order_id, start.operation_seq, start.machine_id, start.operator_id) == ("WO-2", 1, "H2", "E7")


def test_wedge_refuses_act_without_work_order_and_a_bad_barcode_keeps_the_draft() -> None:
    gun = ScanAssembler("T1")
    with pytest.raises(ScanRejected, match="no work order"):
        gun.feed("ACT:START")
    gun.feed("WO:WO-9")
    with pytest.raises(ScanRejected):
        gun.feed("QTY:lots")
    scan = gun.feed("ACT:START")
    assert scan is not None
    assert scan.work_order_id == "WO-9"


def test_request_merges_barcodes_and_fields() -> None:
    request = ScanRequest(terminal_id="T2", barcodes=["WO:WO-5", "QTY:10"], scrap=1, action=ScanAction.REPORT)
    scan = scan_from_request(request)
    assert (scan.work_order_id, scan.good, scan.scrap, scan.action) == ("WO-5", 10, 1, ScanAction.REPORT)
    only_fields = scan_from_request(
        ScanRequest(terminal_id="T2", work_order_id="WO-5", action=ScanAction.PAUSE, reason=PauseReason.BREAK)
    )
    assert only_fields.reason is PauseReason.BREAK


@pytest.mark.parametrize(
    ("request_fields", "words"),
    [
        ({"barcodes": ["WO:A", "WO:B", "ACT:START"]}, "two different work_order_id"),
        ({"barcodes": ["WO:A", "ACT:START"], "work_order_id": "B"}, "contradicts"),
        ({"barcodes": ["WO:A", "ACT:START"], "action": "finish"}, "contradicts"),
        ({"work_order_id": "A"}, "no action"),
        ({"work_order_id": "A", "action": "report"}, "needs QTY"),
        ({"work_order_id": "A", "action": "start", "good": 5}, "quantities cannot"),
        ({"work_order_id": "A", "action": "resume", "reason": "material"}, "pause reason cannot"),
    ],
)
def test_incomplete_or_contradictory_requests_are_bad_scans(request_fields: dict[str, object], words: str) -> None:
    with pytest.raises(ScanRejected) as caught:
        scan_from_request(ScanRequest.model_validate({"terminal_id": "T3", **request_fields}))
    assert caught.value.code is RejectCode.BAD_SCAN
    assert words in caught.value.reason
