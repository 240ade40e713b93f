"""How fresh the data is: the newest write any stream processor made to the tables the pages read.

Raw counters arrive every few seconds while the plant runs, aggregates every minute, so the newest
of these is a heartbeat of the whole pipeline: when the processors stop, it stops moving.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from shopfloor.db.pool import Connection

_FRESHNESS = """
SELECT greatest(
    (SELECT max(received_at) FROM machine_counter WHERE ts > %(since)s),
    (SELECT max(received_at) FROM machine_state WHERE ts > %(since)s),
    (SELECT max(updated_at) FROM machine_utilization_1m WHERE bucket > %(since)s),
    (SELECT max(updated_at) FROM workcenter_load WHERE ts > %(since)s),
    (SELECT max(updated_at) FROM order_pool_1m WHERE bucket > %(since)s)
)
"""


def data_as_of(conn: Connection, now: datetime) -> datetime | None:
    row = conn.execute(_FRESHNESS, {"since": now - timedelta(hours=2)}).fetchone()
    return row[0] if row else None
