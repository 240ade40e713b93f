"""Which alerts a new plan raises and clears: pure logic, no I/O.

An order is *late* when its projected completion is after its due date by more than the plant's
raise threshold (``min_slip``). Sales hear once per episode: the alert's fingerprint is (kind, audience,
order, due date), so an order that stays late through later replans is not announced again, and a due
date change (a new promise) starts a new episode. An open alert is cleared only when the order's slip
falls to the lower clear threshold (``clear_slip``): CP-SAT with several workers and a time limit is not
deterministic, and an order near the raise threshold would otherwise be alerted, cleared and alerted
again on successive replans.

Purchasing hears when an order's material is needed earlier: the need date of a work order's
material is the planned start of its first operation. It is compared with the *baseline*, the need
date purchasing already knows (the first plan that held the work order, or the last alert), not with
the previous plan only: a need that creeps earlier by less than the threshold on each replan still
alerts once the total move reaches it, and a need that swings back and forth alerts once. Each alert
moves the baseline to the new need; a later move earlier again is a new alert, and the previous one
is cleared as superseded.
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
    # An open late alert is cleared once the slip is at most this (below min_slip: hysteresis); None: min_slip.
    clear_slip: timedelta | None = None

    @property
    def late(self) -> bool:
        return self.projected > self.due + self.min_slip

    @property
    def back_on_time(self) -> bool:
        """Late enough to keep an open alert no longer (the lower threshold of the hysteresis)."""
        clear = self.min_slip if self.clear_slip is None else min(self.clear_slip, self.min_slip)
        return self.projected <= self.due + clear


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
        fp = fingerprint(kind, audience, p.order_id, p.due.isoformat())
        if current is not None:
            if current.fingerprint == fp:
                if p.back_on_time:
                    cleared.append(ClearAlert(current.alert_id, kind, audience, p.order_id, "back on time"))
                continue  # same episode: told already, and not yet back under the clear threshold
            cleared.append(ClearAlert(current.alert_id, kind, audience, p.order_id, "due date changed"))
        if not p.late:
            continue
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
    baseline: dict[str, datetime],
    current: list[MaterialNeed],
    open_alerts: list[OpenAlert],
    min_earlier: timedelta,
    plan_id: str = "",
) -> tuple[AlertDecision, dict[str, datetime]]:
    """Material-earlier alerts to purchasing, and the new baselines.

    ``baseline`` is the need date purchasing knows per work order. A work order seen for the first time
    takes its need as baseline without an alert (that is the date purchasing orders for). Returns the
    decision and the baseline of every work order in ``current``.
    """
    kind, audience = AlertKind.MATERIAL_EARLIER, Audience.PURCHASING
    open_by_order = {a.order_id: a for a in open_alerts if a.kind is kind and a.audience is audience}
    raised: list[NewAlert] = []
    cleared: list[ClearAlert] = []
    baselines: dict[str, datetime] = {}
    # One alert per order: its earliest-moving work order speaks for it.
    earliest: dict[str, tuple[MaterialNeed, datetime]] = {}
    for need in current:
        known = baseline.get(need.work_order_id)
        baselines[need.work_order_id] = need.need if known is None else known
        if known is None or known - need.need < min_earlier:
            continue
        first = earliest.get(need.order_id)
        if first is None or need.need < first[0].need:
            earliest[need.order_id] = (need, known)
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
        # Purchasing now knows the new date of every work order of the order that moved this much.
        for other in current:
            if other.order_id == order_id and baselines[other.work_order_id] - other.need >= min_earlier:
                baselines[other.work_order_id] = other.need
    return AlertDecision(raised, cleared), baselines


def _fmt(ts: datetime) -> str:
    return ts.strftime("%Y-%m-%d %H:%M UTC")
