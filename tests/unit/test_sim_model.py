"""The simulator's pure core: determinism, shifts, counters, forced breakdowns, work-order lifecycles."""

from __future__ import annotations

import itertools
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from functools import cache

import pytest

from edge.sim.config import Behaviour, Breakdown, SimConfig
from edge.sim.eventlog import record_of
from edge.sim.faults import event_type
from edge.sim.model import PlantSim, simulate
from edge.sim.stream import Emission
from shopfloor.events import EventBase, MachineState
from shopfloor.plant import Plant, load_plant, parse_plant
from shopfloor.settings import PROJECT_ROOT

pytestmark = pytest.mark.unit

# Two presses on one day shift (06:00-14:00 UTC, every day): easy to reason about.
SMALL_PLANT = """
enterprise_id: acme
site_id: tiny
timezone: UTC
workshops:
- id: press
  name: Press shop
  name_zh: 冲压
  lines:
  - id: PL1
    name: Press line
    machines:
    - id: M1
      name: Press M1
      workcenter_id: WC-P
      ideal_cycle_s: 2.0
      reliability: {mtbf_hours: 6, mttr_hours: 0.5, scrap_rate: 0.02, setup_minutes: 20}
      process:
      - {name: force, unit: kN, nominal: 100.0, spread: 5.0}
      - {name: oil_temp, unit: degC, nominal: 45.0, spread: 2.0}
    - id: M2
      name: Press M2
      workcenter_id: WC-P
      ideal_cycle_s: 3.0
workcenters:
- {id: WC-P, name: Presses, workshop_id: press, machine_ids: [M1, M2], calendar_id: DAY}
calendars:
- id: DAY
  name: Day shift
  shifts:
  - {name: day, start: '06:00', end: '14:00', weekdays: [Mon, Tue, Wed, Thu, Fri, Sat, Sun]}
  maintenance:
  - {machine_id: M2, start: '2026-11-23T09:00:00', end: '2026-11-23T11:00:00', reason: die change}
products:
- id: PART-A
  name: Part A
  material_id: STEEL
  routing:
  - {seq: 1, name: press, workcenter_id: WC-P, setup_min: 15, unit_min: 0.05}
- id: PART-B
  name: Part B
  material_id: STEEL
  routing:
  - {seq: 1, name: press, workcenter_id: WC-P, setup_min: 25, unit_min: 0.04}
customers:
- {id: C1, name: Customer one}
- {id: C2, name: Customer two, strategic: true}
materials:
- {id: STEEL, name: Steel coil, unit: kg, lead_time_days: 5}
"""

START = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)
# Fewer telemetry messages keep the long runs of the 40-machine demo plant fast.
SPARSE = {"process_every": timedelta(minutes=10), "counter_every": timedelta(minutes=5)}


@cache
def small_plant() -> Plant:
    return parse_plant(SMALL_PLANT, "small.yaml")


@cache
def demo_plant() -> Plant:
    return load_plant(PROJECT_ROOT / "infra" / "plants" / "demo.yaml")


def run(plant: Plant, **config: object) -> list[Emission]:
    return list(simulate(plant, SimConfig.model_validate({"start": START, **config})))


def events(emissions: list[Emission], kind: str | None = None) -> list[EventBase]:
    found = [e.event for e in emissions if e.event is not None]
    return [e for e in found if kind is None or event_type(e) == kind]


def state_timeline(emissions: list[Emission], machine_id: str) -> list[tuple[datetime, MachineState]]:
    return [
        (e.ts, e.payload.state)  # type: ignore[attr-defined]
        for e in events(emissions, "machine.state")
        if e.key == machine_id
    ]


def state_at(timeline: list[tuple[datetime, MachineState]], at: datetime) -> MachineState:
    current = timeline[0][1]
    for ts, state in timeline:
        if ts > at:
            break
        current = state
    return current


def test_same_seed_gives_the_same_stream_and_another_seed_another() -> None:
    troubles = {"duplicate_rate": 0.05, "malformed_rate": 0.05, "late_rate": 0.05, "out_of_order_rate": 0.05}
    config = {"seed": 7, "duration": timedelta(hours=2), "troubles": troubles, "behaviour": SPARSE}
    first = [record_of(e, "t") for e in run(demo_plant(), **config)]
    again = [record_of(e, "t") for e in run(demo_plant(), **config)]
    other = [record_of(e, "t") for e in run(demo_plant(), **{**config, "seed": 8})]
    assert len(first) > 500
    assert first == again
    assert [r.event_id for r in first] != [r.event_id for r in other]


def test_stream_is_in_delivery_order_and_events_parse() -> None:
    emissions = run(demo_plant(), duration=timedelta(hours=1))
    assert [e.at for e in emissions] == sorted(e.at for e in emissions)
    assert all(e.event is not None and e.event.ts == e.at for e in emissions)
    kinds = {event_type(e) for e in events(emissions)}
    assert {"machine.state", "machine.counter", "machine.process", "wo.started"} <= kinds


def test_machines_are_stopped_off_shift_and_work_on_shift() -> None:
    emissions = run(small_plant(), duration=timedelta(hours=12), behaviour={"random_failures": False})
    for machine_id in ("M1", "M2"):
        timeline = state_timeline(emissions, machine_id)
        assert state_at(timeline, START) is MachineState.STOPPED
        assert state_at(timeline, START + timedelta(hours=2, minutes=30)) in (MachineState.SETUP, MachineState.RUNNING)
        assert state_at(timeline, START + timedelta(hours=11)) is MachineState.STOPPED
        for ts, state in timeline:
            on_shift = 6 <= ts.hour < 14
            assert on_shift or state is MachineState.STOPPED, (machine_id, ts, state)


def test_counters_move_only_while_running_at_about_the_ideal_cycle() -> None:
    behaviour = Behaviour(plc_restarts_per_day=0, material_waits_per_day=0)
    emissions = run(small_plant(), duration=timedelta(hours=12), behaviour=behaviour)
    plant = small_plant()
    for machine_id in ("M1", "M2"):
        timeline = state_timeline(emissions, machine_id)
        counters = [
            (e.ts, e.payload.good + e.payload.scrap)  # type: ignore[attr-defined]
            for e in events(emissions, "machine.counter")
            if e.key == machine_id
        ]
        total_pieces, total_running = 0, 0.0
        for (t0, n0), (t1, n1) in itertools.pairwise(counters):
            running = _running_seconds(timeline, t0, t1)
            assert n1 >= n0
            if running == 0:
                assert n1 == n0, (machine_id, t0, t1)
            total_pieces += n1 - n0
            total_running += running
        assert total_running > 3600
        rate = total_pieces * plant.machine(machine_id).ideal_cycle_s / total_running
        assert 0.8 <= rate <= 1.0, (machine_id, rate)


def _running_seconds(timeline: list[tuple[datetime, MachineState]], lo: datetime, hi: datetime) -> float:
    total = 0.0
    points = [(ts, state) for ts, state in timeline if lo < ts < hi]
    current, since = state_at(timeline, lo), lo
    for ts, state in [*points, (hi, MachineState.OFFLINE)]:
        if current is MachineState.RUNNING:
            total += (ts - since).total_seconds()
        current, since = state, ts
    return total


def test_plc_restart_resets_the_counter() -> None:
    emissions = run(small_plant(), duration=timedelta(hours=10), behaviour={"plc_restarts_per_day": 200})
    counts = [e.payload.good for e in events(emissions, "machine.counter") if e.key == "M1"]  # type: ignore[attr-defined]
    assert any(later < earlier for earlier, later in itertools.pairwise(counts))
    assert 0 in counts


def test_forced_breakdown_holds_the_machine_in_fault_for_its_window() -> None:
    breakdown = Breakdown.parse("H2@10m:45m")
    emissions = run(demo_plant(), duration=timedelta(hours=2), breakdowns=[breakdown], behaviour=SPARSE)
    timeline = state_timeline(emissions, "H2")
    begin, end = START + timedelta(minutes=10), START + timedelta(minutes=55)
    assert (begin, MachineState.FAULT) in timeline
    assert all(state is MachineState.FAULT for ts, state in timeline if begin <= ts < end)
    assert state_at(timeline, end) is not MachineState.FAULT
    # No production while broken down.
    counts = [(e.ts, e.payload.good) for e in events(emissions, "machine.counter") if e.key == "H2"]  # type: ignore[attr-defined]
    # The count reported at the moment of the breakdown holds what was made up to it; nothing after.
    before = [good for ts, good in counts if ts <= begin][-1]
    assert all(good == before for ts, good in counts if begin <= ts < end)


def test_breakdown_of_an_unknown_machine_is_refused() -> None:
    with pytest.raises(ValueError, match="XX9"):
        PlantSim(small_plant(), SimConfig(start=START, breakdowns=[Breakdown.parse("XX9@1m:1m")]))


def test_work_order_events_follow_a_valid_lifecycle() -> None:
    behaviour = {**SPARSE, "material_waits_per_day": 20, "report_every": timedelta(minutes=20)}
    emissions = run(demo_plant(), duration=timedelta(hours=16), behaviour=behaviour)
    lifecycles: dict[tuple[str, int], list[str]] = defaultdict(list)
    for event in events(emissions):
        if event_type(event).startswith("wo."):
            payload = event.payload  # type: ignore[attr-defined]
            lifecycles[(payload.work_order_id, payload.operation_seq)].append(event_type(event))
    seen = {kind for kinds in lifecycles.values() for kind in kinds}
    assert seen == {"wo.started", "wo.reported", "wo.paused", "wo.resumed", "wo.finished"}
    for key, kinds in lifecycles.items():
        assert kinds[0] == "wo.started", key
        paused = False
        for position, kind in enumerate(kinds[1:], start=1):
            assert kind != "wo.started", key
            if kind == "wo.paused":
                assert not paused, key
                paused = True
            elif kind == "wo.resumed":
                assert paused, key
                paused = False
            else:
                assert not paused, (key, kinds)
            if kind == "wo.finished":
                assert position == len(kinds) - 1, key


def test_reported_quantities_add_up_to_the_counter_increments() -> None:
    behaviour = Behaviour(plc_restarts_per_day=0, random_failures=False)
    emissions = run(small_plant(), duration=timedelta(hours=10), behaviour=behaviour)
    reported = sum(e.payload.good for e in events(emissions, "wo.reported") if e.payload.machine_id == "M1")  # type: ignore[attr-defined]
    counts = [e.payload.good for e in events(emissions, "machine.counter") if e.key == "M1"]  # type: ignore[attr-defined]
    produced = counts[-1] - counts[0]
    assert reported > 0
    # Pieces made after the last report are on the counter but not reported yet.
    assert 0 <= produced - reported <= produced * 0.5


def test_planned_maintenance_takes_the_machine_out_for_its_window() -> None:
    emissions = run(small_plant(), duration=timedelta(hours=12), behaviour={"random_failures": False})
    timeline = state_timeline(emissions, "M2")
    begin, end = START + timedelta(hours=5), START + timedelta(hours=7)
    assert (begin, MachineState.MAINTENANCE) in timeline
    assert all(state is MachineState.MAINTENANCE for ts, state in timeline if begin <= ts < end)
    assert state_at(timeline, end) in (MachineState.SETUP, MachineState.RUNNING)
    assert MachineState.MAINTENANCE not in {state for _, state in state_timeline(emissions, "M1")}
    pauses = [e.payload for e in events(emissions, "wo.paused") if e.payload.machine_id == "M2"]  # type: ignore[attr-defined]
    assert any(p.reason == "other" and p.note == "planned maintenance" for p in pauses)
