"""Alerts in the database: open alerts, applying a decision, and the deliveries still pending.

A decision is applied in the same transaction as the plan that caused it, and every channel the alert
must reach gets a pending ``alert_delivery`` row there too. Delivery happens after the commit and
records its outcome, so a crash between the two leaves the delivery pending, never lost nor doubled.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from rescheduler.alerts.decide import AlertDecision, OpenAlert
from shopfloor.db.pool import Connection
from shopfloor.events import AlertKind, Audience


class Channel(StrEnum):
    KAFKA = "kafka"
    WEBHOOK = "webhook"
    EMAIL = "email"


class Transition(StrEnum):
    RAISED = "raised"
    CLEARED = "cleared"


@dataclass(frozen=True, slots=True)
class StoredAlert:
    alert_id: str
    kind: AlertKind
    audience: Audience
    order_id: str
    customer_id: str | None
    due: datetime | None
    projected: datetime | None
    need: datetime | None
    cause: str
    clear_reason: str


@dataclass(frozen=True, slots=True)
class PendingDelivery:
    alert: StoredAlert
    transition: Transition
    channel: Channel
    attempt: int


def open_alerts(conn: Connection) -> list[OpenAlert]:
    rows = conn.execute(
        "SELECT alert_id, kind, audience, order_id, fingerprint FROM alert WHERE state = 'raised'"
    ).fetchall()
    return [OpenAlert(r[0], AlertKind(r[1]), Audience(r[2]), r[3], r[4]) for r in rows]


def apply_decision(
    conn: Connection,
    decision: AlertDecision,
    plan_id: str,
    now: datetime,
    channels: dict[Audience, list[Channel]],
) -> None:
    """Store raised and cleared alerts with their pending deliveries (inside the caller's transaction)."""
    for clear in decision.clear:
        updated = conn.execute(
            "UPDATE alert SET state = 'cleared', cleared_at = %s, clear_reason = %s"
            " WHERE alert_id = %s AND state = 'raised'",
            (now, clear.reason, clear.alert_id),
        )
        if updated.rowcount:
            _add_deliveries(conn, clear.alert_id, Transition.CLEARED, channels.get(clear.audience, []))
    for new in decision.raise_:
        inserted = conn.execute(
            """
            INSERT INTO alert (alert_id, kind, audience, order_id, customer_id, due, projected, need, cause,
                               fingerprint, state, plan_id, raised_at)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 'raised', %s, %s)
            ON CONFLICT (alert_id) DO NOTHING
            """,
            (
                new.alert_id,
                new.kind.value,
                new.audience.value,
                new.order_id,
                new.customer_id,
                new.due,
                new.projected,
                new.need,
                new.cause,
                new.fingerprint,
                plan_id,
                now,
            ),
        )
        if inserted.rowcount:
            _add_deliveries(conn, new.alert_id, Transition.RAISED, channels.get(new.audience, []))


def _add_deliveries(conn: Connection, alert_id: str, transition: Transition, channels: list[Channel]) -> None:
    for channel in channels:
        conn.execute(
            "INSERT INTO alert_delivery (alert_id, transition, channel) VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
            (alert_id, transition.value, channel.value),
        )


def pending_deliveries(conn: Connection, max_attempts: int = 50) -> list[PendingDelivery]:
    rows = conn.execute(
        """
        SELECT a.alert_id, a.kind, a.audience, a.order_id, a.customer_id, a.due, a.projected, a.need, a.cause,
               a.clear_reason, d.transition, d.channel, d.attempt
        FROM alert_delivery d JOIN alert a USING (alert_id)
        WHERE d.delivered_at IS NULL AND d.attempt < %s
        ORDER BY a.raised_at, a.alert_id, d.transition DESC, d.channel
        """,
        (max_attempts,),
    ).fetchall()
    return [
        PendingDelivery(
            StoredAlert(r[0], AlertKind(r[1]), Audience(r[2]), r[3], r[4], r[5], r[6], r[7], r[8], r[9]),
            Transition(r[10]),
            Channel(r[11]),
            int(r[12]),
        )
        for r in rows
    ]


def record_delivery(
    conn: Connection, delivery: PendingDelivery, *, delivered_at: datetime | None, error: str = ""
) -> None:
    conn.execute(
        """
        UPDATE alert_delivery SET attempt = attempt + 1, delivered_at = %s, last_error = %s
        WHERE alert_id = %s AND transition = %s AND channel = %s
        """,
        (delivered_at, error[:1000], delivery.alert.alert_id, delivery.transition.value, delivery.channel.value),
    )
