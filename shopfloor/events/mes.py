"""Work-order events: what operators report with scan guns or the phone page (``wo.*``)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, ClassVar, Literal

from pydantic import Field

from shopfloor.events._base import Count, EventBase, Ident, Model


class PauseReason(StrEnum):
    MATERIAL = "material"
    TOOLING = "tooling"
    QUALITY = "quality"
    BREAKDOWN = "breakdown"
    SETUP = "setup"
    BREAK = "break"
    NO_OPERATOR = "no_operator"
    OTHER = "other"


class WorkOrderRef(Model):
    """Which operation of which work order, where, by whom."""

    work_order_id: Ident
    operation_seq: Annotated[int, Field(ge=1, le=99)] = 1
    machine_id: Ident | None = None
    operator_id: Ident | None = None


class WoStartedPayload(WorkOrderRef):
    pass


class WoReportedPayload(WorkOrderRef):
    """Quantities produced since the last report (increments, not totals)."""

    good: Count
    scrap: Count = 0


class WoPausedPayload(WorkOrderRef):
    reason: PauseReason
    note: Annotated[str, Field(max_length=256)] | None = None


class WoResumedPayload(WorkOrderRef):
    pass


class WoFinishedPayload(WorkOrderRef):
    pass


class _WoEvent(EventBase):
    key_field: ClassVar[str] = "work_order_id"


class WoStartedEvent(_WoEvent):
    type: Literal["wo.started"] = "wo.started"
    payload: WoStartedPayload


class WoReportedEvent(_WoEvent):
    type: Literal["wo.reported"] = "wo.reported"
    payload: WoReportedPayload


class WoPausedEvent(_WoEvent):
    type: Literal["wo.paused"] = "wo.paused"
    payload: WoPausedPayload


class WoResumedEvent(_WoEvent):
    type: Literal["wo.resumed"] = "wo.resumed"
    payload: WoResumedPayload


class WoFinishedEvent(_WoEvent):
    type: Literal["wo.finished"] = "wo.finished"
    payload: WoFinishedPayload
