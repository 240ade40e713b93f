"""The utilization dataflow under bytewax's testing runtime: run_main, cluster_main 1 and 2 workers, resume."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from bytewax.recovery import RecoveryConfig, init_db_dir
from bytewax.testing import TestingSink, TestingSource, TimeTestingGetter, cluster_main, run_main

from shopfloor.events import MachineCounterEvent, MachineCounterPayload, MachineState, MachineStateEvent
from shopfloor.events import MachineStatePayload as StatePayload
from streams.utilization.flow import LateSample, build_flow
from streams.utilization.minutes import BUCKET, Interval, MinuteRow

pytestmark = pytest.mark.unit

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
LATENESS = timedelta(seconds=10)
R, F, S, IDLE = MachineState.RUNNING, MachineState.FAULT, MachineState.SETUP, MachineState.IDLE


class AlwaysPlanned:
    """Every minute is planned production time; ideal cycle 0.5 s."""

    def planned(self, machine_id: str, start: datetime, end: datetime) -> Sequence[Interval]:
        return [(start, end)]

    def ideal_cycle(self, machine_id: str) -> float | None:
        return 0.5


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


_seq = iter(range(1_000_000))


def st(machine: str, seconds: float, state: MachineState) -> bytes:
    payload = StatePayload(machine_id=machine, state=state)
    return MachineStateEvent(
        event_id=uuid.uuid4(), source="plc", seq=next(_seq), ts=at(seconds), payload=payload
    ).to_json()


def ct(machine: str, seconds: float, good: int, scrap: int) -> bytes:
    payload = MachineCounterPayload(machine_id=machine, good=good, scrap=scrap)
    return MachineCounterEvent(
        event_id=uuid.uuid4(), source="plc", seq=next(_seq), ts=at(seconds), payload=payload
    ).to_json()


def scenario() -> tuple[list[bytes], list[bytes]]:
    """(events in arrival order, the ones that arrive after their minute closed)."""
    fault = st("M1", 40, F)
    late_count = ct("M1", 45, 85, 1)
    events = [
        st("M1", 0, R),
        ct("M1", 0, 0, 0),
        st("M2", 10, S),
        ct("M2", 10, 0, 0),
        fault,
        ct("M1", 50, 80, 0),
        st("M2", 30, R),
        ct("M2", 59, 20, 0),
        st("M1", 130, R),  # watermark of M1 now 10:02:00: minute 10:00 closes
        ct("M1", 125, 80, 0),  # out of order but within the lateness: counts in 10:02
        late_count,  # 10:00:45 after 10:00 closed: late
        ct("M1", 150, 120, 2),
        fault,  # a duplicate, late as well
        b"{not json",
        st("M1", 210, IDLE),
    ]
    return events, [late_count, fault]


def final_rows(out: list[Any]) -> dict[tuple[str, datetime], MinuteRow]:
    """Last value written per bucket: what the replacing upsert leaves in the table."""
    rows: dict[tuple[str, datetime], MinuteRow] = {}
    for item in out:
        if isinstance(item, MinuteRow):
            rows[(item.machine_id, item.bucket)] = item
    return rows


def run(events: list[Any], batch_size: int, runner: str) -> list[Any]:
    out: list[Any] = []
    clock = TimeTestingGetter(T0 + timedelta(hours=1))
    flow = build_flow(
        TestingSource(events, batch_size=batch_size),
        TestingSink(out),
        clock.get,
        calendar=AlwaysPlanned(),
        lateness=LATENESS,
    )
    if runner == "run_main":
        run_main(flow)
    elif runner == "cluster_1":
        cluster_main(flow, [], 0, worker_count_per_proc=1)
    else:
        cluster_main(flow, [], 0, worker_count_per_proc=2)
    return out


def test_golden_minutes_of_the_scenario() -> None:
    events, late = scenario()
    out = run(events, 1000, "run_main")
    rows = final_rows(out)
    m1 = [rows[("M1", at(60 * i))] for i in range(4)]
    assert ("M1", at(240)) not in rows  # nothing after the input's end
    assert [(r.state_s(R), r.state_s(F), r.state_s(IDLE)) for r in m1] == [
        (40.0, 20.0, 0.0),
        (0.0, 60.0, 0.0),  # no event in 10:01: the FAULT carried through
        (50.0, 10.0, 0.0),
        (30.0, 0.0, 30.0),
    ]
    assert [(r.good, r.scrap) for r in m1] == [(80, 0), (0, 0), (40, 2), (0, 0)]
    assert m1[0].performance == pytest.approx(0.5 * 80 / 40)
    assert m1[0].availability == pytest.approx(40 / 60)
    m2 = rows[("M2", at(0))]
    assert (m2.state_s(S), m2.state_s(R), m2.good) == (20.0, 30.0, 20)
    assert m2.availability == pytest.approx(0.5)
    lates = [item for item in out if isinstance(item, LateSample)]
    assert sorted(str(x.sample.event_id) for x in lates) == sorted(
        str(MachineStateEvent.model_validate_json(e).event_id)
        if b'"machine.state"' in e
        else str(MachineCounterEvent.model_validate_json(e).event_id)
        for e in late
    )


@pytest.mark.parametrize("runner", ["run_main", "cluster_1", "cluster_2"])
@pytest.mark.parametrize("batch_size", [1, 4, 1000])
def test_same_results_on_every_runner_and_batch_size(runner: str, batch_size: int) -> None:
    events, _ = scenario()
    reference = final_rows(run(events, 1000, "run_main"))
    assert final_rows(run(events, batch_size, runner)) == reference


def test_crash_and_resume_doubles_no_bucket(tmp_path: Path) -> None:
    events, _ = scenario()
    reference = final_rows(run(events, 1000, "run_main"))
    init_db_dir(tmp_path, 1)
    recovery = RecoveryConfig(str(tmp_path))
    crashing = [*events[:9], TestingSource.ABORT(), *events[9:]]
    out: list[Any] = []
    clock = TimeTestingGetter(T0 + timedelta(hours=1))

    def flow() -> Any:
        return build_flow(
            TestingSource(crashing, batch_size=2),
            TestingSink(out),
            clock.get,
            calendar=AlwaysPlanned(),
            lateness=LATENESS,
        )

    # ABORT stops the execution where it stands, as a crash would (no EOF: open windows never close).
    run_main(flow(), epoch_interval=timedelta(0), recovery_config=recovery)
    before = len(out)
    assert ("M1", at(180)) not in final_rows(out)
    run_main(flow(), epoch_interval=timedelta(0), recovery_config=recovery)
    assert len(out) > before  # the resumed run did the rest
    # Writing every row in order, replacing, leaves exactly the uninterrupted run's buckets.
    assert final_rows(out) == reference
    assert sum(r.good for r in reference.values()) == 80 + 40 + 20


def test_bucket_constant() -> None:
    assert timedelta(minutes=1) == BUCKET


def test_parse_batch_skips_other_types_by_header_and_counts_invalid_messages() -> None:
    from bytewax.connectors.kafka import KafkaSourceMessage

    from streams.metrics import SKIPPED_MESSAGES
    from streams.utilization.flow import parse_batch

    skipped = SKIPPED_MESSAGES.labels(processor="utilization")
    before = skipped._value.get()
    good = st("M1", 0, R)
    batch = [
        KafkaSourceMessage(b"M1", good, headers=[("type", b"machine.state")]),
        # Claims to be a process event: not parsed at all (its body is not even valid).
        KafkaSourceMessage(b"M1", b"{not json", headers=[("type", b"machine.process")]),
        KafkaSourceMessage(b"M1", ct("M1", 1, 5, 0)),  # no header: parsed
        KafkaSourceMessage(b"M1", b"{broken"),
        KafkaSourceMessage(b"M1", None),
    ]
    parsed = parse_batch(batch)
    assert [(key, type(sample).__name__) for key, sample in parsed] == [
        ("M1", "StateChange"),
        ("M1", "CounterReading"),
    ]
    assert skipped._value.get() - before == 2


def test_the_clock_wakes_the_window_operator_when_the_watermark_reaches_a_close_time() -> None:
    from streams.utilization.flow import WatermarkEventClock
    from streams.utilization.minutes import StateChange

    system = TimeTestingGetter(datetime(2026, 12, 2, 16, 0, tzinfo=UTC))
    logic = WatermarkEventClock(lambda s: s.ts, wait_for_system_duration=LATENESS, now_getter=system.get).build(None)
    logic.before_batch()
    # An event far behind the wall clock (a consumer catching up): watermark 09:59:50 + elapsed.
    logic.on_item(StateChange(T0, R, "a"))
    close = T0 + timedelta(minutes=1)
    # The watermark reaches 10:01:00 seventy seconds of system time later, not at 10:01:00 (long past).
    assert logic.to_system_utc(close) == system.now + timedelta(seconds=70)
