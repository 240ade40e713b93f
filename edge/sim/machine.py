"""One simulated machine: the conditions it is in, the state they imply, what it produces, what it reports.

The machine's state is never set directly: it follows from its conditions (on shift, under planned
maintenance, failed, broken down on purpose, waiting for material, with or without a work order, in
setup). Each change of a condition calls :meth:`MachineSim.settle`, which accounts production up to that
moment, takes the next work order when it can, and emits a ``machine.state`` event if the state moved,
plus the ``wo.*`` events an operator would scan at that moment. Work-order pauses follow the state, so
every work order's events form a valid lifecycle by construction.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from edge.sim.config import Behaviour
from shopfloor.events import (
    EventBase,
    MachineCounterEvent,
    MachineCounterPayload,
    MachineProcessEvent,
    MachineProcessPayload,
    MachineState,
    MachineStateEvent,
    MachineStatePayload,
    Model,
    PauseReason,
    ProcessValue,
    Unit,
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
from shopfloor.events.orders import OperationSpec, WoReleasedPayload
from shopfloor.plant import Machine

Emit = Callable[[datetime, type[EventBase], Model], None]
FollowUp = tuple[datetime, str]  # (when, action name) for the scheduler, tagged with the machine's token

WORKING = frozenset({MachineState.SETUP, MachineState.RUNNING})
# Values that move only while the machine runs; temperatures, pH and the like hold between jobs.
MOTION_UNITS = frozenset(
    {Unit.KILONEWTON, Unit.RPM, Unit.STROKES_PER_MINUTE, Unit.MILLIMETRE_PER_SECOND, Unit.AMPERE, Unit.KILOWATT}
    | {Unit.HERTZ, Unit.LITRE_PER_MINUTE}
)
FAILURE_CAUSES = ("hydraulic_leak", "tool_break", "feed_jam", "motor_overload", "sensor_fault", "lubrication")
PAUSE_BY_STATE = {
    MachineState.FAULT: (PauseReason.BREAKDOWN, None),
    MachineState.MAINTENANCE: (PauseReason.OTHER, "planned maintenance"),
    MachineState.STOPPED: (PauseReason.BREAK, "end of shift"),
    MachineState.IDLE: (PauseReason.MATERIAL, "waiting for material"),
}


@dataclass(frozen=True, slots=True)
class WorkItem:
    """One operation of a work order, ready to run."""

    work_order: WoReleasedPayload
    index: int

    @property
    def operation(self) -> OperationSpec:
        return self.work_order.operations[self.index]


class Floor(Protocol):
    """The shop floor a machine asks for work and reports finished operations to."""

    def take(self, machine_id: str, at: datetime) -> WorkItem | None: ...

    def finished(self, item: WorkItem, at: datetime) -> None: ...


@dataclass
class ActiveOp:
    item: WorkItem
    setup_left_s: float
    last_report: datetime
    good: int = 0
    scrap: int = 0
    reported_good: int = 0
    reported_scrap: int = 0
    paused: bool = False


@dataclass
class MachineSim:
    machine: Machine
    rng: random.Random
    behaviour: Behaviour
    emit: Emit
    last: datetime
    # Conditions; the state follows from them.
    shifts: int = 0
    maintenance: bool = False
    failure: str | None = None
    forced: int = 0
    material_wait: bool = False
    op: ActiveOp | None = None
    operator: str | None = None
    # What the PLC shows.
    state: MachineState | None = None
    good: int = 0
    scrap: int = 0
    sent_counts: tuple[int, int] | None = None
    token: int = 0
    last_product: str | None = None
    performance: float = 0.9
    # The first operation taken continues a job already under way when the run starts.
    warm: bool = True
    _fraction: float = field(default=0.0, repr=False)

    @property
    def id(self) -> str:
        return self.machine.id

    def desired_state(self) -> tuple[MachineState, str | None]:
        if self.forced:
            return MachineState.FAULT, "breakdown"
        if self.failure:
            return MachineState.FAULT, self.failure
        if self.maintenance:
            return MachineState.MAINTENANCE, "planned"
        if not self.shifts:
            return MachineState.STOPPED, "off_shift"
        if self.op is None:
            return MachineState.IDLE, "no_work"
        if self.material_wait:
            return MachineState.IDLE, "material"
        if self.op.setup_left_s > 0:
            return MachineState.SETUP, "changeover"
        return MachineState.RUNNING, None

    def can_take_work(self) -> bool:
        return self.shifts > 0 and not (self.forced or self.failure or self.maintenance)

    def advance(self, now: datetime) -> None:
        """Account what happened since the last call, in the state the machine was in."""
        seconds = (now - self.last).total_seconds()
        self.last = now
        if seconds <= 0 or self.op is None:
            return
        if self.state is MachineState.SETUP:
            left = self.op.setup_left_s - seconds
            # datetimes keep microseconds: a remainder below that would re-schedule at the same instant.
            self.op.setup_left_s = left if left >= 0.001 else 0.0
        elif self.state is MachineState.RUNNING:
            pieces = self._fraction + seconds * self.performance / self.machine.ideal_cycle_s
            made = int(pieces)
            self._fraction = pieces - made
            scrap = self._scrap(made)
            self.good += made - scrap
            self.scrap += scrap
            self.op.good += made - scrap
            self.op.scrap += scrap

    def _scrap(self, made: int) -> int:
        """How many of ``made`` pieces are scrap: a binomial draw, by geometric gaps between bad pieces."""
        rate = self.machine.reliability.scrap_rate
        if rate <= 0 or made <= 0:
            return 0
        log_keep = math.log1p(-rate)
        bad, position = 0, 0
        while True:
            position += int(math.log(1.0 - self.rng.random()) / log_keep) + 1
            if position > made:
                return bad
            bad += 1

    def settle(self, now: datetime, floor: Floor) -> list[FollowUp]:
        """Bring state and work order in line with the conditions; return the timed checks to schedule."""
        self.advance(now)
        if self.op is None and self.can_take_work():
            item = floor.take(self.id, now)
            if item is not None:
                self._start(item, now)
        state, reason = self.desired_state()
        if self.op is not None:
            if not self.op.paused and state not in WORKING:
                self.report(now)
                pause, note = PAUSE_BY_STATE[state]
                self._wo(now, WoPausedEvent, WoPausedPayload, reason=pause, note=note)
                self.op.paused = True
            elif self.op.paused and state in WORKING:
                self._wo(now, WoResumedEvent, WoResumedPayload)
                self.op.paused = False
        if state is not self.state:
            self.state = state
            self.emit(now, MachineStateEvent, MachineStatePayload(machine_id=self.id, state=state, reason_code=reason))
        # A new token makes every check scheduled before this moment stale.
        self.token += 1
        follow: list[FollowUp] = []
        if state is MachineState.RUNNING:
            assert self.op is not None
            if self.behaviour.random_failures:
                hours = self.rng.expovariate(1.0 / self.machine.reliability.mtbf_hours)
                follow.append((now + timedelta(hours=hours), "fail"))
            follow.append((now + self._time_to_finish(), "op_check"))
        elif state is MachineState.SETUP:
            assert self.op is not None
            follow.append((now + timedelta(seconds=self.op.setup_left_s), "setup_done"))
        return follow

    def _time_to_finish(self) -> timedelta:
        assert self.op is not None
        left = max(1, self.op.item.work_order.quantity - self.op.good)
        yield_share = 1.0 - self.machine.reliability.scrap_rate
        return timedelta(seconds=left * self.machine.ideal_cycle_s / (self.performance * yield_share) + 1.0)

    def _start(self, item: WorkItem, now: datetime) -> None:
        spec = item.operation
        setup_min = 0.0
        if item.work_order.product_id != self.last_product:
            setup_min = (spec.setup_min or self.machine.reliability.setup_minutes) * self.rng.uniform(0.8, 1.3)
        if self.warm:
            # The run starts mid-job: the machine is set up for its first operation and part of it is done
            # (and was reported before the run), so the plant does not begin with every machine in SETUP.
            self.warm = False
            setup_min = 0.0
            done = int(item.work_order.quantity * self.rng.uniform(0.0, 0.7))
            self.op = ActiveOp(item, 0.0, now, good=done, reported_good=done)
        else:
            self.op = ActiveOp(item, setup_left_s=setup_min * 60.0, last_report=now)
        self._wo(now, WoStartedEvent, WoStartedPayload)

    def finish_if_done(self, now: datetime, floor: Floor) -> bool:
        """Finish the running operation if it reached its quantity; True if it did."""
        self.advance(now)
        op = self.op
        if op is None or op.good < op.item.work_order.quantity:
            return False
        self.report(now)
        self._wo(now, WoFinishedEvent, WoFinishedPayload)
        self.last_product = op.item.work_order.product_id
        self.op = None
        floor.finished(op.item, now)
        return True

    def report(self, now: datetime) -> None:
        """Report good and scrap made since the last report, if any."""
        op = self.op
        if op is None or (op.good == op.reported_good and op.scrap == op.reported_scrap):
            return
        good, scrap = op.good - op.reported_good, op.scrap - op.reported_scrap
        self._wo(now, WoReportedEvent, WoReportedPayload, good=good, scrap=scrap)
        op.reported_good, op.reported_scrap, op.last_report = op.good, op.scrap, now

    def report_due(self, now: datetime) -> bool:
        op = self.op
        return op is not None and not op.paused and now - op.last_report >= self.behaviour.report_every

    def _wo(self, now: datetime, cls: type[EventBase], payload_cls: type[Model], **fields: object) -> None:
        assert self.op is not None
        spec = self.op.item
        ref = {
            "work_order_id": spec.work_order.work_order_id,
            "operation_seq": spec.operation.seq,
            "machine_id": self.id,
            "operator_id": self.operator,
        }
        payload = payload_cls.model_validate({**ref, **fields})
        self.emit(now, cls, payload)

    def send_counters(self, now: datetime, *, restart: bool = False) -> None:
        """Emit the cumulative counters if they moved (or the machine runs); a PLC restart zeroes them."""
        self.advance(now)
        if restart:
            self.good = self.scrap = 0
        counts = (self.good, self.scrap)
        if counts != self.sent_counts or self.state is MachineState.RUNNING:
            self.emit(
                now, MachineCounterEvent, MachineCounterPayload(machine_id=self.id, good=counts[0], scrap=counts[1])
            )
            self.sent_counts = counts

    def process_values(self) -> list[ProcessValue]:
        """Readings around each signal's nominal value; moving parts read zero unless running."""
        running = self.state is MachineState.RUNNING
        return [
            ProcessValue(
                name=signal.name,
                value=round(
                    0.0
                    if signal.unit in MOTION_UNITS and not running
                    else self.rng.gauss(signal.nominal, signal.spread),
                    3,
                ),
                unit=signal.unit,
            )
            for signal in self.machine.process
        ]

    def send_process(self, now: datetime) -> None:
        if self.state in (None, MachineState.STOPPED, MachineState.OFFLINE) or not self.machine.process:
            return
        self.emit(now, MachineProcessEvent, MachineProcessPayload(machine_id=self.id, values=self.process_values()))
