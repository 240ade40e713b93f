"""Building the solver's problem from a database snapshot and the demo plant (no database needed)."""

from __future__ import annotations

import dataclasses
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from rescheduler.service.build import build_input, reserve_eligible
from rescheduler.service.plan import PlannedOp
from rescheduler.service.snapshot import CurrentPlan, OpenOperation, OpenWorkOrder, Snapshot
from shopfloor.plant import Plant, load_plant
from tests.rescheduler_support.seed import DEMO_PLANT

pytestmark = pytest.mark.unit

# Monday 2 March 2026, 08:00 in Ningbo.
NOW = datetime(2026, 3, 2, 0, 0, 30, tzinfo=UTC)
H = timedelta(hours=1)


@pytest.fixture(scope="module")
def plant() -> Plant:
    return load_plant(DEMO_PLANT)


def op(
    seq: int,
    wc: str,
    machines: tuple[str, ...],
    setup: float,
    unit: float,
    *,
    status: str = "pending",
    machine_id: str | None = None,
    actual_start: datetime | None = None,
    good: int = 0,
) -> OpenOperation:
    return OpenOperation(seq, wc, machines, setup, unit, status, machine_id, actual_start, good)


def work_order(*ops: OpenOperation, rush: bool = False, customer: str = "CUST-001") -> OpenWorkOrder:
    return OpenWorkOrder(
        work_order_id="WO-1",
        order_id="O-1",
        customer_id=customer,
        product_id="HB-M8x30",
        quantity=10_000,
        due=NOW + 48 * H,
        order_due=NOW + 48 * H,
        priority=4,
        rush=rush,
        release=NOW + 2 * H,
        margin_pct=None,
        operations=ops,
    )


def test_durations_frozen_work_and_job_fields(plant: Plant) -> None:
    snapshot = Snapshot(
        work_orders=[
            work_order(
                # Started 30 min ago on D1, 4,000 of 10,000 done: 6,000 x 0.006 = 36 min left.
                op(
                    1,
                    "WC-DRAW",
                    ("D1", "D2"),
                    30,
                    0.006,
                    status="started",
                    machine_id="D1",
                    actual_start=NOW - 0.5 * H,
                    good=4_000,
                ),
                op(2, "WC-HEAD", ("H1", "H2"), 75, 0.025),
            )
        ],
        # Learned: heading takes 0.03 min/pc and 60 min setup for this product.
        standard_times={("HB-M8x30", 2): (0.03, 60.0)},
    )
    problem = build_input(plant, snapshot, NOW, horizon_days=2).problem
    (job,) = problem.jobs
    assert (job.id, job.release, job.due, job.weight, job.reserve_eligible) == ("WO-1", 120, 48 * 60, 4, False)
    drawing, heading = job.operations
    assert drawing.frozen is not None
    assert (drawing.frozen.machine, drawing.frozen.start, drawing.frozen.end) == ("D1", -30, 36)
    assert heading.frozen is None and heading.durations == {"H1": 60 + 300, "H2": 60 + 300}


@pytest.mark.parametrize(
    ("rush", "customer", "margin", "eligible"),
    [
        (True, "CUST-002", None, True),  # rush and strategic
        (True, "CUST-001", 30.0, True),  # rush and a margin over 25%
        (True, "CUST-001", 20.0, False),  # rush alone is not enough
        (True, "CUST-001", None, False),
        (False, "CUST-002", None, False),  # strategic but not rush
        (False, "CUST-001", 40.0, False),  # high margin but not rush
    ],
)
def test_only_rush_orders_meeting_the_release_condition_may_use_the_reserve(
    plant: Plant, rush: bool, customer: str, margin: float | None, eligible: bool
) -> None:
    wo = work_order(op(1, "WC-DRAW", ("D1",), 0, 0.01), rush=rush, customer=customer)
    wo = dataclasses.replace(wo, margin_pct=margin)
    plan_input = build_input(plant, Snapshot([wo]), NOW, horizon_days=1)
    (job,) = plan_input.problem.jobs
    assert (job.rush, job.reserve_eligible) == (rush, eligible)
    (reserve,) = plan_input.problem.reserves
    assert reserve.workcenter == "WC-HEAD" and reserve.share == pytest.approx(0.15) and len(reserve.machines) == 8
    assert plan_input.problem.reserve_fence == 24 * 60  # the plant's default release fence


def test_release_condition_is_configurable(plant: Plant) -> None:
    rules = plant.rules.model_copy(
        update={"rush_reserve": plant.rules.rush_reserve.model_copy(update={"open_to_strategic": False})}
    )
    closed = plant.model_copy(update={"rules": rules})
    assert not reserve_eligible(closed, True, "CUST-002", None)
    assert reserve_eligible(plant, True, "CUST-002", None)
    higher = rules.rush_reserve.model_copy(update={"min_margin_pct": 35.0})
    assert not reserve_eligible(
        plant.model_copy(update={"rules": rules.model_copy(update={"rush_reserve": higher})}), True, "CUST-001", 30.0
    )


def test_calendar_and_breakdown_unavailability(plant: Plant) -> None:
    # H2 in FAULT since 1 h ago, MTTR 2 h: back in 1 h. K1 (packing) works two shifts, 06:00-22:00 local.
    snapshot = Snapshot(work_orders=[], down={"H2": ("FAULT", NOW - H)})
    plan_input = build_input(plant, snapshot, NOW, horizon_days=1)
    by_machine: dict[str, list[tuple[int, int, str]]] = {}
    for u in plan_input.problem.unavailability:
        by_machine.setdefault(u.machine, []).append((u.start, u.end, u.reason))
    # Back at 01:00:30 UTC: unavailable until the minute after (operations start on whole minutes).
    assert by_machine["H2"] == [(0, 61, "breakdown")]
    # Origin is 00:00 UTC (08:00 local): K1 is off 22:00-06:00 local = minutes 840-1320 of the one-day horizon.
    assert by_machine["K1"] == [(840, 1320, "calendar")]
    # Presses work three shifts Monday to Saturday: nothing off within this Monday.
    assert "H1" not in by_machine
    assert plan_input.repairs["H2"] == NOW + H
    # The plan's days start at local midnight: 08:00 local is 480 min into the day.
    assert plan_input.problem.day_origin == -480


def test_operations_starting_within_the_freeze_window_are_frozen(plant: Plant) -> None:
    wo = work_order(op(1, "WC-DRAW", ("D1", "D2"), 30, 0.006), op(2, "WC-HEAD", ("H1", "H2"), 75, 0.025))
    current = CurrentPlan(
        plan_id="plant1-v1",
        version=1,
        ops=(
            PlannedOp("WO-1", 1, "D2", NOW + 2 * H, NOW + 3.5 * H),  # starts in 2 h: inside a 3 h window
            PlannedOp("WO-1", 2, "H1", NOW + 4 * H, NOW + 10 * H),  # starts in 4 h: free to move
        ),
    )
    snapshot = Snapshot([wo], current=current)
    unfrozen = build_input(plant, snapshot, NOW, horizon_days=2).problem
    assert all(o.frozen is None for _, o in unfrozen.operations())  # the default window is 0
    problem = build_input(plant, snapshot, NOW, horizon_days=2, freeze_window_min=180).problem
    drawing, heading = problem.jobs[0].operations
    assert drawing.frozen is not None and heading.frozen is None
    assert (drawing.frozen.machine, drawing.frozen.start, drawing.frozen.end) == ("D2", 120, 210)
    assert [(p.job, p.seq) for p in problem.previous] == [("WO-1", 2)]  # only what may move is a hint
    # a machine broken down since is not frozen on: that operation is planned again
    broken = Snapshot([wo], current=current, down={"D2": ("FAULT", NOW - H)})
    drawing, _ = build_input(plant, broken, NOW, horizon_days=2, freeze_window_min=180).problem.jobs[0].operations
    assert drawing.frozen is None


def test_work_orders_naming_unknown_machines_are_reported_not_dropped_unsaid(plant: Plant) -> None:
    ok = work_order(op(1, "WC-DRAW", ("D1", "D2"), 30, 0.006))
    bad = replace(
        work_order(op(1, "WC-DRAW", ("X9",), 30, 0.006), op(2, "WC-HEAD", ("H1",), 75, 0.025)), work_order_id="WO-2"
    )
    plan_input = build_input(plant, Snapshot(work_orders=[ok, bad]), NOW, horizon_days=2)
    assert [job.id for job in plan_input.problem.jobs] == ["WO-1"]
    assert set(plan_input.unplanned) == {"WO-2"}
    assert "operation 1" in plan_input.unplanned["WO-2"] and "X9" in plan_input.unplanned["WO-2"]
