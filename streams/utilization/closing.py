"""Per-machine minute closing after the window operator: carry-over, gap minutes and quiet machines.

The window operator hands over each closed minute that had events, in order per machine. A state
interval crosses minutes that have no event at all (a FAULT from 10:00:40 to 10:02:10 has nothing in
10:01), so this step carries the state (and the last counter reading) from one minute to the next and
fills the minutes in between. A machine that goes quiet has no windows at all: its minutes are
closed here as wall-clock time passes, from the watermark bound the last closed window gives
(the watermark was at least that window's end when it closed and advances with system time).

Every row is "this bucket's value is X": a minute filled while quiet and later given a real window
(or recomputed after a resume from a snapshot) is simply written again with its new value.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Protocol

from bytewax.operators import StatefulLogic

from streams.utilization.minutes import BUCKET, Carry, Interval, MinuteRow, Sample, compute_minute, window_start

Clock = Callable[[], datetime]


class Calendar(Protocol):
    def planned(self, machine_id: str, start: datetime, end: datetime) -> Sequence[Interval]: ...

    def ideal_cycle(self, machine_id: str) -> float | None: ...


@dataclass(frozen=True, slots=True)
class CloserState:
    """What a machine's closer keeps in snapshots."""

    machine_id: str = ""
    carry: Carry = field(default_factory=Carry)
    last_bucket: datetime | None = None  # the last minute that had a window
    emitted_through: datetime | None = None  # the last minute written (real or filled)
    closed_wall: datetime | None = None  # clock time when last_bucket's window arrived


ClosedWindow = tuple[str, int, list[Sample]]
"""(machine id, window id, the window's samples) as the flow hands them to the closer."""


class MinuteCloser(StatefulLogic[ClosedWindow, MinuteRow, CloserState]):
    """One machine's closer; the builder is not told the key, so the machine comes with each window."""

    def __init__(
        self,
        calendar: Calendar,
        clock: Clock,
        state: CloserState | None = None,
        *,
        max_fill: timedelta = timedelta(days=1),
        initial: Mapping[str, Carry] | None = None,
        since: datetime | None = None,
    ) -> None:
        self.initial = initial or {}
        self.since = since
        self.calendar = calendar
        self.clock = clock
        self.state = state or CloserState()
        self.max_fill = max_fill
        self._eof = False

    def _row(self, bucket: datetime, carry: Carry, samples: Iterable[Sample]) -> tuple[MinuteRow, Carry]:
        machine = self.state.machine_id
        planned = self.calendar.planned(machine, bucket, bucket + BUCKET)
        return compute_minute(machine, bucket, carry, samples, planned, self.calendar.ideal_cycle(machine))

    def _fill(self, first: datetime, last: datetime, carry: Carry) -> list[MinuteRow]:
        """Quiet minutes ``first..last`` (inclusive) in the carried state."""
        rows: list[MinuteRow] = []
        bucket = first
        while bucket <= last:
            rows.append(self._row(bucket, carry, ())[0])
            bucket += BUCKET
        return rows

    def on_item(self, value: ClosedWindow) -> tuple[Iterable[MinuteRow], bool]:
        machine_id, window_id, samples = value
        if not self.state.machine_id:
            # A machine seen for the first time; a rebuild starts it from what preceded its range.
            self.state = replace(self.state, machine_id=machine_id, carry=self.initial.get(machine_id, Carry()))
        bucket = window_start(window_id)
        s = self.state
        rows: list[MinuteRow] = []
        if s.last_bucket is None and self.since is not None and bucket > self.since:
            # A rebuild from `since`: the minutes before this machine's first window are in its carry.
            rows.extend(self._fill(self.since, bucket - BUCKET, s.carry))
        if s.last_bucket is not None and bucket > s.last_bucket + BUCKET:
            # Minutes without events between the last window and this one, unless already filled.
            already = s.emitted_through if s.emitted_through is not None else s.last_bucket
            first = max(s.last_bucket, already) + BUCKET
            first = max(first, bucket - self.max_fill)
            rows.extend(self._fill(first, bucket - BUCKET, s.carry))
        row, carry = self._row(bucket, s.carry, samples)
        rows.append(row)
        emitted = s.emitted_through
        if emitted is not None and emitted > bucket:
            # Minutes filled while quiet came after this one: their carried state may have changed.
            rows.extend(self._fill(bucket + BUCKET, emitted, carry))
        self.state = CloserState(
            machine_id=s.machine_id,
            carry=carry,
            last_bucket=bucket if s.last_bucket is None else max(bucket, s.last_bucket),
            emitted_through=bucket if emitted is None else max(bucket, emitted),
            closed_wall=self.clock(),
        )
        return rows, StatefulLogic.RETAIN

    def _final_through(self, now: datetime) -> datetime | None:
        """The last minute that must be final by now: its end is at or below the watermark bound."""
        s = self.state
        if s.last_bucket is None or s.closed_wall is None:
            return None
        horizon = s.last_bucket + BUCKET + (now - s.closed_wall)
        limit = s.last_bucket + self.max_fill
        last = min(horizon - BUCKET, limit)
        # Round down to a minute start.
        return last.replace(second=0, microsecond=0)

    def on_notify(self) -> tuple[Iterable[MinuteRow], bool]:
        s = self.state
        through = self._final_through(self.clock())
        if through is None or s.emitted_through is None or through <= s.emitted_through:
            return (), StatefulLogic.RETAIN
        rows = self._fill(s.emitted_through + BUCKET, through, s.carry)
        self.state = replace(s, emitted_through=through)
        return rows, StatefulLogic.RETAIN

    def on_eof(self) -> tuple[Iterable[MinuteRow], bool]:
        # A bounded run (test, rebuild) ends here: no wall-clock minutes after the end of its input.
        self._eof = True
        return (), StatefulLogic.RETAIN

    def notify_at(self) -> datetime | None:
        s = self.state
        if self._eof or s.last_bucket is None or s.closed_wall is None or s.emitted_through is None:
            return None
        if s.emitted_through >= s.last_bucket + self.max_fill:
            return None
        # The next minute is final once the watermark bound passes its end.
        next_end = s.emitted_through + 2 * BUCKET
        return s.closed_wall + (next_end - (s.last_bucket + BUCKET))

    def snapshot(self) -> CloserState:
        return self.state
