"""Dashboards benchmark: time from a change to the page changing, and the server's cost of 50 SSE clients.

    .venv/bin/python benchmarks/dashboards.py [--samples 30] [--clients 50] [--seconds 15]

Starts a private PostgreSQL (or uses SHOPFLOOR_PG_* with --external), seeds the demo plant's tables, serves
`shopfloor dashboards serve` as its own process, and measures:
- latency: a machine's state is written (as the state processor would; later: published on MQTT with the
  processors running) and Debian's Chromium notes, through a MutationObserver on the tile, when the board
  shows it; p50/p99 of (browser time - write time), same clock;
- cost: the server process's CPU (utime+stime from /proc) and RSS over the same window, idle (no client)
  and with N board clients on /live/board, in the same run, data changing all along.
Goals: p99 <= 1.5 s; N=50 clients cost < 20% of one core over idle.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dashboards.settings import DashboardSettings  # noqa: E402
from shopfloor.auth import Role, create_token  # noqa: E402
from shopfloor.db.migrate import migrate  # noqa: E402
from shopfloor.db.pool import connect  # noqa: E402
from shopfloor.plant import load_plant  # noqa: E402
from shopfloor.settings import PostgresSettings  # noqa: E402
from shopfloor.stack.postgres import PostgresServer  # noqa: E402
from shopfloor.stack.process import free_port  # noqa: E402
from tests.dashboards_support.browser import CHROMIUM, FLAGS  # noqa: E402
from tests.dashboards_support.seed import seed  # noqa: E402
from tests.dashboards_support.writer import FixtureFeed  # noqa: E402
from tests.fixtures.stack import make_state_dir, private_stack_settings, unique_name  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def rss_mb(pid: int) -> float:
    return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE / 1e6


def measure(pid: int, seconds: float) -> tuple[float, float]:
    c0, t0 = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    return 100.0 * (cpu_seconds(pid) - c0) / (time.monotonic() - t0), rss_mb(pid)


async def sse_clients(url: str, token: str, n: int, stop: asyncio.Event, counts: list[int]) -> None:
    async def one(i: int) -> None:
        async with (
            httpx.AsyncClient(timeout=None) as client,
            client.stream("GET", url, headers={"Authorization": f"Bearer {token}"}) as response,
        ):
            async for line in response.aiter_lines():
                if line.startswith("event:"):
                    counts[i] += 1
                if stop.is_set():
                    return

    await asyncio.gather(*(one(i) for i in range(n)))


def run_clients(url: str, token: str, n: int, done: threading.Event, counts: list[int]) -> None:
    async def main() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(sse_clients(url, token, n, stop, counts))
        while not done.is_set():
            await asyncio.sleep(0.2)
        stop.set()
        task.cancel()

    with contextlib.suppress(asyncio.CancelledError):
        asyncio.run(main())


def latency(base: str, token: str, feed: FixtureFeed, samples: int) -> list[float]:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        page = browser.new_page(viewport={"width": 1920, "height": 1080})
        page.goto(f"{base}/board?token={token}", wait_until="domcontentloaded")
        page.wait_for_selector("[data-testid=freshness][data-state=live]", timeout=20_000)
        page.evaluate(
            """() => { window.seen = {}; const el = document.getElementById('tile-H4');
            new MutationObserver(() => { window.seen[el.dataset.state] = performance.timeOrigin + performance.now(); })
              .observe(el, {attributes: true, attributeFilter: ['data-state']}); }"""
        )
        out = []
        for i in range(samples):
            state = "FAULT" if i % 2 == 0 else "RUNNING"
            page.evaluate(f"() => {{ delete window.seen['{state}']; }}")
            written = time.time() * 1000
            feed.set_machine_state("H4", state)
            page.wait_for_function(f"() => window.seen['{state}'] !== undefined", timeout=10_000)
            out.append(page.evaluate(f"() => window.seen['{state}']") - written)
            time.sleep(0.3)
        browser.close()
    return out


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=30)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--external", action="store_true", help="use the PostgreSQL of SHOPFLOOR_PG_*")
    args = parser.parse_args()

    state_dir = None
    server = None
    if args.external:
        pg = PostgresSettings()
    else:
        state_dir = make_state_dir("shopfloor-bench-dash-")
        stack = private_stack_settings(state_dir).model_copy(update={"pg_port": free_port()})
        pg = PostgresSettings(port=stack.pg_port)
        server = PostgresServer(stack, pg)
        server.start(timeout=60)
    pg = pg.model_copy(update={"db_schema": unique_name("bench_")})
    plant = load_plant(DashboardSettings().plant_file)
    migrate(pg)
    feed = FixtureFeed(pg, plant, interval_s=0.2)
    seed(feed, datetime.now(UTC))
    with connect(pg) as conn:
        token = create_token(conn, "bench-tv", [Role.VIEWER])
        conn.commit()
    port = free_port()
    env = os.environ | {f"SHOPFLOOR_PG_{k.upper()}": str(v) for k, v in (("host", pg.host), ("port", pg.port))}
    env |= {"SHOPFLOOR_PG_DB_SCHEMA": pg.db_schema, "SHOPFLOOR_DASHBOARDS_PORT": str(port)}
    proc = subprocess.Popen([str(ROOT / ".venv" / "bin" / "shopfloor"), "dashboards", "serve"], env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if httpx.get(f"{base}/health").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        feed.start()
        idle_cpu, idle_rss = measure(proc.pid, args.seconds)
        lat_idle = latency(base, token, feed, args.samples)

        counts = [0] * args.clients
        done = threading.Event()
        clients = threading.Thread(target=run_clients, args=(f"{base}/live/board", token, args.clients, done, counts))
        clients.start()
        time.sleep(4)  # all connected, snapshots sent
        busy_cpu, busy_rss = measure(proc.pid, args.seconds)
        lat_busy = latency(base, token, feed, args.samples)
        done.set()
        clients.join()
        connected = sum(1 for c in counts if c > 0)
        print(f"dashboards benchmark ({args.samples} samples, {args.clients} SSE clients, {args.seconds:.0f} s)")
        for name, values in (("no other client", lat_idle), (f"{args.clients} other clients", lat_busy)):
            print(
                f"latency write -> board tile in the browser, {name}: p50 {pct(values, 0.5):.0f} ms,"
                f" p99 {pct(values, 0.99):.0f} ms (goal p99 <= 1500 ms)"
            )
        print(f"server idle:        CPU {idle_cpu:5.1f}% of a core, RSS {idle_rss:6.1f} MB")
        print(
            f"server {args.clients} clients: CPU {busy_cpu:5.1f}% of a core, RSS {busy_rss:6.1f} MB"
            f" ({connected} connected, {sum(counts)} events received)"
        )
        print(
            f"cost of the clients: {busy_cpu - idle_cpu:+.1f}% of a core (goal < 20%),"
            f" ratio busy/idle {busy_cpu / idle_cpu if idle_cpu else float('inf'):.2f}"
        )
    finally:
        feed.stop()
        proc.terminate()
        proc.wait(timeout=15)
        if server is not None:
            server.stop()
        if state_dir is not None:
            shutil.rmtree(state_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
