"""The per-machine closer: carried state across empty minutes, quiet machines closed by wall-clock time."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from bytewax.testing import TimeTestingGetter

from shopfloor.events import MachineState
from streams.utilization.closing import MinuteCloser
from streams.utilization.minutes import BUCKET, EPOCH, Interval, StateChange

pytestmark = pytest.mark.unit

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
WALL = datetime(2026, 3, 2, 10, 1, 10, tzinfo=UTC)  # the 10:00 window closes 10 s after its end


class AlwaysPlanned:
    def planned(self, machine_id: str, start: datetime, end: datetime) -> Sequence[Interval]:
        return [(start, end)]

    def ideal_cycle(self, machine_id: str) -> float | None:
        return 1.0


def wid(minute: datetime) -> int:
    return (minute - EPOCH) // BUCKET


def minute(n: int) -> datetime:
    return T0 + n * BUCKET


def test_a_quiet_machine_has_its_minutes_closed_as_wall_clock_time_passes() -> None:
    clock = TimeTestingGetter(WALL)
    closer = MinuteCloser(AlwaysPlanned(), clock.get)
    rows, _ = closer.on_item(
        (
            "M1",
            wid(T0),
            [
                StateChange(T0, MachineState.RUNNING, "a"),
                StateChange(minute(0) + timedelta(seconds=40), MachineState.FAULT, "b"),
            ],
        )
    )
    assert [r.bucket for r in rows] == [T0]
    # The next minute (10:01) is final once the watermark bound passes 10:02: one minute after the close.
    assert closer.notify_at() == WALL + BUCKET
    clock.advance(timedelta(seconds=30))
    assert list(closer.on_notify()[0]) == []
    clock.advance(timedelta(seconds=35))
    quiet = list(closer.on_notify()[0])
    assert [(r.bucket, r.state_s(MachineState.FAULT)) for r in quiet] == [(minute(1), 60.0)]
    clock.advance(timedelta(minutes=2))
    quiet = list(closer.on_notify()[0])
    assert [r.bucket for r in quiet] == [minute(2), minute(3)]
    assert all(r.availability == 0.0 and r.oee == 0.0 for r in quiet)


def test_a_window_after_filled_minutes_rewrites_them_with_its_state() -> None:
    clock = TimeTestingGetter(WALL)
    closer = MinuteCloser(AlwaysPlanned(), clock.get)
    closer.on_item(("M1", wid(T0), [StateChange(T0, MachineState.FAULT, "a")]))
    clock.advance(timedelta(minutes=3))
    filled = list(closer.on_notify()[0])
    assert [r.bucket for r in filled] == [minute(1), minute(2), minute(3)]
    # Minute 10:02 had an event after all (it was late, within the lateness): 10:02 and 10:03 change.
    repaired, _ = closer.on_item(
        ("M1", wid(minute(2)), [StateChange(minute(2) + timedelta(seconds=15), MachineState.RUNNING, "b")])
    )
    values = {r.bucket: r.state_s(MachineState.RUNNING) for r in repaired}
    assert values == {minute(2): 45.0, minute(3): 60.0}


def test_gap_minutes_are_filled_when_the_next_window_comes_and_eof_stops_wall_clock_closing() -> None:
    clock = TimeTestingGetter(WALL)
    closer = MinuteCloser(AlwaysPlanned(), clock.get)
    closer.on_item(("M1", wid(T0), [StateChange(T0, MachineState.SETUP, "a")]))
    rows, _ = closer.on_item(("M1", wid(minute(3)), [StateChange(minute(3), MachineState.RUNNING, "b")]))
    assert [(r.bucket, r.state_s(MachineState.SETUP)) for r in rows] == [
        (minute(1), 60.0),
        (minute(2), 60.0),
        (minute(3), 0.0),
    ]
    closer.on_eof()
    assert closer.notify_at() is None


def test_the_snapshot_resumes_the_same_closer() -> None:
    clock = TimeTestingGetter(WALL)
    closer = MinuteCloser(AlwaysPlanned(), clock.get)
    closer.on_item(("M1", wid(T0), [StateChange(T0, MachineState.IDLE, "a")]))
    resumed = MinuteCloser(AlwaysPlanned(), clock.get, closer.snapshot())
    rows, _ = resumed.on_item(("M1", wid(minute(1)), []))
    (row,) = rows
    assert row.state_s(MachineState.IDLE) == 60.0
    assert row.machine_id == "M1"
