"""What a plan means for orders: projected completions, late orders with their cause, material needs."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta

from rescheduler.alerts.decide import MaterialNeed, OrderProjection
from rescheduler.service.build import PlanInput, at
from rescheduler.service.cause import PlantView, late_cause, merge_intervals
from rescheduler.service.plan import PlannedOp
from rescheduler.service.snapshot import OpenWorkOrder
from shopfloor.plant import Plant


def plant_view(plant: Plant, plan_input: PlanInput, down: dict[str, str], bottlenecks: dict[str, float]) -> PlantView:
    origin = plan_input.origin
    unavailable: dict[str, list[tuple[datetime, datetime]]] = defaultdict(list)
    for u in plan_input.problem.unavailability:
        unavailable[u.machine].append((at(origin, u.start), at(origin, u.end)))
    return PlantView(
        machine_workcenter={m.id: m.workcenter_id for m in plant.all_machines()},
        machine_names={m.id: m.name for m in plant.all_machines()},
        workcenter_names={wc.id: wc.name for wc in plant.workcenters},
        eligible={(job.id, op.seq): sorted(op.durations) for job, op in plan_input.problem.operations()},
        unavailable={m: merge_intervals(iv) for m, iv in unavailable.items()},
        down=down,
        bottleneck_full_for_h=bottlenecks,
    )


def project_orders(
    ops: Sequence[PlannedOp],
    work_orders: dict[str, OpenWorkOrder],
    view: PlantView,
    now: datetime,
    min_slip: timedelta,
    clear_slip: timedelta | None = None,
) -> list[OrderProjection]:
    """One projection per order: its last operation's end against its due date, with the cause if late.

    ``min_slip`` and ``clear_slip`` are the raise and clear thresholds of late alerts (see alerts.decide).
    """
    by_order: dict[str, list[PlannedOp]] = defaultdict(list)
    for op in ops:
        wo = work_orders.get(op.work_order_id)
        if wo is not None:
            by_order[wo.order_id].append(op)
    release = {wo.work_order_id: wo.release for wo in work_orders.values() if wo.release is not None}
    out: list[OrderProjection] = []
    for order_id, order_ops in sorted(by_order.items()):
        wos = [work_orders[op.work_order_id] for op in order_ops]
        due = min(wo.order_due for wo in wos)
        projected = max(op.end for op in order_ops)
        projection = OrderProjection(
            order_id, wos[0].customer_id, due, projected, min_slip=min_slip, clear_slip=clear_slip
        )
        if projection.late:
            cause = late_cause(order_ops, ops, view, now, release)
            projection = OrderProjection(order_id, wos[0].customer_id, due, projected, cause, min_slip, clear_slip)
        out.append(projection)
    return out


def material_needs(ops: Sequence[PlannedOp], work_orders: dict[str, OpenWorkOrder]) -> list[MaterialNeed]:
    """When each not-yet-started work order needs its material: the start of its first planned operation.

    Work orders already started have their material in use: not a purchasing question any more.
    """
    first: dict[str, PlannedOp] = {}
    for op in ops:
        known = first.get(op.work_order_id)
        if known is None or op.seq < known.seq:
            first[op.work_order_id] = op
    return [
        MaterialNeed(wo.order_id, wo.work_order_id, wo.customer_id, first[wo.work_order_id].start)
        for wo in work_orders.values()
        if wo.work_order_id in first and not any(o.started for o in wo.operations)
    ]
