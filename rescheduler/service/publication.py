"""The ``schedule.published`` outbox: each plan's event is stored in the plan's transaction and sent after.

Like the alert deliveries (``rescheduler.alerts.store``), the event is a pending row
(``plan_publication``) created in the transaction that writes the plan, published after the commit and
marked published only once Kafka has acknowledged it. A crash or an outage in between leaves it pending;
the service publishes pending events at start-up, before and after each replan and in each redelivery
round, oldest version first, the stored event as is (same event_id, so consumers de-duplicate).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from shopfloor.db.pool import Connection
from shopfloor.events import EventBase, SchedulePublishedEvent, parse_event, utcnow

log = logging.getLogger(__name__)

PublishEvent = Callable[[EventBase], None]
"""Puts an event on the bus and returns once the broker has acknowledged it (raises otherwise)."""


@dataclass(frozen=True, slots=True)
class PendingPublication:
    plan_id: str
    version: int
    event_id: uuid.UUID
    event_json: str
    attempt: int


def record_publication(conn: Connection, event: SchedulePublishedEvent) -> None:
    """Store the plan's event as pending (inside the caller's transaction, the one writing the plan)."""
    payload = event.payload
    conn.execute(
        "INSERT INTO plan_publication (plan_id, site_id, version, event_id, event) VALUES (%s, %s, %s, %s, %s)",
        (payload.plan_id, payload.site_id, payload.version, event.event_id, event.to_json().decode()),
    )


def pending_publications(conn: Connection, site_id: str) -> list[PendingPublication]:
    rows = conn.execute(
        "SELECT plan_id, version, event_id, event, attempt FROM plan_publication"
        " WHERE site_id = %s AND published_at IS NULL ORDER BY version",
        (site_id,),
    ).fetchall()
    return [PendingPublication(r[0], int(r[1]), r[2], r[3], int(r[4])) for r in rows]


def record_attempt(conn: Connection, plan_id: str, *, published_at: datetime | None, error: str = "") -> None:
    conn.execute(
        "UPDATE plan_publication SET attempt = attempt + 1, published_at = %s, last_error = %s WHERE plan_id = %s",
        (published_at, error[:1000], plan_id),
    )


def publish_pending(conn: Connection, site_id: str, publish: PublishEvent) -> tuple[int, int]:
    """Publish the site's pending plan events, oldest first; returns (published, failed).

    The first failure ends the round (failed is then 1): a later version never overtakes an earlier one
    on the bus. ``conn`` is not autocommit and is idle (each step commits on its own).
    """
    with conn.transaction():
        pending = pending_publications(conn, site_id)
    published = 0
    for item in pending:
        try:
            publish(parse_event(item.event_json))
        except Exception as exc:  # the broker did not take it: stays pending for the next round
            log.warning("publishing plan %s (attempt %d) failed: %s", item.plan_id, item.attempt + 1, exc)
            with conn.transaction():
                record_attempt(conn, item.plan_id, published_at=None, error=f"{type(exc).__name__}: {exc}")
            return published, 1
        with conn.transaction():
            record_attempt(conn, item.plan_id, published_at=utcnow())
        published += 1
    return published, 0
