"""ScanService and POST /scans over a real, unstarted EdgeAgent: its outbox shows what would be sent."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from edge.agent import EdgeAgent
from edge.scan import (
    InMemoryWorkOrderDirectory,
    OperationState,
    OperationStates,
    RejectCode,
    ScanAction,
    ScanRejected,
    ScanRequest,
    ScanService,
    WorkOrderStatus,
)
from edge.scan.http import create_app
from edge.scan.wedge import run_wedge
from shopfloor.events import NodeKind, WoPausedEvent, WoReportedEvent, parse_event
from shopfloor.settings import MqttSettings

pytestmark = pytest.mark.unit


class ManualClock:
    """Monotonic seconds that move only when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def agent(tmp_path: Path) -> Iterator[EdgeAgent]:
    # Never started: nothing is sent, everything published stays in the outbox for the test to read.
    agent = EdgeAgent("scan1", NodeKind.SCAN_AGENT, "heading", "L1", MqttSettings(), tmp_path / "q.db")
    yield agent
    agent.close()


@pytest.fixture
def directory() -> InMemoryWorkOrderDirectory:
    return InMemoryWorkOrderDirectory(
        {
            "WO-1": WorkOrderStatus.RELEASED,
            "WO-2": WorkOrderStatus.STARTED,
            "WO-DONE": WorkOrderStatus.DONE,
            "WO-X": WorkOrderStatus.CANCELLED,
        }
    )


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def service(agent: EdgeAgent, directory: InMemoryWorkOrderDirectory, clock: ManualClock) -> ScanService:
    return ScanService(agent, directory, debounce_s=2.0, clock=clock)


def _queued(agent: EdgeAgent) -> list[tuple[str, str]]:
    """(topic kind, event type) of every queued message, in order."""
    rows = agent.queue.read_after(0, 1000)
    return [(row.topic.rsplit("/", 1)[1], str(getattr(parse_event(row.payload), "type"))) for row in rows]  # noqa: B009


def _scan(service: ScanService, action: str, wo: str = "WO-1", **fields: object) -> list[str]:
    request = ScanRequest.model_validate({"terminal_id": "T1", "work_order_id": wo, "action": action, **fields})
    return service.handle(request).event_types


def test_a_work_order_lifecycle_publishes_its_events_in_order(service: ScanService, agent: EdgeAgent) -> None:
    assert _scan(service, "start", machine_id="H2") == ["wo.started"]
    assert _scan(service, "report", good=100, scrap=2) == ["wo.reported"]
    assert _scan(service, "pause", reason="material", note="coil late") == ["wo.paused"]
    assert service.state_of("WO-1") is OperationState.PAUSED
    assert _scan(service, "resume") == ["wo.resumed"]
    assert _scan(service, "finish", good=20) == ["wo.reported", "wo.finished"]
    assert service.state_of("WO-1") is OperationState.FINISHED
    assert _queued(agent) == [
        ("wo", "wo.started"),
        ("wo", "wo.reported"),
        ("wo", "wo.paused"),
        ("wo", "wo.resumed"),
        ("wo", "wo.reported"),
        ("wo", "wo.finished"),
    ]
    events = [parse_event(row.payload) for row in agent.queue.read_after(0, 100)]
    assert [e.seq for e in events] == sorted(e.seq for e in events)
    report, pause = events[1], events[2]
    assert isinstance(report, WoReportedEvent)
    assert (report.payload.good, report.payload.scrap, report.source) == (100, 2, "scan1")
    assert isinstance(pause, WoPausedEvent)
    assert (pause.payload.reason.value, pause.payload.note) == ("material", "coil late")
    # The machine names the topic's cell; without one, the terminal does.
    topics = [row.topic for row in agent.queue.read_after(0, 100)]
    assert topics[0].endswith("/heading/L1/H2/wo")
    assert topics[1].endswith("/heading/L1/T1/wo")


@pytest.mark.parametrize(
    ("steps", "refused", "words"),
    [
        ([], ("finish", {}), "not started"),
        ([], ("report", {"good": 1}), "not started"),
        ([("start", {})], ("start", {}), "already running"),
        ([("start", {})], ("resume", {}), "already running"),
        ([("start", {}), ("pause", {"reason": "break"})], ("report", {"good": 1}), None),
        ([("start", {}), ("finish", {})], ("report", {"good": 5}), "is finished"),
        ([("start", {}), ("pause", {"reason": "break"})], ("pause", {"reason": "setup"}), "is paused"),
    ],
)
def test_steps_out_of_order_are_refused(
    service: ScanService,
    agent: EdgeAgent,
    steps: list[tuple[str, dict[str, object]]],
    refused: tuple[str, dict[str, object]],
    words: str | None,
    clock: ManualClock,
) -> None:
    for action, fields in steps:
        _scan(service, action, **fields)
        clock.now += 10  # past the double-scan window
    before = agent.queued
    if words is None:  # reporting quantities while paused is allowed
        assert _scan(service, refused[0], **refused[1]) == ["wo.reported"]
        return
    with pytest.raises(ScanRejected) as caught:
        _scan(service, refused[0], **refused[1])
    assert caught.value.code is RejectCode.INVALID_TRANSITION
    assert words in caught.value.reason
    assert agent.queued == before


@pytest.mark.parametrize(
    ("wo", "code"),
    [
        ("WO-404", RejectCode.UNKNOWN_WORK_ORDER),
        ("WO-DONE", RejectCode.WORK_ORDER_CLOSED),
        ("WO-X", RejectCode.WORK_ORDER_CLOSED),
    ],
)
def test_unknown_and_closed_work_orders_are_refused(service: ScanService, wo: str, code: RejectCode) -> None:
    with pytest.raises(ScanRejected) as caught:
        _scan(service, "start", wo=wo)
    assert caught.value.code is code
    assert wo in caught.value.reason


def test_directory_state_counts_for_operations_not_seen_here(service: ScanService) -> None:
    assert _scan(service, "report", wo="WO-2", good=5) == ["wo.reported"]  # started elsewhere
    with pytest.raises(ScanRejected):
        _scan(service, "start", wo="WO-2")


def test_double_scan_within_the_window_is_suppressed(
    service: ScanService, agent: EdgeAgent, clock: ManualClock
) -> None:
    request = ScanRequest(terminal_id="T1", work_order_id="WO-1", action=ScanAction.START)
    first = service.handle(request)
    clock.now += 1.0
    again = service.handle(request)
    assert again.duplicate and not first.duplicate
    assert again.event_ids == first.event_ids
    report = ScanRequest(terminal_id="T1", work_order_id="WO-1", action=ScanAction.REPORT, good=10)
    service.handle(report)
    clock.now += 1.5
    assert service.handle(report).duplicate
    clock.now += 1.0  # 2.5 s after the first report: a second, real report
    assert not service.handle(report).duplicate
    # Another terminal scanning the same thing is not a double scan.
    assert not service.handle(report.model_copy(update={"terminal_id": "T9"})).duplicate
    assert [t for _, t in _queued(agent)] == ["wo.started", "wo.reported", "wo.reported", "wo.reported"]


def test_scan_refused_when_the_queue_is_full_of_scans(tmp_path: Path, directory: InMemoryWorkOrderDirectory) -> None:
    agent = EdgeAgent("scan2", NodeKind.SCAN_AGENT, "a", "l", MqttSettings(), tmp_path / "full.db", queue_max_rows=2)
    try:
        service = ScanService(agent, directory, clock=ManualClock())
        _scan(service, "start")
        # finish with quantities needs two rows, one is left: nothing is stored and the state stays.
        with pytest.raises(ScanRejected) as caught:
            _scan(service, "finish", good=3)
        assert caught.value.code is RejectCode.QUEUE_FULL
        assert service.state_of("WO-1") is OperationState.RUNNING
        assert agent.queued == 1
    finally:
        agent.close()


def test_http_answers_terminals_with_status_and_reason(service: ScanService) -> None:
    asyncio.run(_exercise_http(service))


async def _exercise_http(service: ScanService) -> None:
    transport = httpx.ASGITransport(app=create_app(service))
    async with httpx.AsyncClient(transport=transport, base_url="http://scan-agent") as http:
        started = await http.post("/scans", json={"terminal_id": "T1", "barcodes": ["WO:WO-1", "OP:1", "ACT:START"]})
        assert started.status_code == 201
        assert started.json()["event_types"] == ["wo.started"]
        assert started.json()["state"] == "running"
        dup = await http.post("/scans", json={"terminal_id": "T1", "barcodes": ["WO:WO-1", "OP:1", "ACT:START"]})
        assert (dup.status_code, dup.json()["duplicate"]) == (200, True)
        assert dup.json()["event_ids"] == started.json()["event_ids"]
        unknown = await http.post("/scans", json={"terminal_id": "T1", "work_order_id": "WO-404", "action": "start"})
        assert unknown.status_code == 404
        assert unknown.json() == {"code": "unknown_work_order", "reason": "work order WO-404 is not known"}
        done = await http.post(
            "/scans", json={"terminal_id": "T1", "work_order_id": "WO-DONE", "action": "report", "good": 1}
        )
        assert (done.status_code, done.json()["code"]) == (409, "work_order_closed")
        order = await http.post("/scans", json={"terminal_id": "T1", "work_order_id": "WO-1", "action": "resume"})
        assert (order.status_code, order.json()["code"]) == (409, "invalid_transition")
        garbage = await http.post("/scans", json={"terminal_id": "T1", "barcodes": ["hello"]})
        assert (garbage.status_code, garbage.json()["code"]) == (422, "bad_scan")
        schema = await http.post("/scans", json={"terminal_id": "T1", "work_order_id": "WO-1", "action": "dance"})
        assert schema.status_code == 422
        assert schema.json()["reason"].startswith("action:")
        assert (await http.get("/health")).json() == {"connected": False, "queued": 1}


def test_wedge_answers_every_submitted_scan(service: ScanService, agent: EdgeAgent) -> None:
    lines = ["MC:H2", "WO:WO-1", "ACT:START", "", "QTY:50", "ACT:REPORT", "ACT:REPORT", "WO:WO-404", "ACT:START"]
    lines += ["LOT:7", "WO:WO-1", "ACT:FINISH", "QTY:1", "ACT:REPORT"]
    out = io.StringIO()
    refused = run_wedge(service, "GUN1", lines, out)
    assert out.getvalue().splitlines() == [
        "OK wo.started WO-1/1 running",
        "OK wo.reported WO-1/1 running",
        "ERR bad_scan a report needs QTY:<good> and/or SCRAP:<scrap>",
        "ERR unknown_work_order work order WO-404 is not known",
        "ERR bad_scan unknown barcode prefix 'LOT' (known: WO, OP, QTY, SCRAP, REASON, NOTE, MC, OPR, ACT)",
        "OK wo.finished WO-1/1 finished",
        "ERR invalid_transition cannot report: work order WO-1 operation 1 is finished",
    ]
    assert refused == 4
    assert [t for _, t in _queued(agent)] == ["wo.started", "wo.reported", "wo.finished"]


def test_operation_states_survive_a_restart_of_the_agent(
    agent: EdgeAgent, directory: InMemoryWorkOrderDirectory, tmp_path: Path
) -> None:
    path = tmp_path / "operations.db"
    states = OperationStates(path)
    service = ScanService(agent, directory, clock=ManualClock(), states=states)
    _scan(service, "start", operation_seq=2)
    _scan(service, "finish", operation_seq=2)
    states.close()

    reopened = OperationStates(path)
    try:
        restarted = ScanService(agent, directory, clock=ManualClock(), states=reopened)
        assert restarted.state_of("WO-1", 2) is OperationState.FINISHED
        with pytest.raises(ScanRejected, match="is finished"):
            _scan(restarted, "report", operation_seq=2, good=1)
        assert _scan(restarted, "start", operation_seq=3) == ["wo.started"]  # other operations unaffected
    finally:
        reopened.close()
