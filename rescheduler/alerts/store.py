"""Alerts in the database: open alerts, applying a decision, and the deliveries still pending.

A decision is applied in the same transaction as the plan that caused it, and every channel the alert
must reach gets a pending ``alert_delivery`` row there too. Delivery happens after the commit and
records its outcome, so a crash between the two leaves the delivery pending, never lost nor doubled.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from rescheduler.alerts.decide import AlertDecision, MaterialNeed, OpenAlert
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


def pending_deliveries(conn: Connection, now: datetime) -> list[PendingDelivery]:
    """Deliveries not yet made whose next attempt is due. None is ever given up: a delivery is retried
    until it succeeds, with a growing pause (see :func:`record_delivery`)."""
    rows = conn.execute(
        """
        SELECT a.alert_id, a.kind, a.audience, a.order_id, a.customer_id, a.due, a.projected, a.need, a.cause,
               a.clear_reason, d.transition, d.channel, d.attempt
        FROM alert_delivery d JOIN alert a USING (alert_id)
        WHERE d.delivered_at IS NULL AND d.next_attempt_at <= %s
        ORDER BY a.raised_at, a.alert_id, d.transition DESC, d.channel
        """,
        (now,),
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


def retry_pause(attempt: int, base_s: float, max_s: float) -> timedelta:
    """Pause after the ``attempt``-th failure (1-based): base, doubling, capped."""
    return timedelta(seconds=min(max_s, base_s * 2 ** min(attempt - 1, 30)))


@dataclass(frozen=True, slots=True)
class DeliveryOutcome:
    attempt: int
    # True when this failure made the delivery count as failing (it is then logged once, loudly).
    became_failing: bool


def record_delivery(
    conn: Connection,
    delivery: PendingDelivery,
    *,
    now: datetime,
    delivered: bool,
    error: str = "",
    retry_base_s: float = 5.0,
    retry_max_s: float = 900.0,
    failing_after: int = 5,
) -> DeliveryOutcome:
    """Record one attempt and update the alert's delivery state: ``delivered`` once every channel is,
    ``failing`` while any channel has failed ``failing_after`` times or more, else ``pending``."""
    attempt = delivery.attempt + 1
    conn.execute(
        """
        UPDATE alert_delivery SET attempt = %s, delivered_at = %s, last_error = %s, next_attempt_at = %s
        WHERE alert_id = %s AND transition = %s AND channel = %s
        """,
        (
            attempt,
            now if delivered else None,
            "" if delivered else error[:1000],
            now if delivered else now + retry_pause(attempt, retry_base_s, retry_max_s),
            delivery.alert.alert_id,
            delivery.transition.value,
            delivery.channel.value,
        ),
    )
    conn.execute(
        """
        UPDATE alert a SET delivery_state = CASE
            WHEN NOT EXISTS (SELECT 1 FROM alert_delivery d WHERE d.alert_id = a.alert_id AND d.delivered_at IS NULL)
                THEN 'delivered'
            WHEN EXISTS (SELECT 1 FROM alert_delivery d WHERE d.alert_id = a.alert_id AND d.delivered_at IS NULL
                         AND d.attempt >= %s) THEN 'failing'
            ELSE 'pending' END
        WHERE a.alert_id = %s
        """,
        (failing_after, delivery.alert.alert_id),
    )
    return DeliveryOutcome(attempt, became_failing=not delivered and attempt == failing_after)


def failing_deliveries(conn: Connection, failing_after: int) -> int:
    row = conn.execute(
        "SELECT count(*) FROM alert_delivery WHERE delivered_at IS NULL AND attempt >= %s", (failing_after,)
    ).fetchone()
    return int(row[0]) if row else 0


def material_baselines(conn: Connection) -> dict[str, datetime]:
    """The need date purchasing knows, per work order."""
    return {str(r[0]): r[1] for r in conn.execute("SELECT work_order_id, need FROM material_baseline").fetchall()}


def store_material_baselines(
    conn: Connection, baselines: dict[str, datetime], needs: list[MaterialNeed], plan_id: str
) -> None:
    """Keep the baselines of the work orders that still need material; forget the rest (started or gone)."""
    order_of = {n.work_order_id: n.order_id for n in needs}
    conn.execute("DELETE FROM material_baseline WHERE NOT (work_order_id = ANY(%s))", (list(order_of),))
    with conn.cursor() as cur:
        cur.executemany(
            """
            INSERT INTO material_baseline (work_order_id, order_id, need, plan_id) VALUES (%s, %s, %s, %s)
            ON CONFLICT (work_order_id) DO UPDATE SET need = EXCLUDED.need, plan_id = EXCLUDED.plan_id,
                updated_at = now()
            WHERE material_baseline.need IS DISTINCT FROM EXCLUDED.need
            """,
            [(wo, order_of[wo], need, plan_id) for wo, need in baselines.items() if wo in order_of],
        )
