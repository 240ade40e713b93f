"""Events of the planning loop: bottlenecks (streams), schedules and alerts (rescheduler)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, ClassVar, Literal

from pydantic import Field

from shopfloor.events._base import EventBase, Ident, Model, UtcDatetime

Hours = Annotated[float, Field(ge=0)]


class BottleneckDetectedPayload(Model):
    workcenter_id: Ident
    # Set when one machine (e.g. a heading press in FAULT) is the cause.
    machine_id: Ident | None = None
    load_hours: Hours
    capacity_hours: Hours
    horizon_hours: Hours
    # How long the workcenter is fully booked ("full for 3 days" = 72).
    full_for_hours: Hours = 0
    orders_affected: list[Ident] = Field(default_factory=list)
    cause: Annotated[str, Field(max_length=256)] = ""


class BottleneckClearedPayload(Model):
    workcenter_id: Ident
    machine_id: Ident | None = None
    load_hours: Hours
    capacity_hours: Hours


class OperationMove(Model):
    """How one operation differs between the previous plan and the new one."""

    work_order_id: Ident
    operation_seq: Annotated[int, Field(ge=1)]
    from_machine: Ident | None
    to_machine: Ident
    from_start: UtcDatetime | None
    to_start: UtcDatetime


class SchedulePublishedPayload(Model):
    site_id: Ident
    plan_id: Ident
    version: Annotated[int, Field(ge=1)]
    trigger: Annotated[str, Field(max_length=256)]
    status: Literal["OPTIMAL", "FEASIBLE"]
    operations: Annotated[int, Field(ge=0)]
    weighted_tardiness_min: Hours
    makespan_end: UtcDatetime | None = None
    late_orders: list[Ident] = Field(default_factory=list)
    moved: list[OperationMove] = Field(default_factory=list)
    solve_s: Annotated[float, Field(ge=0)] = 0


class AlertKind(StrEnum):
    ORDER_LATE = "order_late"
    MATERIAL_EARLIER = "material_earlier"


class Audience(StrEnum):
    SALES = "sales"
    PURCHASING = "purchasing"
    PLANNING = "planning"


class AlertRaisedPayload(Model):
    alert_id: Ident
    kind: AlertKind
    audience: Audience
    order_id: Ident
    customer_id: Ident | None = None
    due_date: UtcDatetime | None = None
    projected_date: UtcDatetime | None = None
    material_id: Ident | None = None
    need_date: UtcDatetime | None = None
    cause: Annotated[str, Field(max_length=512)] = ""
    message: Annotated[str, Field(max_length=2048)] = ""


class AlertClearedPayload(Model):
    alert_id: Ident
    kind: AlertKind
    audience: Audience
    order_id: Ident
    reason: Annotated[str, Field(max_length=512)] = ""


class BottleneckDetectedEvent(EventBase):
    key_field: ClassVar[str] = "workcenter_id"
    type: Literal["bottleneck.detected"] = "bottleneck.detected"
    payload: BottleneckDetectedPayload


class BottleneckClearedEvent(EventBase):
    key_field: ClassVar[str] = "workcenter_id"
    type: Literal["bottleneck.cleared"] = "bottleneck.cleared"
    payload: BottleneckClearedPayload


class SchedulePublishedEvent(EventBase):
    key_field: ClassVar[str] = "site_id"
    type: Literal["schedule.published"] = "schedule.published"
    payload: SchedulePublishedPayload


class AlertRaisedEvent(EventBase):
    key_field: ClassVar[str] = "order_id"
    type: Literal["alert.raised"] = "alert.raised"
    payload: AlertRaisedPayload


class AlertClearedEvent(EventBase):
    key_field: ClassVar[str] = "order_id"
    type: Literal["alert.cleared"] = "alert.cleared"
    payload: AlertClearedPayload
