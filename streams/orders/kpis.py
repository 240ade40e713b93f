"""Load-board figures written on timers: workcenter load, pending work per workshop, order pool, OTD.

Each is recomputed from the current-state tables and written as a replacing upsert keyed by what it
is about (workcenter and horizon, workshop, minute bucket and group, period): the value in the table
is always "what it is now", however often a timer fires or a worker restarts.
"""

from __future__ import annotations

from datetime import datetime

from shopfloor.db.pool import Connection
from shopfloor.plant import Plant
from streams.orders.load import HorizonLoad


def minute(at: datetime) -> datetime:
    return at.replace(second=0, microsecond=0)


def write_loads(conn: Connection, loads: list[HorizonLoad], now: datetime, series_horizon: str) -> None:
    """The horizon table (current) and one ``workcenter_load`` row per workcenter per minute."""
    with conn.cursor() as cursor:
        cursor.executemany(
            """
            INSERT INTO workcenter_horizon_load (workcenter_id, horizon, horizon_end, queued_hours, capacity_hours,
                                                 load_ratio, full_for_hours, machines_down, updated_at)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
            ON CONFLICT (workcenter_id, horizon) DO UPDATE SET
                horizon_end = EXCLUDED.horizon_end, queued_hours = EXCLUDED.queued_hours,
                capacity_hours = EXCLUDED.capacity_hours, load_ratio = EXCLUDED.load_ratio,
                full_for_hours = EXCLUDED.full_for_hours, machines_down = EXCLUDED.machines_down,
                updated_at = EXCLUDED.updated_at
            """,
            [
                (
                    x.workcenter_id,
                    x.horizon,
                    x.horizon_end,
                    x.queued_hours,
                    x.capacity_hours,
                    x.load_ratio,
                    x.full_for_hours,
                    list(x.machines_down),
                    now,
                )
                for x in loads
            ],
        )
        cursor.executemany(
            """
            INSERT INTO workcenter_load (workcenter_id, ts, queued_hours, capacity_hours, updated_at)
            VALUES (%s, %s, %s, %s, %s)
            ON CONFLICT (workcenter_id, ts) DO UPDATE SET
                queued_hours = EXCLUDED.queued_hours, capacity_hours = EXCLUDED.capacity_hours,
                updated_at = EXCLUDED.updated_at
            """,
            [
                (x.workcenter_id, minute(now), x.queued_hours, x.capacity_hours, now)
                for x in loads
                if x.horizon == series_horizon
            ],
        )


_PENDING_SQL = """
SELECT DISTINCT ON (o.work_order_id) o.work_order_id, o.workcenter_id
FROM operation o JOIN work_order w USING (work_order_id)
WHERE o.status <> 'done' AND w.status NOT IN ('done', 'cancelled')
ORDER BY o.work_order_id, o.seq
"""


def write_workshop_pending(conn: Connection, plant: Plant, loads: list[HorizonLoad], now: datetime) -> None:
    """Per workshop: work orders whose next open step is there, their count of steps, the queued hours."""
    pending: dict[str, int] = {}
    known = {w.id for w in plant.workcenters}
    for _wo, wc in conn.execute(_PENDING_SQL):
        if wc in known:
            shop_id = plant.workcenter(wc).workshop_id
            pending[shop_id] = pending.get(shop_id, 0) + 1
    operations: dict[str, int] = dict(
        conn.execute(
            "SELECT o.workcenter_id, count(*) FROM operation o JOIN work_order w USING (work_order_id) "
            "WHERE o.status <> 'done' AND w.status NOT IN ('done', 'cancelled') GROUP BY o.workcenter_id"
        ).fetchall()
    )
    queued = {x.workcenter_id: x.queued_hours for x in loads}
    rows = []
    for shop in plant.workshops:
        wcs = [wc.id for wc in plant.workcenters if wc.workshop_id == shop.id]
        rows.append(
            (
                shop.id,
                pending.get(shop.id, 0),
                sum(int(operations.get(wc, 0)) for wc in wcs),
                sum(queued.get(wc, 0.0) for wc in wcs),
                now,
            )
        )
    with conn.cursor() as cursor:
        cursor.executemany(
            """
            INSERT INTO workshop_pending (workshop_id, pending_work_orders, queued_operations, queued_hours, updated_at)
            VALUES (%s, %s, %s, %s, %s)
            ON CONFLICT (workshop_id) DO UPDATE SET
                pending_work_orders = EXCLUDED.pending_work_orders, queued_operations = EXCLUDED.queued_operations,
                queued_hours = EXCLUDED.queued_hours, updated_at = EXCLUDED.updated_at
            """,
            rows,
        )


def write_order_pool(conn: Connection, now: datetime) -> None:
    """This minute's order pool: by status and priority, and by channel and status."""
    bucket = minute(now)
    conn.execute(
        """
        INSERT INTO order_pool_1m (bucket, status, priority, orders, rush_orders, work_orders, quantity, updated_at)
        SELECT %(bucket)s, o.status, o.priority, count(*), count(*) FILTER (WHERE o.rush),
               COALESCE(sum(wo.n), 0), COALESCE(sum(l.qty), 0), %(now)s
        FROM customer_order o
        LEFT JOIN (SELECT order_id, count(*) AS n FROM work_order GROUP BY order_id) wo USING (order_id)
        LEFT JOIN (SELECT order_id, sum(quantity) AS qty FROM order_line GROUP BY order_id) l USING (order_id)
        GROUP BY o.status, o.priority
        ON CONFLICT (bucket, status, priority) DO UPDATE SET
            orders = EXCLUDED.orders, rush_orders = EXCLUDED.rush_orders, work_orders = EXCLUDED.work_orders,
            quantity = EXCLUDED.quantity, updated_at = EXCLUDED.updated_at
        """,
        {"bucket": bucket, "now": now},
    )
    conn.execute(
        """
        INSERT INTO order_pool_channel_1m (bucket, channel, status, orders, rush_orders, quantity, updated_at)
        SELECT %(bucket)s, o.channel, o.status, count(*), count(*) FILTER (WHERE o.rush),
               COALESCE(sum(l.qty), 0), %(now)s
        FROM customer_order o
        LEFT JOIN (SELECT order_id, sum(quantity) AS qty FROM order_line GROUP BY order_id) l USING (order_id)
        GROUP BY o.channel, o.status
        ON CONFLICT (bucket, channel, status) DO UPDATE SET
            orders = EXCLUDED.orders, rush_orders = EXCLUDED.rush_orders, quantity = EXCLUDED.quantity,
            updated_at = EXCLUDED.updated_at
        """,
        {"bucket": bucket, "now": now},
    )


def write_on_time_delivery(conn: Connection, timezone: str) -> None:
    """Delivered and on-time orders per plant-local week (ISO, from Monday) and month."""
    conn.execute(
        """
        WITH delivered AS (
            SELECT o.order_id, o.due_date, max(w.actual_finish) AS finished
            FROM customer_order o JOIN work_order w USING (order_id)
            WHERE o.status <> 'cancelled'
            GROUP BY o.order_id, o.due_date
            HAVING bool_and(w.status IN ('done', 'cancelled')) AND bool_or(w.status = 'done')
               AND max(w.actual_finish) IS NOT NULL
        )
        INSERT INTO on_time_delivery (period, period_start, delivered, on_time, on_time_pct, updated_at)
        SELECT p.period, date_trunc(p.period, d.finished AT TIME ZONE %(tz)s)::date, count(*),
               count(*) FILTER (WHERE d.finished <= d.due_date),
               100.0 * count(*) FILTER (WHERE d.finished <= d.due_date) / count(*), now()
        FROM delivered d CROSS JOIN (VALUES ('week'), ('month')) AS p(period)
        GROUP BY 1, 2
        ON CONFLICT (period, period_start) DO UPDATE SET
            delivered = EXCLUDED.delivered, on_time = EXCLUDED.on_time, on_time_pct = EXCLUDED.on_time_pct,
            updated_at = EXCLUDED.updated_at
        """,
        {"tz": timezone},
    )
