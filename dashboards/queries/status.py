"""How fresh the data is, from the stream processors' heartbeats, or else from their newest writes.

The processors whose tables the pages read (the raw sink: states and counters; the utilization flow:
minutes and OEE) upsert ``processor_heartbeat`` every few seconds while they run. When they do, the data
is as fresh as the OLDEST of their beats: one processor down freezes part of the board, and a quiet plant
(nothing to write) is still live. Without any heartbeat row (processors that do not beat, fixture rows)
the newest write to the tables the pages read stands for it: it stops moving when the writers stop.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from shopfloor.db.pool import Connection

# The processors the pages depend on, by the name they beat under (streams.raw, streams.utilization,
# streams.orders); one that has never beaten here (not deployed) does not count.
PROCESSORS = ["raw", "utilization", "orders"]

_FRESHNESS = """
SELECT CASE WHEN EXISTS (SELECT 1 FROM processor_heartbeat WHERE processor = ANY(%(processors)s))
THEN (SELECT min(beat_at) FROM processor_heartbeat WHERE processor = ANY(%(processors)s))
ELSE greatest(
    (SELECT max(received_at) FROM machine_counter WHERE ts > %(since)s),
    (SELECT max(received_at) FROM machine_state WHERE ts > %(since)s),
    (SELECT max(updated_at) FROM machine_utilization_1m WHERE bucket > %(since)s),
    (SELECT max(updated_at) FROM workcenter_load WHERE ts > %(since)s),
    (SELECT max(updated_at) FROM order_pool_1m WHERE bucket > %(since)s)
) END
"""


def data_as_of(conn: Connection, now: datetime) -> datetime | None:
    row = conn.execute(_FRESHNESS, {"since": now - timedelta(hours=2), "processors": PROCESSORS}).fetchone()
    return row[0] if row else None
