"""The simulated plant as a discrete-event model: a time-ordered stream of clean emissions, no I/O.

Scheduled happenings (shift starts and ends, planned maintenance, forced breakdowns, failures and
repairs, setups done, operations done, material shortages, work-order releases, reporting ticks,
flood messages) sit in a heap ordered by time. Each one changes a machine's conditions and lets the
machine settle (see :mod:`edge.sim.machine`); the events that produces are stamped and yielded in time
order. All randomness comes from generators seeded by ``config.seed`` and the machine's id, so a run is
a pure function of the plant, the config and the order book.
"""

from __future__ import annotations

import heapq
import itertools
import random
import re
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

from edge.sim.config import SimConfig
from edge.sim.machine import FAILURE_CAUSES, MachineSim, WorkItem
from edge.sim.orderbook import OrderBook, OrderBookSpec, generate_order_book
from edge.sim.stream import Emission, SimNode, Stamper, Trouble
from edge.sim.troubles import apply_troubles
from shopfloor.events import (
    EventBase,
    MachineProcessEvent,
    MachineProcessPayload,
    MachineState,
    Model,
    ProcessValue,
    Unit,
    WoReleasedPayload,
)
from shopfloor.plant import Plant
from shopfloor.plant.calendar import localize

# Order of happenings at the same instant: a shift starting before the one ending (no blip of STOPPED
# at a shift change), condition changes before the first snapshot, reporting ticks last.
_FIRST, _NORMAL, _LAST_CHANGE, _INIT, _TICK = range(5)


def node_id_for(line_id: str) -> str:
    return f"sim-{line_id}"


def _operator_id(machine_id: str, shift_name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.:\-]", "_", f"op-{machine_id}-{shift_name}")[:64]


class PlantSim:
    """Run ``plant`` from ``config.start`` to ``config.end``; iterate :meth:`emissions` once."""

    def __init__(
        self,
        plant: Plant,
        config: SimConfig,
        order_book: OrderBook | None = None,
        seq_source: Callable[[str], int] | None = None,
    ) -> None:
        self.plant = plant
        self.config = config
        self.stamper = Stamper(config.seed, seq_source)
        self.nodes: dict[str, SimNode] = {}
        self.node_of: dict[str, str] = {}
        for workshop in plant.workshops:
            for line in workshop.lines:
                node = SimNode(node_id_for(line.id), area=workshop.id, line=line.id)
                self.nodes[node.node_id] = node
                self.node_of.update({machine.id: node.node_id for machine in line.machines})
        self.machines: dict[str, MachineSim] = {}
        for machine in plant.all_machines():
            rng = random.Random(f"machine:{config.seed}:{machine.id}")
            sim = MachineSim(machine, rng, config.behaviour, self._emitter(machine.id), last=config.start)
            sim.performance = rng.uniform(0.85, 0.97)
            sim.good, sim.scrap = rng.randint(0, 2_000_000), rng.randint(0, 5_000)
            self.machines[machine.id] = sim
        self.queues: dict[str, list[WorkItem]] = {wc.id: [] for wc in plant.workcenters}
        self._heap: list[tuple[datetime, int, int, str, str, Any]] = []
        self._counter = itertools.count()
        self._out: list[Emission] = []
        self._trouble_rng = random.Random(f"plant-trouble:{config.seed}")
        if order_book is None:
            spec = OrderBookSpec(start=config.start, days=config.duration.total_seconds() / 86400.0)
            order_book = generate_order_book(plant, spec, config.seed)
        self.order_book = order_book
        self._schedule_all()

    # --- scheduling -----------------------------------------------------------------------------------

    def _at(self, when: datetime, action: str, target: str = "", arg: Any = None, order: int = _NORMAL) -> None:
        if when < self.config.end:
            heapq.heappush(self._heap, (when, order, next(self._counter), action, target, arg))

    def _emitter(self, machine_id: str) -> Callable[[datetime, type[EventBase], Model], None]:
        def emit(at: datetime, cls: type[EventBase], payload: Model) -> None:
            node = self.node_of[machine_id]
            self._out.append(Emission(at, node, self.stamper(node, cls, payload, at)))

        return emit

    def _schedule_all(self) -> None:
        cfg = self.config
        start, end = cfg.start, cfg.end
        for machine_id in self.machines:
            calendar_id = self.plant.workcenter_of(machine_id).calendar_id
            for shift in self.plant.shifts(calendar_id, start, end):
                self._at(shift.start, "shift_start", machine_id, _operator_id(machine_id, shift.name), _FIRST)
                self._at(shift.end, "shift_end", machine_id, None, _LAST_CHANGE)
            for window in self.plant.calendar(calendar_id).maintenance:
                if window.machine_id != machine_id:
                    continue
                lo, hi = (localize(t, self.plant.zone) for t in (window.start, window.end))
                if hi > start and lo < end:
                    self._at(max(lo, start), "maintenance", machine_id, True)
                    self._at(hi, "maintenance", machine_id, False)
        for breakdown in cfg.breakdowns:
            if breakdown.machine_id not in self.machines:
                raise ValueError(f"--break names machine {breakdown.machine_id!r}, which the plant does not have")
            self._at(start + breakdown.at, "forced", breakdown.machine_id, 1)
            self._at(start + breakdown.at + breakdown.duration, "forced", breakdown.machine_id, -1)
        for flood in cfg.troubles.floods:
            if flood.machine_id not in self.machines:
                raise ValueError(f"flood names machine {flood.machine_id!r}, which the plant does not have")
            spacing = timedelta(seconds=cfg.speed / flood.rate_per_s)
            self._at(start + flood.at, "flood", flood.machine_id, (start + flood.at + flood.duration, spacing))
        self._load_work(self.order_book)
        self._at(start, "init", order=_INIT)
        self._at(start, "counter_tick", order=_TICK)
        self._at(start, "process_tick", order=_TICK)

    def _load_work(self, book: OrderBook) -> None:
        rng = random.Random(f"backlog:{self.config.seed}")
        for work_order in book.work_orders():
            released = work_order.release_time or self.config.start
            if released < self.config.start:
                # Work released before the run is somewhere along its routing already.
                self._enqueue(WorkItem(work_order, rng.randrange(len(work_order.operations))))
            else:
                self._at(released, "release", "", work_order)

    def _enqueue(self, item: WorkItem) -> None:
        self.queues[item.operation.workcenter_id].append(item)

    # --- the floor the machines work from (edge.sim.machine.Floor) -----------------------------------

    def take(self, machine_id: str, at: datetime) -> WorkItem | None:
        queue = self.queues[self.plant.workcenter_of(machine_id).id]
        eligible = [item for item in queue if machine_id in item.operation.eligible_machines]
        if not eligible:
            return None
        # Rush first, then priority, then due date: what a foreman would pick from the queue.
        best = min(
            eligible,
            key=lambda i: (
                not i.work_order.rush,
                -i.work_order.priority,
                i.work_order.due_date,
                i.work_order.work_order_id,
            ),
        )
        queue.remove(best)
        return best

    def finished(self, item: WorkItem, at: datetime) -> None:
        if item.index + 1 < len(item.work_order.operations):
            following = WorkItem(item.work_order, item.index + 1)
            self._enqueue(following)
            self._at(at, "poke", following.operation.workcenter_id)

    # --- running ---------------------------------------------------------------------------------------

    def _settle(self, sim: MachineSim, now: datetime) -> None:
        for when, action in sim.settle(now, self):
            self._at(when, action, sim.id, sim.token)

    def emissions(self) -> Iterator[Emission]:
        """Every clean emission in time order (floods included), until ``config.end``."""
        while self._heap:
            now, _, _, action, target, arg = heapq.heappop(self._heap)
            getattr(self, f"_on_{action}")(now, target, arg)
            if self._out:
                yield from self._out
                self._out.clear()

    def _on_init(self, now: datetime, target: str, arg: Any) -> None:
        for sim in self.machines.values():
            self._settle(sim, now)
            sim.send_counters(now)

    def _on_shift_start(self, now: datetime, machine_id: str, operator: str) -> None:
        sim = self.machines[machine_id]
        sim.shifts += 1
        sim.operator = operator
        self._settle(sim, now)

    def _on_shift_end(self, now: datetime, machine_id: str, arg: Any) -> None:
        sim = self.machines[machine_id]
        sim.shifts -= 1
        self._settle(sim, now)

    def _on_maintenance(self, now: datetime, machine_id: str, on: bool) -> None:
        self.machines[machine_id].maintenance = on
        self._settle(self.machines[machine_id], now)

    def _on_forced(self, now: datetime, machine_id: str, delta: int) -> None:
        self.machines[machine_id].forced += delta
        self._settle(self.machines[machine_id], now)

    def _on_fail(self, now: datetime, machine_id: str, token: int) -> None:
        sim = self.machines[machine_id]
        if token != sim.token:
            return
        sim.failure = sim.rng.choice(FAILURE_CAUSES)
        self._at(
            now + timedelta(hours=sim.rng.expovariate(1.0 / sim.machine.reliability.mttr_hours)), "repair", machine_id
        )
        self._settle(sim, now)

    def _on_repair(self, now: datetime, machine_id: str, arg: Any) -> None:
        self.machines[machine_id].failure = None
        self._settle(self.machines[machine_id], now)

    def _on_setup_done(self, now: datetime, machine_id: str, token: int) -> None:
        if token == self.machines[machine_id].token:
            self._settle(self.machines[machine_id], now)

    def _on_op_check(self, now: datetime, machine_id: str, token: int) -> None:
        sim = self.machines[machine_id]
        if token == sim.token:
            sim.finish_if_done(now, self)
            self._settle(sim, now)

    def _on_material_end(self, now: datetime, machine_id: str, arg: Any) -> None:
        self.machines[machine_id].material_wait = False
        self._settle(self.machines[machine_id], now)

    def _on_release(self, now: datetime, target: str, work_order: WoReleasedPayload) -> None:
        item = WorkItem(work_order, 0)
        self._enqueue(item)
        self._on_poke(now, item.operation.workcenter_id, None)

    def _on_poke(self, now: datetime, workcenter_id: str, arg: Any) -> None:
        """New work at a workcenter: its idle machines look at the queue."""
        for machine_id in self.plant.workcenter(workcenter_id).machine_ids:
            sim = self.machines[machine_id]
            if sim.op is None and sim.can_take_work():
                self._settle(sim, now)

    def _on_counter_tick(self, now: datetime, target: str, arg: Any) -> None:
        behaviour = self.config.behaviour
        every = behaviour.counter_every
        per_tick = every.total_seconds() / 86400.0
        for sim in self.machines.values():
            working = sim.state is not None and sim.shifts > 0
            sim.send_counters(now, restart=working and sim.rng.random() < behaviour.plc_restarts_per_day * per_tick)
            if sim.report_due(now):
                sim.report(now)
            short = sim.rng.random() < behaviour.material_waits_per_day * per_tick
            if short and sim.state is MachineState.RUNNING and not sim.material_wait:
                sim.material_wait = True
                wait = sim.rng.expovariate(1.0 / behaviour.material_wait_mean.total_seconds())
                self._at(now + timedelta(seconds=wait), "material_end", sim.id)
                self._settle(sim, now)
        self._at(now + every, "counter_tick", order=_TICK)

    def _on_process_tick(self, now: datetime, target: str, arg: Any) -> None:
        for sim in self.machines.values():
            sim.send_process(now)
        self._at(now + self.config.behaviour.process_every, "process_tick", order=_TICK)

    def _on_flood(self, now: datetime, machine_id: str, window: tuple[datetime, timedelta]) -> None:
        until, spacing = window
        sim = self.machines[machine_id]
        values = sim.process_values() or [
            ProcessValue(name="vibration", value=sim.rng.gauss(4.0, 1.0), unit=Unit.MILLIMETRE_PER_SECOND)
        ]
        node = self.node_of[machine_id]
        event = self.stamper(
            node, MachineProcessEvent, MachineProcessPayload(machine_id=machine_id, values=values), now
        )
        self._out.append(Emission(now, node, event, trouble=Trouble.FLOOD))
        if now + spacing < until:
            self._at(now + spacing, "flood", machine_id, window)


def simulate(
    plant: Plant,
    config: SimConfig,
    order_book: OrderBook | None = None,
    seq_source: Callable[[str], int] | None = None,
) -> Iterator[Emission]:
    """The delivered stream of a run: the plant's clean emissions with the configured troubles applied."""
    sim = PlantSim(plant, config, order_book, seq_source)
    return apply_troubles(
        sim.emissions(),
        config.troubles,
        seed=config.seed,
        node_ids=sim.nodes,
        machine_ids=sorted(sim.machines),
    )
