"""What the hub remembers of channel webhook deliveries: idempotency keys and signatures already seen."""

from __future__ import annotations

import random
from dataclasses import dataclass

from shopfloor.db.pool import Connection


@dataclass(frozen=True, slots=True)
class Delivery:
    channel: str
    # The channel's Idempotency-Key header, else its order id.
    key: str
    body_sha256: str
    signature: str


def first_sight(conn: Connection, delivery: Delivery) -> bool:
    """Record the request's signature; False when the very same signed request came before (a replay)."""
    row = conn.execute(
        "INSERT INTO channel_signature_seen (signature, channel) VALUES (%s, %s) ON CONFLICT DO NOTHING RETURNING 1",
        (delivery.signature, delivery.channel),
    ).fetchone()
    return row is not None


def delivered(conn: Connection, delivery: Delivery) -> str | None:
    row = conn.execute(
        "SELECT order_id FROM channel_delivery WHERE channel = %s AND idempotency_key = %s",
        (delivery.channel, delivery.key),
    ).fetchone()
    return str(row[0]) if row else None


def record_delivery(conn: Connection, delivery: Delivery, order_id: str) -> None:
    conn.execute(
        "INSERT INTO channel_delivery (channel, idempotency_key, order_id, body_sha256) VALUES (%s, %s, %s, %s)",
        (delivery.channel, delivery.key, order_id, delivery.body_sha256),
    )


def forget_old_signatures(conn: Connection, tolerance_s: int, share: float = 0.01) -> None:
    """Now and then, drop signatures older than twice the tolerance: their requests are refused as old."""
    if random.random() < share:
        conn.execute(
            "DELETE FROM channel_signature_seen WHERE received_at < now() - make_interval(secs => %s)",
            (2 * tolerance_s,),
        )
