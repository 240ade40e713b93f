"""A plan as the service stores and compares it, independent of the solver's own types."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class PlannedOp:
    work_order_id: str
    seq: int
    machine_id: str
    start: datetime
    end: datetime
    frozen: bool = False

    @property
    def key(self) -> tuple[str, int]:
        return (self.work_order_id, self.seq)


@dataclass(frozen=True, slots=True)
class WorkOrderInfo:
    """What the plan needs to know about a work order beyond its operations."""

    work_order_id: str
    order_id: str
    customer_id: str | None
    product_id: str
    due: datetime
    release: datetime | None = None
    material_id: str | None = None
