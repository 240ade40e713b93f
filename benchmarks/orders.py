"""Orders created per second through the hub's API and its channel webhook, p50/p99 latency, at 1 and 16
concurrent clients, beside a bare FastAPI endpoint doing one INSERT, all measured in the same run.

    .venv/bin/python benchmarks/orders.py [--seconds 10] [--clients 1,16] [--private-pg]

Runs against the PostgreSQL of the settings (SHOPFLOOR_PG_*) in a throwaway schema dropped at the end, or
with ``--private-pg`` against a PostgreSQL of its own on a free port. Each app is served by uvicorn over
real HTTP on loopback (as production would be), each client an httpx.AsyncClient keeping its connection.
Goal (issue 16): >= 300 orders/s at 16 clients with p99 < 100 ms, and >= 0.3 of the bare endpoint's rate.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path and its name would hide the orders package.
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)

import argparse
import asyncio
import json
import shutil
import socket
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI, status
from psycopg import sql
from psycopg_pool import ConnectionPool

from orders import OrdersSettings, make_app
from shopfloor.auth import Role, StaticTokenStore, signed_headers
from shopfloor.db.migrate import migrate
from shopfloor.db.pool import Connection, connect, make_pool
from shopfloor.settings import PostgresSettings, StackSettings
from shopfloor.stack.postgres import PostgresServer

SECRET = "bench-secret"
ORDER: dict[str, Any] = {
    "customer_id": "CUST-001",
    "lines": [{"product_id": "HB-M6x20", "quantity": 1000, "unit_price": "0.12"}],
    "due_date": "2026-12-20T00:00:00Z",
    "priority": 3,
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bare_app(pool: ConnectionPool[Connection]) -> FastAPI:
    """The baseline: one pydantic-free INSERT and commit per request, same pool, same server."""
    app = FastAPI()

    @app.post("/bare", status_code=status.HTTP_201_CREATED)
    def bare(body: dict[str, Any]) -> dict[str, str]:
        with pool.connection() as conn:
            conn.execute("INSERT INTO bench_bare (id, body) VALUES (%s, %s)", (str(uuid.uuid4()), json.dumps(body)))
        return {"status": "ok"}

    return app


@contextmanager
def served(app: FastAPI) -> Iterator[str]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


Request = Callable[[int], tuple[str, bytes, dict[str, str]]]


async def load(base: str, make: Request, clients: int, seconds: float) -> tuple[int, list[float], int]:
    """(requests that succeeded, their latencies in ms, failures) over ``seconds``."""
    latencies: list[float] = []
    failures = 0
    counter = iter(range(10**9))
    deadline = time.perf_counter() + seconds

    async def client() -> None:
        nonlocal failures
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            while time.perf_counter() < deadline:
                path, body, headers = make(next(counter))
                t0 = time.perf_counter()
                response = await http.post(path, content=body, headers=headers)
                if response.status_code in (200, 201):
                    latencies.append((time.perf_counter() - t0) * 1000)
                else:
                    failures += 1

    await asyncio.gather(*(client() for _ in range(clients)))
    return len(latencies), latencies, failures


def api_request(token: str) -> Request:
    body = json.dumps(ORDER).encode()
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    return lambda i: ("/orders", body, headers)


def webhook_request() -> Request:
    def make(i: int) -> tuple[str, bytes, dict[str, str]]:
        doc = {
            "order_ref": f"B-{uuid.uuid4().hex}",
            "customer": "CUST-003",
            "need_by": "2026-12-20T00:00:00Z",
            "items": [{"product": "HB-M8x30", "qty": 2000, "unit_price": 0.21}],
        }
        body = json.dumps(doc).encode()
        return (
            "/channels/distributor/orders",
            body,
            {
                "Content-Type": "application/json",
                **signed_headers(SECRET.encode(), int(time.time()), body),
            },
        )

    return make


def bare_request() -> Request:
    body = json.dumps(ORDER).encode()
    return lambda i: ("/bare", body, {"Content-Type": "application/json"})


def pct(values: list[float], q: int) -> float:
    if not values:
        return float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


@contextmanager
def database(private: bool) -> Iterator[PostgresSettings]:
    if not private:
        yield PostgresSettings(db_schema=f"bench_{uuid.uuid4().hex[:8]}")
        return
    state = Path(tempfile.mkdtemp(prefix="orders-bench-"))
    state.chmod(0o755)  # PostgreSQL runs as its own user when we are root
    port = free_port()
    pg = PostgresSettings(port=port)
    server = PostgresServer(StackSettings(state_dir=state, pg_port=port), pg)
    server.start(timeout=60)
    try:
        yield pg.model_copy(update={"db_schema": "bench"})
    finally:
        server.stop()
        shutil.rmtree(state, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", default="1,16")
    parser.add_argument("--private-pg", action="store_true")
    args = parser.parse_args()
    levels = [int(c) for c in args.clients.split(",")]
    with database(args.private_pg) as pg:
        try:
            migrate(pg)
            with connect(pg) as conn:
                conn.execute("CREATE TABLE bench_bare (id text PRIMARY KEY, body jsonb NOT NULL)")
                conn.commit()
            tokens = StaticTokenStore()
            token = tokens.add("bench", [Role.SALES])
            settings = OrdersSettings.model_validate({"channel_secrets": {"distributor": SECRET}})
            sized = pg.model_copy(update={"pool_min": 4, "pool_max": 16})
            with make_pool(sized, name="bench") as pool:
                hub, bare = make_app(settings, pool, tokens=tokens), bare_app(pool)
                with served(hub) as hub_url, served(bare) as bare_url:
                    runs = [
                        ("bare INSERT", bare_url, bare_request()),
                        ("orders API", hub_url, api_request(token)),
                        ("channel webhook", hub_url, webhook_request()),
                    ]
                    head = ("endpoint", "clients", "req/s", "p50 ms", "p99 ms", "fail", "vs bare")
                    print(f"{head[0]:<16} " + " ".join(f"{h:>8}" for h in head[1:]))
                    for clients in levels:
                        bare_rate = 0.0
                        for name, url, make in runs:
                            done, lat, failed = asyncio.run(load(url, make, clients, args.seconds))
                            rate = done / args.seconds
                            bare_rate = rate if name == "bare INSERT" else bare_rate
                            ratio = f"{rate / bare_rate:.2f}" if bare_rate and name != "bare INSERT" else ""
                            print(
                                f"{name:<16} {clients:>8} {rate:>8.0f} {pct(lat, 50):>8.1f} {pct(lat, 99):>8.1f} "
                                f"{failed:>8} {ratio:>8}"
                            )
            with connect(pg) as conn:
                row = conn.execute("SELECT count(*), max(serial) FROM customer_order").fetchone()
                print(f"orders written: {row[0] if row else 0}, last serial {row[1] if row else 0} (no gaps: equal)")
        finally:
            with connect(pg, autocommit=True) as conn:
                conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(pg.db_schema)))


if __name__ == "__main__":
    main()
