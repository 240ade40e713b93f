"""A simulated plant day end to end: MQTT -> bridge -> Kafka -> stream processors -> PostgreSQL.

The simulator runs a short, accelerated day with duplicated, late, out-of-order and malformed messages
through Mosquitto; the bridge (in process) forwards them to a private Kafka; the raw sink and the
utilization dataflow run as processes of their own. Mid-stream the utilization process is SIGKILLed and
started again (it resumes from its snapshots), and Kafka itself is stopped and restarted under the
processors. Every raw table, ``machine_current_state`` and every closed utilization minute must equal an
oracle computed from the simulator's event log alone (``tests/replay_support/oracle.py``); then the
minutes are deleted and a rebuild replay of the day must give the same values again.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO

import pytest

from edge.bridge.bridge import Bridge
from edge.bridge.config import BridgeConfig
from edge.bridge.testing import forget_session
from edge.sim.eventlog import read_event_log
from shopfloor.db.pool import Connection, connect
from shopfloor.kafka.admin import ensure_topics
from shopfloor.plant import load_plant
from shopfloor.settings import PROJECT_ROOT, KafkaSettings, MqttSettings, PostgresSettings
from shopfloor.stack.kafka import KafkaServer
from shopfloor.topics import KafkaTopic, topic_name
from streams.replay.ranges import TimeRange
from streams.replay.reader import ReplayReader
from streams.replay.rebuild import rebuild
from streams.replay.utilization import UtilizationStage
from tests.fixtures.stack import StackEndpoints, unique_name
from tests.replay_support.oracle import STATE_COLUMNS, Expected, compute, ratios

pytestmark = pytest.mark.e2e

DEMO = PROJECT_ROOT / "infra" / "plants" / "demo.yaml"
PLANT = load_plant(DEMO)
# Tuesday 1 December 2026 from 00:00 UTC (08:00 at the plant): six hours of the day shift.
START = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
DURATION = timedelta(hours=6)
SPEED = 900  # about 24 s of real time
FAULTS = "dup=0.02,late=0.02,late_by=20s,ooo=0.02,malformed=0.01"
# The flow's watermark is its machine's newest event time less the lateness, plus the *system* time since
# that event. A simulated day at x900 makes system-time gaps (a process restart, the Kafka outage: ~20 s)
# count as much as event-time ones: the lateness must cover late_by and those gaps, so nothing is late.
LATENESS_S = 900
# A machine's minutes this close to its last event are still open when the test reads (they close as
# wall-clock time passes: the lateness, in real seconds); the rebuild computes them too, checked on all.
OPEN_TAIL = timedelta(seconds=LATENESS_S + 120)


class Process:
    """A ``shopfloor`` command of the test's own, its output in a log file; stopped or SIGKILLed by pid."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.args = args
        self.env = env
        self.log_path = log_dir / f"{name}.log"
        self._log: IO[str] = self.log_path.open("a", encoding="utf-8")
        self.proc: subprocess.Popen[str] | None = None
        self.restarts = 0  # exits the supervisor (wait_for) answered with a restart
        self.start()

    def start(self) -> None:
        command = [sys.executable, "-c", "from shopfloor.cli import main; main()", *self.args]
        self.proc = subprocess.Popen(command, env=self.env, stdout=self._log, stderr=subprocess.STDOUT, text=True)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._log.close()

    def tail(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")[-3000:]


def wait_for(
    condition: Callable[[], bool],
    what: str,
    timeout_s: float,
    processes: list[Process],
    detail: Callable[[], str] = lambda: "",
) -> None:
    """Poll ``condition``; meanwhile, as a supervisor would, start again a processor that exited."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        for process in processes:
            if not process.alive():
                process.restarts += 1
                assert process.restarts <= 3, f"{process.name} keeps exiting:\n{process.tail()}"
                process.start()
        time.sleep(0.5)
    logs = "\n".join(f"--- {p.name}\n{p.tail()[-1500:]}" for p in processes)
    raise AssertionError(f"timed out waiting for {what}: {detail()}\n{logs}")


def count(conn: Connection, sql: str) -> int:
    row = conn.execute(sql).fetchone()
    conn.rollback()
    return int(row[0]) if row else 0


def raw_counts(conn: Connection) -> dict[str, int]:
    tables = ("machine_state", "machine_counter", "machine_process", "mes_event")
    return {t: count(conn, f"SELECT count(*) FROM {t}") for t in tables}


def minute_rows(conn: Connection) -> dict[tuple[str, datetime], tuple[float, ...]]:
    columns = ", ".join(f"{name}_s" for name in STATE_COLUMNS)
    rows = conn.execute(
        f"SELECT machine_id, bucket, {columns}, good, scrap, planned_s, run_planned_s,"
        " availability, performance, quality FROM machine_utilization_1m"
    ).fetchall()
    conn.rollback()
    return {(row[0], row[1].astimezone(UTC)): tuple(row[2:]) for row in rows}


def mismatches(
    expected: Expected, actual: dict[tuple[str, datetime], tuple[float, ...]], open_tail: timedelta | None
) -> list[str]:
    """Every oracle minute that the table lacks or holds with another value.

    With ``open_tail``, only a machine's minutes up to its last event minute at least ``open_tail`` older
    than its newest are compared: windows that recent still wait for the watermark (in system time, the
    lateness), and the quiet minutes before an open window are filled only when it closes.
    """
    final: dict[str, datetime] = {}
    for machine, buckets in expected.event_minutes.items():
        closed = [b for b in buckets if open_tail is None or b < expected.last_event[machine] - open_tail]
        if closed:
            final[machine] = closed[-1]
    wrong: list[str] = []
    for (machine, bucket), minute in sorted(expected.minutes.items()):
        if open_tail is not None and (machine not in final or bucket > final[machine]):
            continue
        got = actual.get((machine, bucket))
        ideal = PLANT.machine(machine).ideal_cycle_s
        want = (
            *(minute.seconds[name] for name in STATE_COLUMNS),
            minute.good,
            minute.scrap,
            minute.planned_s,
            minute.run_planned_s,
            *ratios(minute, ideal),
        )
        if got is None or any(not _close(a, b) for a, b in zip(got, want, strict=True)):
            wrong.append(f"{machine} {bucket:%H:%M}: table {got}, oracle {want}")
    return wrong


def _close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return abs(a - b) <= 1e-6 * max(1.0, abs(b))


@pytest.fixture
def kafka(stack: StackEndpoints, private_kafka: KafkaServer) -> KafkaSettings:
    """The private broker (it gets restarted), with the platform's topics under a prefix of the test's own."""
    settings = stack.kafka.model_copy(
        update={
            "bootstrap_servers": f"127.0.0.1:{private_kafka.port}",
            "topic_prefix": unique_name("e2e") + ".",
            "partitions": 3,
        }
    )
    ensure_topics(settings)
    return settings


@pytest.fixture
def bridge(mqtt_settings: MqttSettings, kafka: KafkaSettings) -> Iterator[Bridge]:
    config = BridgeConfig(bridge_id=f"e2e-{uuid.uuid4().hex[:8]}")
    running = Bridge(config, mqtt_settings, kafka)
    running.start()
    try:
        yield running
    finally:
        running.stop()
        forget_session(mqtt_settings, config.client_id)


def test_a_plant_day_through_every_stage_equals_the_oracle_after_crashes_and_a_rebuild(
    kafka: KafkaSettings,
    private_kafka: KafkaServer,
    pg_settings: PostgresSettings,
    mqtt_settings: MqttSettings,
    bridge: Bridge,
    tmp_path: Path,
) -> None:
    started_wall = datetime.now(UTC) - timedelta(minutes=1)
    sql = "SELECT machine_id, state, reason_code, last_event_ts FROM machine_current_state"
    env = {
        **os.environ,
        "SHOPFLOOR_KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
        "SHOPFLOOR_KAFKA_TOPIC_PREFIX": kafka.topic_prefix,
        "SHOPFLOOR_KAFKA_PARTITIONS": str(kafka.partitions),
        "SHOPFLOOR_PG_DB_SCHEMA": pg_settings.db_schema,
        "SHOPFLOOR_MQTT_ENTERPRISE": mqtt_settings.enterprise,
        "SHOPFLOOR_STREAMS_PLANT_FILE": str(DEMO),
        "SHOPFLOOR_STREAMS_RAW_GROUP_ID": unique_name("raw-"),
        "SHOPFLOOR_STREAMS_LATENESS_S": str(LATENESS_S),
        "SHOPFLOOR_STREAMS_RECOVERY_DIR": str(tmp_path / "recovery"),
        "SHOPFLOOR_STREAMS_RECOVERY_PARTITIONS": "1",
        "SHOPFLOOR_STREAMS_SNAPSHOT_INTERVAL_S": "1",
        "SHOPFLOOR_STREAMS_BACKUP_INTERVAL_S": "0",
        "SHOPFLOOR_STREAMS_ORDERS_APP_ID": unique_name("orders"),
        "SHOPFLOOR_STREAMS_ORDERS_DATA_DIR": str(tmp_path / "orders"),
        "SHOPFLOOR_STREAMS_ORDERS_RESTART_BACKOFF_S": "0.5",
    }
    metrics = ["--metrics-port", "0"]
    processes = [
        Process("raw", ["streams", "raw", "run", *metrics], env, tmp_path),
        Process("utilization", ["streams", "utilization", "run", *metrics], env, tmp_path),
        Process("orders", ["streams", "orders", "run"], env, tmp_path),
    ]
    raw, utilization, orders = processes
    log_path = tmp_path / "events.jsonl"
    sim_args = ["sim", "--plant", str(DEMO), "--speed", str(SPEED), "--duration", f"{DURATION.seconds // 3600}h"]
    sim_args += ["--seed", "7", "--start", START.isoformat(), "--faults", FAULTS, "--event-log", str(log_path)]
    sim = Process("sim", [*sim_args, "--queue-dir", str(tmp_path / "outbox")], env, tmp_path)
    try:
        with connect(pg_settings) as conn:
            # Mid-stream: the utilization process dies without a chance to flush or snapshot.
            wait_for(lambda: count(conn, "SELECT count(*) FROM machine_counter") > 2000, "a third", 90, processes)
            utilization.kill()
            utilization.start()
            # Then Kafka goes away under everything and comes back on the same ports and data.
            wait_for(lambda: count(conn, "SELECT count(*) FROM machine_counter") > 5000, "two thirds", 90, processes)
            private_kafka.stop()
            time.sleep(3)
            private_kafka.start(timeout=90)
            assert sim.proc is not None
            sim.proc.wait(timeout=120)
            assert sim.proc.returncode == 0, sim.tail()
            assert "not acknowledged" not in sim.tail(), sim.tail()

            expected = compute(read_event_log(log_path), PLANT)
            wait_for(
                lambda: raw_counts(conn) == expected.raw_counts,
                "the raw rows",
                120,
                processes,
                lambda: f"table {raw_counts(conn)}, oracle {expected.raw_counts}",
            )
            assert count(conn, "SELECT count(*) FROM late_event") == 0

            current = {
                row[0]: (row[1], row[2], row[3].astimezone(UTC))
                for row in conn.execute(
                    "SELECT machine_id, state, reason_code, last_event_ts FROM machine_current_state"
                )
            }
            conn.rollback()
            assert current == expected.last_state

            def wrong() -> list[str]:
                return mismatches(expected, minute_rows(conn), OPEN_TAIL)

            def summary_of_wrong() -> str:
                by_machine: dict[str, list[str]] = {}
                for line in wrong():
                    by_machine.setdefault(line.split()[0], []).append(line)
                return "; ".join(f"{m}: {len(v)} from {v[0]}" for m, v in sorted(by_machine.items()))

            wait_for(lambda: not wrong(), "the closed minutes", 60, processes, summary_of_wrong)

            # The order processor (faust): every operation's scans, good and scrap, finished or not.
            def operations() -> dict[tuple[str, int], tuple[int, int, int, bool]]:
                rows = conn.execute("SELECT work_order_id, seq, good, scrap, events, status FROM operation_progress")
                found = {(r[0], r[1]): (r[2], r[3], r[4], r[5] == "done") for r in rows}
                conn.rollback()
                return found

            wait_for(lambda: operations() == expected.operations, "the operations' progress", 60, processes)
            utilization.stop()
            raw.stop()
            orders.stop()
            # Exits a supervisor restarted (e.g. a processor that gave up while Kafka was away): shown, and
            # harmless by the checks above (offsets and snapshots only advance after the database commit).
            print({p.name: p.restarts for p in processes})

            # The rebuild replay of the whole day, into emptied aggregates, gives them all again.
            conn.execute("DELETE FROM machine_utilization_1m")
            conn.execute("DELETE FROM machine_current_state")
            conn.commit()
            stage = UtilizationStage(pg_settings, PLANT, tmp_path / "rebuild-recovery")
            with ReplayReader(kafka) as reader:
                plans = [
                    reader.plan(topic_name(topic, kafka.topic_prefix), TimeRange(started_wall))
                    for topic in (KafkaTopic.TELEMETRY, KafkaTopic.MES)
                ]
                summary = rebuild(reader, plans, conn, [stage])
            assert summary.raw_rows == 0  # every raw row was already there
            assert summary.aggregate_rows[stage.name] == len(expected.minutes)
            assert mismatches(expected, minute_rows(conn), None) == []
            rows = conn.execute(sql)
            assert {r[0]: (r[1], r[2], r[3].astimezone(UTC)) for r in rows} == expected.last_state
            conn.rollback()
    finally:
        for process in (sim, *processes):
            process.stop()
