"""Which alerts a new plan raises and clears: pure logic, no I/O.

An order is *late* when its projected completion in the plan is after its due date. Sales hear once
per episode: the alert's fingerprint is (kind, audience, order, due date), so an order that stays late
through later replans is not announced again, an order that comes back on time is cleared (and is a
new episode if it slips again), and a due date change (a new promise) starts a new episode.

Purchasing hears when an order's material is needed earlier: the need date of a work order's
material is the planned start of its first operation; when a new plan moves that start earlier than
the previous plan by at least a threshold, the material must come earlier. Each such move is one
alert (the fingerprint carries the new need date to the hour); a later move earlier again is a new
alert, and the previous one is cleared as superseded.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from shopfloor.events import AlertKind, Audience

_NAMESPACE = uuid.UUID("5b0f6c1e-8c55-4d8e-9a4e-6c2f3e1d7a10")


@dataclass(frozen=True, slots=True)
class OrderProjection:
    """An order as a plan sees it."""

    order_id: str
    customer_id: str | None
    due: datetime
    projected: datetime
    cause: str = ""
    # The plant's tolerance: an order finishing within this after its due date is not announced as late.
    min_slip: timedelta = timedelta(0)

    @property
    def late(self) -> bool:
        return self.projected > self.due + self.min_slip


@dataclass(frozen=True, slots=True)
class MaterialNeed:
    """When a work order's material is needed: the start of its first operation in a plan."""

    order_id: str
    work_order_id: str
    customer_id: str | None
    need: datetime


@dataclass(frozen=True, slots=True)
class OpenAlert:
    """A raised alert not yet cleared, as stored."""

    alert_id: str
    kind: AlertKind
    audience: Audience
    order_id: str
    fingerprint: str


@dataclass(frozen=True, slots=True)
class NewAlert:
    alert_id: str
    kind: AlertKind
    audience: Audience
    order_id: str
    customer_id: str | None
    fingerprint: str
    due: datetime | None
    projected: datetime | None
    need: datetime | None
    cause: str


@dataclass(frozen=True, slots=True)
class ClearAlert:
    alert_id: str
    kind: AlertKind
    audience: Audience
    order_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class AlertDecision:
    raise_: list[NewAlert]
    clear: list[ClearAlert]


def fingerprint(kind: AlertKind, audience: Audience, order_id: str, *parts: str) -> str:
    text = "|".join((kind.value, audience.value, order_id, *parts))
    return hashlib.sha256(text.encode()).hexdigest()


def alert_id_for(fp: str, plan_id: str) -> str:
    """Deterministic per change and plan: the plan that raised it tells two episodes of one order apart."""
    return uuid.uuid5(_NAMESPACE, f"{fp}@{plan_id}").hex


def decide_late(projections: list[OrderProjection], open_alerts: list[OpenAlert], plan_id: str = "") -> AlertDecision:
    """Order-late alerts to sales for the orders of a new plan, given the alerts still open."""
    kind, audience = AlertKind.ORDER_LATE, Audience.SALES
    open_by_order = {a.order_id: a for a in open_alerts if a.kind is kind and a.audience is audience}
    raised: list[NewAlert] = []
    cleared: list[ClearAlert] = []
    seen: set[str] = set()
    for p in sorted(projections, key=lambda p: p.order_id):
        seen.add(p.order_id)
        current = open_by_order.get(p.order_id)
        if not p.late:
            if current is not None:
                cleared.append(ClearAlert(current.alert_id, kind, audience, p.order_id, "back on time"))
            continue
        fp = fingerprint(kind, audience, p.order_id, p.due.isoformat())
        if current is not None and current.fingerprint == fp:
            continue  # same episode, already told
        if current is not None:
            cleared.append(ClearAlert(current.alert_id, kind, audience, p.order_id, "due date changed"))
        raised.append(
            NewAlert(
                alert_id_for(fp, plan_id),
                kind,
                audience,
                p.order_id,
                p.customer_id,
                fp,
                p.due,
                p.projected,
                None,
                p.cause,
            )
        )
    for order_id, current in sorted(open_by_order.items()):
        if order_id not in seen:  # finished, cancelled, or no longer planned
            cleared.append(ClearAlert(current.alert_id, kind, audience, order_id, "order no longer in the plan"))
    return AlertDecision(raised, cleared)


def decide_material(
    previous: list[MaterialNeed],
    current: list[MaterialNeed],
    open_alerts: list[OpenAlert],
    min_earlier: timedelta,
    plan_id: str = "",
) -> AlertDecision:
    """Material-earlier alerts to purchasing from the first-operation starts of two plans."""
    kind, audience = AlertKind.MATERIAL_EARLIER, Audience.PURCHASING
    before = {n.work_order_id: n.need for n in previous}
    open_by_order = {a.order_id: a for a in open_alerts if a.kind is kind and a.audience is audience}
    raised: list[NewAlert] = []
    cleared: list[ClearAlert] = []
    # One alert per order: its earliest-moving work order speaks for it.
    earliest: dict[str, tuple[MaterialNeed, datetime]] = {}
    for need in current:
        was = before.get(need.work_order_id)
        if was is None or was - need.need < min_earlier:
            continue
        known = earliest.get(need.order_id)
        if known is None or need.need < known[0].need:
            earliest[need.order_id] = (need, was)
    for order_id, (need, was) in sorted(earliest.items()):
        hour = need.need.replace(minute=0, second=0, microsecond=0)
        fp = fingerprint(kind, audience, order_id, hour.isoformat())
        current_alert = open_by_order.get(order_id)
        if current_alert is not None and current_alert.fingerprint == fp:
            continue
        if current_alert is not None:
            cleared.append(ClearAlert(current_alert.alert_id, kind, audience, order_id, "superseded"))
        cause = f"work order {need.work_order_id} now starts {_fmt(need.need)} instead of {_fmt(was)}"
        raised.append(
            NewAlert(
                alert_id_for(fp, plan_id), kind, audience, order_id, need.customer_id, fp, None, None, need.need, cause
            )
        )
    return AlertDecision(raised, cleared)


def _fmt(ts: datetime) -> str:
    return ts.strftime("%Y-%m-%d %H:%M UTC")
