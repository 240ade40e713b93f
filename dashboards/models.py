"""What the JSON endpoints answer (and the live events carry): one model per chart or table."""

from __future__ import annotations

from datetime import datetime

from shopfloor.events import Model


class Status(Model):
    """Freshness of a page: its newest data, and whether the database answered the last poll."""

    now: datetime
    data_as_of: datetime | None
    db_ok: bool
    stale_after_s: float
    stale: bool
    error: str = ""


class Tile(Model):
    machine_id: str
    name: str
    workshop_id: str
    workcenter_id: str
    state: str  # a machine state, or NO_DATA
    # Time in state is now - since; the browser counts it up between updates.
    since: datetime | None


class Heatmap(Model):
    machines: list[str]
    minutes: list[datetime]
    # [minute index, machine index, running share 0..100]
    cells: list[tuple[int, int, float]]


class WorkshopOee(Model):
    workshop_id: str
    name: str
    name_zh: str
    oee_pct: float | None
    availability_pct: float | None
    performance_pct: float | None
    quality_pct: float | None


class OeeBoard(Model):
    shift: str
    shift_start: datetime
    red_below: float
    green_above: float
    workshops: list[WorkshopOee]


class WorkcenterDayLoad(Model):
    workcenter_id: str
    name: str
    day: str
    planned_hours: float
    capacity_hours: float
    load_pct: float | None


class WorkcenterQueue(Model):
    workcenter_id: str
    ts: datetime
    queued_hours: float
    capacity_hours: float


class LoadBoard(Model):
    days: list[str]
    workcenters: list[str]
    cells: list[WorkcenterDayLoad]
    queues: list[WorkcenterQueue]


class PoolStatus(Model):
    status: str
    orders: int
    rush_orders: int
    work_orders: int
    quantity: int


class WorkshopPending(Model):
    workshop_id: str
    name: str
    name_zh: str
    pending_work_orders: int


class OrderPool(Model):
    bucket: datetime | None
    by_status: list[PoolStatus]
    total_orders: int
    pending: list[WorkshopPending]


class Bottleneck(Model):
    workcenter_id: str
    machine_id: str | None
    load_hours: float
    capacity_hours: float
    full_for_hours: float
    cause: str
    since: datetime


class LateOrder(Model):
    order_id: str
    customer_id: str | None
    due: datetime
    projected: datetime
    slip_hours: float
    cause: str


class Alert(Model):
    alert_id: str
    kind: str
    audience: str
    order_id: str
    cause: str
    raised_at: datetime
    projected: datetime | None


class OnTime(Model):
    period: str
    start: datetime
    delivered: int
    on_time: int
    pct: float | None
    target_pct: float


class ParetoBar(Model):
    reason: str
    minutes: float


class Pareto(Model):
    shift: str
    shift_start: datetime
    shift_end: datetime
    bars: list[ParetoBar]


class Board(Model):
    """Everything the load board shows; the live stream sends it section by section."""

    tiles: list[Tile]
    heatmap: Heatmap
    oee: OeeBoard
    load: LoadBoard
    pool: OrderPool
    bottlenecks: list[Bottleneck]
    late: list[LateOrder]
    alerts: list[Alert]
    on_time: list[OnTime]
    pareto: Pareto
