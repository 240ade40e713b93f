"""Order and work-order release events, published by the order hub on ``shopfloor.orders``."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Annotated, ClassVar, Literal

from pydantic import Field

from shopfloor.events._base import EventBase, Ident, Model, UtcDatetime

Priority = Annotated[int, Field(ge=1, le=5)]
"""1 = low ... 5 = critical; the rescheduler uses it as the tardiness weight."""

Minutes = Annotated[float, Field(ge=0, le=100_000)]


class OrderStatus(StrEnum):
    DRAFT = "draft"
    PENDING_APPROVAL = "pending_approval"
    APPROVED = "approved"
    IN_PRODUCTION = "in_production"
    DONE = "done"
    CANCELLED = "cancelled"


class OrderLine(Model):
    line_no: Annotated[int, Field(ge=1, le=999)]
    product_id: Ident
    quantity: Annotated[int, Field(gt=0, le=100_000_000)]
    unit_price: Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=4)] = Decimal(0)


class OrderPayload(Model):
    """A full snapshot of one version of an order."""

    order_id: Ident
    version: Annotated[int, Field(ge=1)]
    customer_id: Ident
    lines: Annotated[list[OrderLine], Field(min_length=1, max_length=200)]
    due_date: UtcDatetime
    priority: Priority = 3
    rush: bool = False
    status: OrderStatus = OrderStatus.DRAFT
    project: Annotated[str, Field(max_length=64)] | None = None
    channel: Annotated[str, Field(max_length=32)] = "sales"
    # Gross margin in percent; the rush-reserve rule opens reserved capacity above a threshold.
    margin_pct: Annotated[float, Field(ge=-100, le=100)] | None = None


class OrderChangedPayload(OrderPayload):
    changed_fields: Annotated[list[str], Field(min_length=1)]


class OrderCancelledPayload(Model):
    order_id: Ident
    version: Annotated[int, Field(ge=1)]
    reason: Annotated[str, Field(max_length=256)] = ""


class OperationSpec(Model):
    """One step of a work order's routing, with the machines that may run it."""

    seq: Annotated[int, Field(ge=1, le=99)]
    name: Annotated[str, Field(max_length=64)]
    workcenter_id: Ident
    eligible_machines: Annotated[list[Ident], Field(min_length=1)]
    setup_min: Minutes = 0
    unit_min: Minutes


class WoReleasedPayload(Model):
    """An approved order line turned into a work order by the product's routing."""

    work_order_id: Ident
    order_id: Ident
    product_id: Ident
    quantity: Annotated[int, Field(gt=0)]
    due_date: UtcDatetime
    priority: Priority = 3
    rush: bool = False
    # Earliest start: when material is ready.
    release_time: UtcDatetime | None = None
    operations: Annotated[list[OperationSpec], Field(min_length=1, max_length=99)]


class _OrderEvent(EventBase):
    key_field: ClassVar[str] = "order_id"


class OrderCreatedEvent(_OrderEvent):
    type: Literal["order.created"] = "order.created"
    payload: OrderPayload


class OrderApprovedEvent(_OrderEvent):
    type: Literal["order.approved"] = "order.approved"
    payload: OrderPayload


class OrderChangedEvent(_OrderEvent):
    type: Literal["order.changed"] = "order.changed"
    payload: OrderChangedPayload


class OrderCancelledEvent(_OrderEvent):
    type: Literal["order.cancelled"] = "order.cancelled"
    payload: OrderCancelledPayload


class WoReleasedEvent(_OrderEvent):
    type: Literal["wo.released"] = "wo.released"
    payload: WoReleasedPayload
