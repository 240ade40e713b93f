"""Capable-to-promise past the planning horizon keeps to the calendars, and counts its own operations
in the rush reserve (issue 19)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from rescheduler.ctp import insert_job
from rescheduler.model import Job, Operation, Problem, RushReserve
from rescheduler.service.build import build_input
from rescheduler.service.promise import CtpRequest, PlanContext, promise
from rescheduler.service.snapshot import Snapshot
from shopfloor.plant import Plant, load_plant
from tests.rescheduler_support.seed import DEMO_PLANT

pytestmark = pytest.mark.unit

NOW = datetime(2026, 3, 2, 0, 0, 30, tzinfo=UTC)  # Monday 08:00 in Ningbo


@pytest.fixture(scope="module")
def plant() -> Plant:
    return load_plant(DEMO_PLANT)


def test_a_promise_past_the_horizon_keeps_to_the_shifts(plant: Plant) -> None:
    plan_input = build_input(plant, Snapshot(work_orders=[]), NOW, horizon_days=7)
    context = PlanContext("plant1-v1", 1, NOW, plan_input, ops=[], late_orders=[])
    # Material arrives on day 40 at 23:00 local, past the 7-day horizon, in the middle of the night.
    ready = datetime(2026, 4, 11, 15, 0, tzinfo=UTC)
    request = CtpRequest(product_id="HB-M16x60", quantity=10_000, customer_id="CUST-001", material_ready=ready)
    answer = promise(plant, context, request, NOW)
    assert answer.operations[0].start >= ready
    for op in answer.operations:
        working = plant.machine_intervals(op.machine_id, op.start - timedelta(days=1), op.end + timedelta(days=1))
        assert any(start <= op.start and op.end <= end for start, end in working), (
            f"{op.machine_id} {op.start}-{op.end} is not inside working time"
        )


def test_a_promise_counts_its_own_operations_in_the_reserve() -> None:
    # One reserved press B1, 100-minute days, half held back: 50 minutes a day for normal work. The new
    # order needs B1 twice for 30 minutes: both cannot go into day 0.
    problem = Problem(
        machines=("B1",),
        jobs=(),
        reserves=(RushReserve(workcenter="HEAD", machines=("B1",), share=0.5),),
        day_minutes=100,
    )
    job = Job(id="NEW", operations=(Operation(seq=1, durations={"B1": 30}), Operation(seq=2, durations={"B1": 30})))
    got = insert_job(problem, [], job, ready=0, limit=1000)
    assert [(o.start, o.end) for o in got.ops] == [(0, 30), (100, 130)]
