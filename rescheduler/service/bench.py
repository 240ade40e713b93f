"""Measure replans on a generated order book in a scratch schema of the configured database.

    .venv/bin/python -m rescheduler.service.bench --orders 60 --time-limit 10

Seeds approved orders of random demo products (fixed seed), then times: the first plan, a replan with
nothing changed, and a replan after a heading press breaks down. The scratch schema is dropped after.
"""

from __future__ import annotations

import argparse
import random
import time
import uuid
from datetime import timedelta
from pathlib import Path

from psycopg import sql

from rescheduler.service.promise import CtpRequest, PlanContext, promise
from rescheduler.service.replan import Replanner, ReplanResult
from rescheduler.settings import ReschedulerSettings
from shopfloor.db.migrate import migrate
from shopfloor.db.pool import Connection, connect
from shopfloor.db.state import upsert_order, upsert_work_order
from shopfloor.events import OrderLine, OrderPayload, OrderStatus, WoReleasedPayload, utcnow
from shopfloor.plant import Plant, load_plant
from shopfloor.settings import PROJECT_ROOT, PostgresSettings


def seed(conn: Connection, plant: Plant, orders: int, rng: random.Random) -> None:
    now = utcnow()
    for i in range(orders):
        product = rng.choice(plant.products)
        customer = rng.choice(plant.customers)
        quantity = rng.randrange(5_000, 50_000, 1_000)
        due = now + timedelta(hours=rng.uniform(48, 14 * 24))
        order_id = f"B{i:04d}"
        upsert_order(
            conn,
            OrderPayload(
                order_id=order_id,
                version=1,
                customer_id=customer.id,
                lines=[OrderLine(line_no=1, product_id=product.id, quantity=quantity)],
                due_date=due,
                priority=rng.randint(1, 5),
                rush=rng.random() < 0.12,
                status=OrderStatus.APPROVED,
            ),
        )
        upsert_work_order(
            conn,
            WoReleasedPayload(
                work_order_id=f"WO-{order_id}",
                order_id=order_id,
                product_id=product.id,
                quantity=quantity,
                due_date=due,
                operations=plant.routing(product.id),
            ),
        )
    conn.commit()


def report(label: str, result: ReplanResult, wall: float) -> None:
    p = result.event.payload
    print(
        f"{label:<22} ops={p.operations:<4} status={p.status:<8} solve_s={result.solve_s:6.2f} "
        f"replan_s={wall:6.2f} late={len(p.late_orders):<3} moved={len(p.moved):<4} "
        f"wt_min={p.weighted_tardiness_min:.0f}"
    )


def time_promises(plant: Plant, result: ReplanResult, rng: random.Random, count: int = 50) -> None:
    """Capable-to-promise latency against that plan, for random products and quantities."""
    context = PlanContext(
        result.plan_id, result.version, result.event.ts, result.plan_input, result.ops, [], result.standard_times
    )
    t0 = time.perf_counter()
    for _ in range(count):
        request = CtpRequest(
            product_id=rng.choice(plant.products).id,
            quantity=rng.randrange(1_000, 50_000, 1_000),
            customer_id=rng.choice(plant.customers).id,
        )
        promise(plant, context, request, utcnow())
    print(f"capable-to-promise     {count} requests, {(time.perf_counter() - t0) / count * 1000:.1f} ms each")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--plant", type=Path, default=PROJECT_ROOT / "infra" / "plants" / "demo.yaml")
    parser.add_argument("--orders", type=int, default=60)
    parser.add_argument("--time-limit", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    plant = load_plant(args.plant)
    pg = PostgresSettings().model_copy(update={"db_schema": f"bench_{uuid.uuid4().hex[:8]}"})
    settings = ReschedulerSettings(time_limit_s=args.time_limit)
    migrate(pg)
    try:
        with connect(pg) as conn:
            seed(conn, plant, args.orders, random.Random(args.seed))
            replanner = Replanner(plant, settings)
            for label in ("first plan", "replan, no change"):
                t0 = time.perf_counter()
                report(label, replanner.replan(conn, label), time.perf_counter() - t0)
            conn.execute("INSERT INTO machine_current_state VALUES ('H2', 'FAULT', now(), gen_random_uuid())")
            conn.commit()
            t0 = time.perf_counter()
            result = replanner.replan(conn, "H2 FAULT")
            report("replan, H2 in FAULT", result, time.perf_counter() - t0)
            time_promises(plant, result, rng=random.Random(args.seed))
    finally:
        with connect(pg, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(pg.db_schema)))


if __name__ == "__main__":
    main()
