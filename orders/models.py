"""What the hub's API takes and answers, and the snapshot each order version stores."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import Field, StrictBool, StrictInt

from orders.config import CustomValue
from shopfloor.events import Ident, Model, OrderLine, UtcDatetime

Priority = Annotated[StrictInt, Field(ge=1, le=5)]
Quantity = Annotated[StrictInt, Field(gt=0, le=100_000_000)]
Price = Annotated[Decimal, Field(ge=0, le=Decimal("1e9"), max_digits=14, decimal_places=4)]
Project = Annotated[str, Field(min_length=1, max_length=64)]
Notes = Annotated[str, Field(max_length=4000)]
ChannelTag = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]{0,31}$")]
Margin = Annotated[float, Field(ge=-100, le=100)]
CustomFields = Annotated[dict[Annotated[str, Field(max_length=48)], CustomValue], Field(max_length=50)]


class LineIn(Model):
    product_id: Ident
    quantity: Quantity
    # Absent: the product's list price.
    unit_price: Price | None = None


class OrderIn(Model):
    """A new order. ``channel`` tags where it came from; ``external_id`` is that channel's id for it."""

    customer_id: Ident
    lines: Annotated[list[LineIn], Field(min_length=1, max_length=200)]
    due_date: UtcDatetime
    priority: Priority = 3
    rush: StrictBool = False
    project: Project | None = None
    channel: ChannelTag = "sales"
    external_id: Ident | None = None
    notes: Notes = ""
    custom_fields: CustomFields = Field(default_factory=dict)
    margin_pct: Margin | None = None


class OrderPatch(Model):
    """A change; fields left out stay as they are. ``lines`` replaces every line."""

    customer_id: Ident | None = None
    lines: Annotated[list[LineIn], Field(min_length=1, max_length=200)] | None = None
    due_date: UtcDatetime | None = None
    priority: Priority | None = None
    rush: StrictBool | None = None
    project: Project | None = None
    notes: Notes | None = None
    custom_fields: CustomFields | None = None
    margin_pct: Margin | None = None


class Reason(Model):
    reason: Annotated[str, Field(max_length=256)] = ""


class ApproveIn(Model):
    """Sign these steps; absent: every pending step the caller's roles may sign."""

    steps: Annotated[list[Annotated[str, Field(max_length=48)]], Field(max_length=20)] | None = None


class OrderSnapshot(Model):
    """One version of an order as stored in ``order_version.snapshot`` (immutable)."""

    order_id: str
    serial: int
    version: int
    status: str
    customer_id: str
    lines: list[OrderLine]
    total: Decimal
    due_date: UtcDatetime
    priority: int
    rush: bool
    project: str | None
    channel: str
    external_id: str | None
    notes: str
    custom_fields: dict[str, CustomValue]
    tags: list[str]
    margin_pct: float | None
    held_from: str | None = None


class ApprovalStepOut(Model):
    step: str
    rule: str
    reason: str
    required_role: str
    status: str
    decided_by: str | None
    decided_at: UtcDatetime | None


class PendingChange(Model):
    """A customer change waiting for sign-off: it takes effect only when no department is pending."""

    change_id: int
    kind: str
    pending_departments: list[str]


class OrderOut(OrderSnapshot):
    created_at: UtcDatetime
    updated_at: UtcDatetime
    created_by: str
    approved_at: UtcDatetime | None
    approvals: list[ApprovalStepOut]
    # Steps still waiting for a signature, e.g. ["finance_review"].
    pending_approvals: list[str]
    work_orders: list[str]
    pending_changes: list[PendingChange] = Field(default_factory=list)
    # False when a channel's retried delivery answered with the order an earlier delivery made.
    created_now: bool = True


class OrderPage(Model):
    items: list[OrderOut]
    total: int
    limit: int
    offset: int


class VersionOut(Model):
    version: int
    event_type: str
    recorded_at: datetime
    recorded_by: str
    snapshot: dict[str, Any]


class FieldChange(Model):
    field: str
    before: Any
    after: Any


class VersionDiff(Model):
    order_id: str
    from_version: int
    to_version: int
    changes: list[FieldChange]


def total_of(lines: Sequence[OrderLine]) -> Decimal:
    return sum((ln.unit_price * ln.quantity for ln in lines), Decimal(0)).quantize(Decimal("0.0001"))
