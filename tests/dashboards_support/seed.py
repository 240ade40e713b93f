"""A plausible plant at one moment, written as fixture rows: what the board, Gantt and order pages show."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta

from shopfloor.db.pool import Connection, connect
from tests.dashboards_support.writer import FixtureFeed

STATES = ["RUNNING", "RUNNING", "RUNNING", "IDLE", "SETUP", "RUNNING", "STOPPED", "RUNNING", "MAINTENANCE"]


def seed(feed: FixtureFeed, now: datetime) -> None:
    plant = feed.plant
    machines = [m.id for m in plant.all_machines()]
    with connect(feed.pg) as conn:
        for i, machine_id in enumerate(machines):
            # A downtime episode early in the shift with a reason, then the machine's present state.
            feed.write_state(
                conn,
                machine_id,
                "FAULT" if i % 5 == 0 else "STOPPED",
                "die_change" if i % 2 else "material_wait",
                at=now - timedelta(minutes=50),
            )
            feed.write_state(conn, machine_id, STATES[i % len(STATES)], None, at=now - timedelta(minutes=40 - i % 30))
            for minute in range(0, 120, 10):
                for signal in plant.machine(machine_id).process:
                    conn.execute(
                        "INSERT INTO machine_process (event_id, ts, machine_id, name, value, unit, source, seq)"
                        " VALUES (%s, %s, %s, %s, %s, %s, 'fixture', %s)",
                        (
                            uuid.uuid4(),
                            now - timedelta(minutes=minute),
                            machine_id,
                            signal.name,
                            signal.nominal + (minute % 7 - 3) * signal.spread / 3,
                            signal.unit,
                            minute,
                        ),
                    )
            for minute in range(0, 60, 3):
                bucket = (now - timedelta(minutes=minute)).replace(second=0, microsecond=0)
                feed.write_utilization(
                    conn, machine_id, bucket, running_s=float((i * 7 + minute) % 61), oee=0.5 + (i % 5) / 10
                )
        bucket = now.replace(second=0, microsecond=0)
        for status, priority, orders, rush in (
            ("approved", 3, 41, 5),
            ("in_production", 3, 27, 3),
            ("pending_approval", 2, 6, 1),
            ("approved", 1, 4, 4),
        ):
            conn.execute(
                "INSERT INTO order_pool_1m (bucket, status, priority, orders, rush_orders, work_orders, quantity)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s)",
                (bucket, status, priority, orders, rush, orders * 2, orders * 10000),
            )
        for wc in plant.workcenters:
            conn.execute(
                "INSERT INTO workcenter_load (workcenter_id, ts, queued_hours, capacity_hours) VALUES (%s, %s, %s, %s)",
                (wc.id, now, 30.0 if wc.bottleneck else 8.0, 16.0 * len(wc.machine_ids)),
            )
        conn.execute(
            "INSERT INTO bottleneck (workcenter_id, machine_id, active, load_hours, capacity_hours, full_for_hours,"
            " cause, event_id, event_ts) VALUES ('WC-HEAD', 'H2', true, 180, 120, 72,"
            " 'heading press H2 full for 3 days', %s, %s)",
            (uuid.uuid4(), now - timedelta(hours=2)),
        )
        _orders(conn, plant.site_id, now)
        conn.commit()


def _orders(conn: Connection, site_id: str, now: datetime) -> None:
    machines = ["H1", "H2", "R1", "F1", "P1"]
    for plan_no, version in ((1, 1), (2, 2)):
        conn.execute(
            "INSERT INTO schedule_plan (plan_id, site_id, version, created_at, status, is_current)"
            " VALUES (%s, %s, %s, %s, 'OPTIMAL', false)",
            (f"plan-{plan_no}", site_id, version, now - timedelta(minutes=30 * (3 - plan_no))),
        )
    for n in range(12):
        order_id, wo = f"SO-{1000 + n}", f"WO-{1000 + n}"
        customer = f"CUST-{n % 4:03d}"
        due = now + timedelta(days=1 + n % 4)
        rush = n % 5 == 0
        status = "done" if n < 3 else "in_production"
        conn.execute(
            "INSERT INTO customer_order (order_id, version, customer_id, due_date, priority, rush, status, channel)"
            " VALUES (%s, 2, %s, %s, 3, %s, %s, 'web')",
            (order_id, customer, due if n >= 3 else now - timedelta(hours=n), rush, status),
        )
        conn.execute(
            "INSERT INTO order_line (order_id, line_no, product_id, quantity) VALUES (%s, 1, 'BOLT-M8', %s)",
            (order_id, 5000 + n * 100),
        )
        for version, kind in ((1, "order.created"), (2, "order.changed")):
            conn.execute(
                "INSERT INTO order_version (order_id, version, event_type, snapshot) VALUES (%s, %s, %s, %s)",
                (order_id, version, kind, json.dumps({"order_id": order_id, "version": version})),
            )
        finished = now - timedelta(hours=2 * n + 1) if n < 3 else None
        conn.execute(
            "INSERT INTO work_order (work_order_id, order_id, product_id, quantity, due_date, priority, rush, status,"
            " actual_finish) VALUES (%s, %s, 'BOLT-M8', %s, %s, 3, %s, %s, %s)",
            (wo, order_id, 5000 + n * 100, due, rush, "done" if n < 3 else "released", finished),
        )
        for seq, wc in ((10, "WC-HEAD"), (20, "WC-ROLL")):
            conn.execute(
                "INSERT INTO operation (work_order_id, seq, name, workcenter_id, eligible_machines, unit_min, status)"
                " VALUES (%s, %s, %s, %s, %s, 0.01, %s)",
                (
                    wo,
                    seq,
                    "heading" if seq == 10 else "rolling",
                    wc,
                    ["H1", "H2"] if seq == 10 else ["R1"],
                    "done" if n < 3 else "pending",
                ),
            )
        if n < 3:
            continue
        for plan_no in (1, 2):
            shift = timedelta(hours=1) if plan_no == 2 and n % 3 == 0 else timedelta(0)
            for seq in (10, 20):
                if plan_no == 1 and n == 11:
                    continue  # new in plan 2
                start = now + timedelta(hours=(n - 3) * 2 + (seq // 10 - 1) * 3) + shift
                conn.execute(
                    "INSERT INTO scheduled_operation (plan_id, work_order_id, seq, machine_id, start_ts, end_ts,"
                    " frozen, late) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                    (
                        f"plan-{plan_no}",
                        wo,
                        seq,
                        machines[(n + seq // 10) % 2] if seq == 10 else "R1",
                        start,
                        start + timedelta(hours=2),
                        n == 3,
                        n == 8,
                    ),
                )
        conn.execute(
            "INSERT INTO planned_order (plan_id, order_id, customer_id, due, projected, late, cause)"
            " VALUES ('plan-2', %s, %s, %s, %s, %s, %s)",
            (
                order_id,
                customer,
                due,
                due + timedelta(hours=20) if n == 8 else due - timedelta(hours=3),
                n == 8,
                "heading press H2 full for 3 days" if n == 8 else "",
            ),
        )
    conn.execute("UPDATE schedule_plan SET is_current = true WHERE plan_id = 'plan-2'")
    conn.execute(
        "INSERT INTO alert (alert_id, kind, audience, order_id, customer_id, due, projected, cause, fingerprint, state)"
        " VALUES ('al-1', 'order.late', 'sales', 'SO-1008', 'CUST-000', %s, %s, 'heading press H2 full for 3 days',"
        " 'fp1', 'raised')",
        (now + timedelta(days=1), now + timedelta(days=2)),
    )
