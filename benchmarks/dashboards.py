"""Dashboards benchmark: MQTT publish to the page changing, and the server's cost of 50 SSE board clients.

    .venv/bin/python benchmarks/dashboards.py [--runs 3] [--samples 30] [--clients 50] [--seconds 15]

Starts a private stack (Kafka, PostgreSQL, Mosquitto), the real pipeline (the simulated demo plant at speed 1
as background traffic, `shopfloor bridge run`, `shopfloor streams raw run` and `... utilization run`) and
`shopfloor dashboards serve` as processes of their own, then, in each run:
- latency: a gateway's EdgeAgent publishes a machine.state on MQTT; Debian's Chromium notes, through a
  MutationObserver on the machine's tile, when the board shows it; p50/p99 of (browser time - publish
  time), same clock; through the bridge, Kafka, the raw sink, PostgreSQL, the dashboard's poll and SSE;
- cost: the dashboard process's CPU (utime+stime from /proc) and RSS over the same window, idle (no
  client) and with N board clients on /live/board, in the same run, the plant's data changing all along.
Prints each run and min/median/max over the runs (the machine is shared: figures are noisy).
Goals: p99 <= 1.5 s; N=50 clients cost < 20% of one core over idle.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import httpx
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dashboards.settings import DashboardSettings  # noqa: E402
from shopfloor.auth import Role, create_token  # noqa: E402
from shopfloor.db.migrate import migrate  # noqa: E402
from shopfloor.db.pool import connect  # noqa: E402
from shopfloor.kafka.admin import delete_topics, ensure_topics  # noqa: E402
from shopfloor.plant import load_plant  # noqa: E402
from shopfloor.settings import KafkaSettings, MqttSettings, PostgresSettings  # noqa: E402
from shopfloor.stack.process import free_port  # noqa: E402
from shopfloor.stack.stack import Stack  # noqa: E402
from tests.dashboards_support.browser import CHROMIUM, FLAGS  # noqa: E402
from tests.dashboards_support.pipeline import PipelineFeed, processor_env  # noqa: E402
from tests.fixtures.stack import make_state_dir, private_stack_settings, unique_name  # noqa: E402

MACHINE = "H4"

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


def latency(base: str, token: str, feed: PipelineFeed, samples: int) -> list[float]:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        page = browser.new_page(viewport={"width": 1920, "height": 1080})
        page.goto(f"{base}/board?token={token}", wait_until="domcontentloaded")
        page.wait_for_selector("[data-testid=freshness][data-state=live]", timeout=60_000)
        page.evaluate(
            f"""() => {{ window.seen = {{}}; const el = document.getElementById('tile-{MACHINE}');
            new MutationObserver(() => {{
              window.seen[el.dataset.state] = performance.timeOrigin + performance.now(); }})
              .observe(el, {{attributes: true, attributeFilter: ['data-state']}}); }}"""
        )
        out = []
        for i in range(samples):
            state = "FAULT" if i % 2 == 0 else "RUNNING"
            page.evaluate(f"() => {{ delete window.seen['{state}']; }}")
            sent = feed.set_machine_state(MACHINE, state) * 1000
            page.wait_for_function(f"() => window.seen['{state}'] !== undefined", timeout=10_000)
            out.append(page.evaluate(f"() => window.seen['{state}']") - sent)
            time.sleep(0.3)
        browser.close()
    return out


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def spread(values: list[float], digits: int) -> str:
    return f"min {min(values):.{digits}f}, median {statistics.median(values):.{digits}f}, max {max(values):.{digits}f}"


def wait_healthy(base: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("the dashboard server exited")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base}/health").status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError("the dashboard server did not become healthy")


def one_run(base: str, token: str, feed: PipelineFeed, pid: int, args: argparse.Namespace) -> dict[str, float]:
    idle_cpu, idle_rss = measure(pid, args.seconds)
    lat_idle = latency(base, token, feed, args.samples)
    counts = [0] * args.clients
    done = threading.Event()
    clients = threading.Thread(target=run_clients, args=(f"{base}/live/board", token, args.clients, done, counts))
    clients.start()
    time.sleep(4)  # all connected, snapshots sent
    busy_cpu, busy_rss = measure(pid, args.seconds)
    lat_busy = latency(base, token, feed, args.samples)
    done.set()
    clients.join()
    return {
        "p50_idle": pct(lat_idle, 0.5),
        "p99_idle": pct(lat_idle, 0.99),
        "p50_busy": pct(lat_busy, 0.5),
        "p99_busy": pct(lat_busy, 0.99),
        "idle_cpu": idle_cpu,
        "busy_cpu": busy_cpu,
        "cost_cpu": busy_cpu - idle_cpu,
        "idle_rss": idle_rss,
        "busy_rss": busy_rss,
        "connected": float(sum(1 for c in counts if c > 0)),
        "events": float(sum(counts)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--samples", type=int, default=30)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=15.0)
    args = parser.parse_args()

    state_dir = make_state_dir("shopfloor-bench-dash-")
    stack_settings = private_stack_settings(state_dir)
    pg, mqtt = PostgresSettings(), MqttSettings()
    stack = Stack(stack_settings, pg=pg, mqtt=mqtt)
    stack.up()
    proc: subprocess.Popen[bytes] | None = None
    feed: PipelineFeed | None = None
    kafka = KafkaSettings(bootstrap_servers=f"127.0.0.1:{stack_settings.kafka_port}")
    kafka = kafka.model_copy(update={"topic_prefix": unique_name("b") + ".", "partitions": 3})
    pg = pg.model_copy(update={"port": stack_settings.pg_port, "db_schema": unique_name("bench_")})
    mqtt = mqtt.model_copy(update={"port": stack_settings.mqtt_port, "enterprise": unique_name("ent")})
    try:
        ensure_topics(kafka)
        migrate(pg)
        plant = load_plant(DashboardSettings().plant_file)
        with connect(pg) as conn:
            token = create_token(conn, "bench-tv", [Role.VIEWER])
            conn.commit()
        # Speed 1, a minute behind the wall clock: the simulator never overtakes the benchmark's own states.
        feed = PipelineFeed(plant, mqtt, kafka, pg, state_dir, speed=1.0, behind=timedelta(minutes=1))
        feed.start()
        feed.start_plant()
        port = free_port()
        env = processor_env(mqtt, kafka, pg, state_dir) | {"SHOPFLOOR_DASHBOARDS_PORT": str(port)}
        proc = subprocess.Popen([str(ROOT / ".venv" / "bin" / "shopfloor"), "dashboards", "serve"], env=env)
        base = f"http://127.0.0.1:{port}"
        wait_healthy(base, proc)
        results = []
        for run in range(args.runs):
            feed.check_alive()
            r = one_run(base, token, feed, proc.pid, args)
            results.append(r)
            print(
                f"run {run + 1}: MQTT -> tile p50/p99 {r['p50_idle']:.0f}/{r['p99_idle']:.0f} ms alone,"
                f" {r['p50_busy']:.0f}/{r['p99_busy']:.0f} ms beside {args.clients} clients;"
                f" server CPU idle {r['idle_cpu']:.1f}%, {args.clients} clients {r['busy_cpu']:.1f}%"
                f" (+{r['cost_cpu']:.1f}%), RSS {r['idle_rss']:.0f} -> {r['busy_rss']:.0f} MB;"
                f" {r['connected']:.0f} connected, {r['events']:.0f} events",
                flush=True,
            )
        print(
            f"dashboards benchmark: {args.runs} runs x {args.samples} samples, {args.clients} SSE clients,"
            f" {args.seconds:.0f} s windows; min / median / max over the runs"
        )
        for key, label in (
            ("p50_idle", "latency MQTT publish -> board tile, p50 (no other client), ms"),
            ("p99_idle", "latency MQTT publish -> board tile, p99 (no other client), ms (goal <= 1500)"),
            ("p50_busy", f"latency MQTT publish -> board tile, p50 ({args.clients} clients), ms"),
            ("p99_busy", f"latency MQTT publish -> board tile, p99 ({args.clients} clients), ms (goal <= 1500)"),
            ("idle_cpu", "server CPU, idle, % of a core"),
            ("busy_cpu", f"server CPU, {args.clients} clients, % of a core"),
            ("cost_cpu", f"cost of {args.clients} clients over idle, % of a core (goal < 20)"),
            ("idle_rss", "server RSS, idle, MB"),
            ("busy_rss", f"server RSS, {args.clients} clients, MB"),
        ):
            print(f"{label}: {spread([r[key] for r in results], 1 if 'cpu' in key else 0)}")
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=15)
        if feed is not None:
            feed.close()
        with contextlib.suppress(Exception):
            delete_topics(kafka)
        stack.down()
        shutil.rmtree(state_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
