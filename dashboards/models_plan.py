"""Models of the Gantt, machine and order pages."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from shopfloor.events import Model

Change = Literal["new", "moved", "same"]


class GanttOp(Model):
    work_order_id: str
    seq: int
    name: str
    machine_id: str
    start: datetime
    end: datetime
    frozen: bool
    late: bool
    rush: bool
    order_id: str | None
    customer_id: str | None
    due: datetime | None
    change: Change
    previous_machine_id: str | None
    previous_start: datetime | None


class Gantt(Model):
    plan_id: str | None
    version: int | None
    created_at: datetime | None
    previous_version: int | None
    machines: list[str]
    operations: list[GanttOp]
    # Operations of the previous plan that the current one no longer has.
    removed: list[str]


class StateSegment(Model):
    state: str
    reason: str | None
    start: datetime
    end: datetime


class ProcessValue(Model):
    name: str
    unit: str
    last: float
    minimum: float
    maximum: float
    average: float
    samples: int


class ShiftFigures(Model):
    shift: str
    start: datetime
    end: datetime
    availability_pct: float | None
    performance_pct: float | None
    quality_pct: float | None
    oee_pct: float | None
    good: int
    scrap: int
    running_s: float
    downtime_s: float
    process: list[ProcessValue]


class MachineDetail(Model):
    machine_id: str
    name: str
    workshop_id: str
    workcenter_id: str
    state: str
    since: datetime | None
    timeline: list[StateSegment]
    current: ShiftFigures
    last: ShiftFigures
    # name -> [[iso minute, average]] over both shifts, for the process chart
    process_series: dict[str, list[tuple[datetime, float]]]
    last_counter: tuple[int, int] | None


class OrderRow(Model):
    order_id: str
    customer_id: str
    status: str
    priority: int
    rush: bool
    due_date: datetime
    projected: datetime | None
    late: bool
    quantity: int
    channel: str


class OrderVersion(Model):
    version: int
    event_type: str
    recorded_at: datetime
    snapshot: dict[str, Any]


class OrderOperation(Model):
    seq: int
    name: str
    workcenter_id: str
    status: str
    machine_id: str | None
    good: int
    scrap: int
    planned_machine_id: str | None
    planned_start: datetime | None
    planned_end: datetime | None


class OrderWorkOrder(Model):
    work_order_id: str
    product_id: str
    quantity: int
    status: str
    good: int
    scrap: int
    operations: list[OrderOperation]


class OrderDetail(Model):
    order: OrderRow
    project: str | None
    # The date promised to the customer: the order's agreed due date (its latest version).
    promise_date: datetime
    projected_completion: datetime | None
    cause: str
    versions: list[OrderVersion]
    work_orders: list[OrderWorkOrder]
