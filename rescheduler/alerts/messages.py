"""What an alert says: the event on the bus (also the webhook body) and the e-mail text."""

from __future__ import annotations

import itertools
import time
import uuid
from datetime import datetime

from rescheduler.alerts.store import StoredAlert, Transition
from shopfloor.events import (
    AlertClearedEvent,
    AlertClearedPayload,
    AlertKind,
    AlertRaisedEvent,
    AlertRaisedPayload,
    utcnow,
)

SOURCE = "rescheduler"
_EVENT_NAMESPACE = uuid.UUID("0d7e3f52-52a4-4d5c-a7c4-0f1b7f0c9e21")
# Per-source sequence: milliseconds at start, so it keeps increasing across restarts.
_seq = itertools.count(int(time.time() * 1000))


def _fmt(ts: datetime | None) -> str:
    return ts.strftime("%Y-%m-%d %H:%M UTC") if ts else "?"


def describe(alert: StoredAlert) -> str:
    """One sentence for people."""
    if alert.kind is AlertKind.ORDER_LATE:
        customer = f" of customer {alert.customer_id}" if alert.customer_id else ""
        return (
            f"Order {alert.order_id}{customer} will be late: due {_fmt(alert.due)}, "
            f"now projected {_fmt(alert.projected)}. Cause: {alert.cause or 'unknown'}."
        )
    return f"Material for order {alert.order_id} is needed earlier, by {_fmt(alert.need)}: {alert.cause}."


def subject(alert: StoredAlert, transition: Transition) -> str:
    if transition is Transition.CLEARED:
        what = "back on time" if alert.kind is AlertKind.ORDER_LATE else "material alert cleared"
        return f"[shopfloor] Order {alert.order_id}: {what}"
    if alert.kind is AlertKind.ORDER_LATE:
        return f"[shopfloor] Order {alert.order_id} late: projected {_fmt(alert.projected)} (due {_fmt(alert.due)})"
    return f"[shopfloor] Order {alert.order_id}: material needed by {_fmt(alert.need)}"


def event_for(alert: StoredAlert, transition: Transition) -> AlertRaisedEvent | AlertClearedEvent:
    """The bus event of a transition; its id is derived from alert and transition so retries de-duplicate."""
    event_id = uuid.uuid5(_EVENT_NAMESPACE, f"{alert.alert_id}:{transition.value}")
    common = {"event_id": event_id, "source": SOURCE, "seq": next(_seq), "ts": utcnow()}
    if transition is Transition.RAISED:
        return AlertRaisedEvent(
            **common,
            payload=AlertRaisedPayload(
                alert_id=alert.alert_id,
                kind=alert.kind,
                audience=alert.audience,
                order_id=alert.order_id,
                customer_id=alert.customer_id,
                due_date=alert.due,
                projected_date=alert.projected,
                need_date=alert.need,
                cause=alert.cause[:512],
                message=describe(alert)[:2048],
            ),
        )
    return AlertClearedEvent(
        **common,
        payload=AlertClearedPayload(
            alert_id=alert.alert_id,
            kind=alert.kind,
            audience=alert.audience,
            order_id=alert.order_id,
            reason=alert.clear_reason[:512],
        ),
    )


def email_text(alert: StoredAlert, transition: Transition) -> str:
    if transition is Transition.CLEARED:
        return f"Alert {alert.alert_id} for order {alert.order_id} is cleared: {alert.clear_reason or 'resolved'}.\n"
    return describe(alert) + f"\n\nAlert {alert.alert_id}\n"
