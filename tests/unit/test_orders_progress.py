"""Work-order progress derived from its events: redelivery, late scans, paused time, final finish."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from shopfloor.events import (
    PauseReason,
    WoFinishedEvent,
    WoFinishedPayload,
    WoPausedEvent,
    WoPausedPayload,
    WoReportedEvent,
    WoReportedPayload,
    WoResumedEvent,
    WoResumedPayload,
    WoStartedEvent,
    WoStartedPayload,
)
from streams.orders import progress

pytestmark = pytest.mark.unit

T0 = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def started(m: float, seq: int = 1) -> WoStartedEvent:
    p = WoStartedPayload(work_order_id="WO-1", operation_seq=seq, machine_id="H2")
    return WoStartedEvent(event_id=uuid.uuid4(), source="gun-1", seq=1, ts=at(m), payload=p)


def reported(m: float, good: int, scrap: int = 0) -> WoReportedEvent:
    p = WoReportedPayload(work_order_id="WO-1", good=good, scrap=scrap)
    return WoReportedEvent(event_id=uuid.uuid4(), source="gun-1", seq=2, ts=at(m), payload=p)


def paused(m: float) -> WoPausedEvent:
    p = WoPausedPayload(work_order_id="WO-1", reason=PauseReason.MATERIAL)
    return WoPausedEvent(event_id=uuid.uuid4(), source="gun-1", seq=3, ts=at(m), payload=p)


def resumed(m: float) -> WoResumedEvent:
    return WoResumedEvent(
        event_id=uuid.uuid4(), source="gun-1", seq=4, ts=at(m), payload=WoResumedPayload(work_order_id="WO-1")
    )


def finished(m: float) -> WoFinishedEvent:
    return WoFinishedEvent(
        event_id=uuid.uuid4(), source="gun-1", seq=5, ts=at(m), payload=WoFinishedPayload(work_order_id="WO-1")
    )


def derive(events: list[object]) -> list[progress.OperationProgress]:
    state = None
    for event in events:
        state, _ = progress.apply(state, event)  # type: ignore[arg-type]
    assert state is not None
    return progress.operations("WO-1", state)


def test_paused_time_is_excluded_from_active_time_and_totals_add_up() -> None:
    [op] = derive([started(0), reported(30, 100, 2), paused(40), resumed(55), reported(70, 50), finished(80)])
    assert (op.status, op.machine_id, op.good, op.scrap) == ("done", "H2", 150, 2)
    assert op.actual_start == at(0) and op.actual_finish == at(80)
    assert op.active_s == 65 * 60 and op.paused_s == 15 * 60


def test_redelivered_event_counts_once() -> None:
    report = reported(10, 40)
    state, new = progress.apply(None, started(0))
    state, new = progress.apply(state, report)
    assert new
    state, again = progress.apply(state, report)
    assert not again
    assert progress.operations("WO-1", state)[0].good == 40


def test_arrival_order_does_not_matter_late_scan_lands_in_place() -> None:
    events = [started(0), paused(20), resumed(50), reported(60, 10), finished(90)]
    in_order = derive(list(events))
    shuffled = derive([events[4], events[1], events[0], events[3], events[2]])
    assert in_order == shuffled
    assert in_order[0].active_s == 60 * 60


def test_finish_is_final_and_open_operation_is_started() -> None:
    [op] = derive([started(0), finished(10), paused(20)])
    assert op.status == "done" and op.actual_finish == at(10)
    [open_op] = derive([started(0), reported(5, 3)])
    assert open_op.status == "started" and open_op.actual_finish is None


def test_state_is_json_and_operations_are_separate() -> None:
    import json

    state, _ = progress.apply(None, started(0, seq=1))
    state, _ = progress.apply(state, started(5, seq=2))
    restored = json.loads(json.dumps(state))
    assert [op.seq for op in progress.operations("WO-1", restored)] == [1, 2]
    assert progress.operations("WO-1", restored) == progress.operations("WO-1", state)


def test_many_reports_keep_the_state_small_and_the_totals_right() -> None:
    state, _ = progress.apply(None, started(0))
    last = reported(0.5, 1)
    for i in range(progress.SEEN_REPORTS + 10):
        last = reported(1 + i * 0.01, 1)
        state, _ = progress.apply(state, last)
    state, again = progress.apply(state, last)  # a redelivery of a recent report is still recognised
    assert not again
    [op] = progress.operations("WO-1", state)
    assert op.good == progress.SEEN_REPORTS + 10 and op.events == progress.SEEN_REPORTS + 11
    assert op.actual_start == at(0)
    assert len(state["ops"]["1"]["seen"]) == progress.SEEN_REPORTS
