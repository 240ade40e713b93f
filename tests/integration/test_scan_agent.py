"""The scan agent end to end on real servers: HTTP terminal and keyboard wedge -> wo.* events on MQTT."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import uvicorn

from edge.agent import EdgeAgent
from edge.agent.collector import MqttCollector
from edge.scan import (
    DirectoryUnavailableError,
    PostgresWorkOrderDirectory,
    RejectCode,
    ScanAction,
    ScanRejected,
    ScanRequest,
    ScanService,
    WorkOrderStatus,
)
from edge.scan.http import create_app
from shopfloor.db.pool import connect
from shopfloor.events import NodeKind, WoPausedEvent, WoReportedEvent
from shopfloor.settings import PROJECT_ROOT, MqttSettings, PostgresSettings
from shopfloor.stack.process import free_port
from shopfloor.topics import line_prefix

pytestmark = pytest.mark.integration


def _add_work_orders(settings: PostgresSettings, statuses: dict[str, str]) -> None:
    due = datetime.now(UTC) + timedelta(days=3)
    with connect(settings) as conn:
        for work_order_id, status in statuses.items():
            conn.execute(
                "INSERT INTO work_order (work_order_id, order_id, product_id, quantity, due_date, priority, status) "
                "VALUES (%s, 'ORD-1', 'BOLT-M8', 1000, %s, 3, %s)",
                (work_order_id, due, status),
            )
        conn.commit()


@pytest.fixture
def scan_server(
    pg_settings: PostgresSettings, mqtt_settings: MqttSettings, tmp_path: Path
) -> Iterator[tuple[str, MqttCollector]]:
    """A scan agent serving HTTP on a free port, reading the work_order table, publishing to Mosquitto."""
    _add_work_orders(pg_settings, {"WO-100": "released", "WO-101": "done", "WO-102": "cancelled"})
    sub = MqttCollector(
        mqtt_settings, line_prefix(mqtt_settings.enterprise, mqtt_settings.site, "heading", "L1") + "/#"
    )
    sub.start()
    agent = EdgeAgent("scan-it", NodeKind.SCAN_AGENT, "heading", "L1", mqtt_settings, tmp_path / "q.db")
    directory = PostgresWorkOrderDirectory(pg_settings)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(ScanService(agent, directory)), port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    try:
        agent.start()
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.started
        yield f"http://127.0.0.1:{port}", sub
    finally:
        server.should_exit = True
        thread.join(10)
        agent.close()
        directory.close()
        sub.stop()


def test_http_scans_become_events_and_bad_ones_get_reasons(scan_server: tuple[str, MqttCollector]) -> None:
    url, sub = scan_server
    with httpx.Client(base_url=url, timeout=10) as http:
        started = http.post("/scans", json={"terminal_id": "T1", "barcodes": ["WO:WO-100", "MC:H2", "ACT:START"]})
        assert started.status_code == 201, started.text
        double = http.post("/scans", json={"terminal_id": "T1", "barcodes": ["WO:WO-100", "MC:H2", "ACT:START"]})
        assert (double.status_code, double.json()["duplicate"]) == (200, True)
        report = http.post(
            "/scans",
            json={"terminal_id": "T1", "barcodes": ["WO:WO-100", "MC:H2", "QTY:120", "SCRAP:3", "ACT:REPORT"]},
        )
        assert report.status_code == 201
        pause = http.post(
            "/scans",
            json={"terminal_id": "T1", "work_order_id": "WO-100", "machine_id": "H2", "action": "pause",
                  "reason": "material", "operator_id": "E7"},
        )  # fmt: skip
        assert pause.status_code == 201
        unknown = http.post("/scans", json={"terminal_id": "T1", "work_order_id": "WO-999", "action": "start"})
        assert (unknown.status_code, unknown.json()["code"]) == (404, "unknown_work_order")
        for closed in ("WO-101", "WO-102"):
            answer = http.post("/scans", json={"terminal_id": "T1", "work_order_id": closed, "action": "start"})
            assert answer.status_code == 409
            assert answer.json()["reason"].startswith(f"work order {closed} is ")
        assert http.get("/health").json()["connected"] is True

    published = [*started.json()["event_ids"], *report.json()["event_ids"], *pause.json()["event_ids"]]
    assert sub.wait_for(lambda ms: sum(m.topic.endswith("/wo") for m in ms) >= 3, timeout=20)
    time.sleep(0.3)  # nothing else may follow
    wo = [m for m in sub.snapshot() if m.topic.endswith("/wo")]
    assert [str(m.event().event_id) for m in wo] == published
    assert all(m.topic.endswith("/heading/L1/H2/wo") for m in wo)
    reported, paused = wo[1].event(), wo[2].event()
    assert isinstance(reported, WoReportedEvent)
    assert (reported.payload.work_order_id, reported.payload.good, reported.payload.scrap) == ("WO-100", 120, 3)
    assert isinstance(paused, WoPausedEvent)
    assert (paused.payload.reason.value, paused.payload.operator_id) == ("material", "E7")


def test_directory_reads_status_from_the_work_order_table(pg_settings: PostgresSettings) -> None:
    _add_work_orders(pg_settings, {"WO-1": "released", "WO-2": "paused"})
    with PostgresWorkOrderDirectory(pg_settings) as directory:
        assert directory.status("WO-1") is WorkOrderStatus.RELEASED
        assert directory.status("WO-2") is WorkOrderStatus.PAUSED
        assert directory.status("WO-3") is None


def test_wedge_command_reads_a_gun_on_stdin(mqtt_settings: MqttSettings, tmp_path: Path) -> None:
    orders = tmp_path / "work_orders.yaml"
    orders.write_text("WO-7: released\nWO-8: done\n")
    env = os.environ | {
        "SHOPFLOOR_MQTT_ENTERPRISE": mqtt_settings.enterprise,
        "SHOPFLOOR_MQTT_PORT": str(mqtt_settings.port),
    }
    cmd = [
        str(Path(sys.executable).with_name("shopfloor")),
        "scan",
        "wedge",
        "--terminal-id",
        "GUN1",
        "--area",
        "thread",
    ]
    cmd += ["--line", "L3", "--work-orders", str(orders), "--queue", str(tmp_path / "wedge.db")]
    gun = "OPR:E9\nWO:WO-7\nOP:2\nACT:START\nQTY:40\nACT:REPORT\nWO:WO-8\nACT:START\nWO:WO-7\nOP:2\nACT:FINISH\n"
    prefix = line_prefix(mqtt_settings.enterprise, mqtt_settings.site, "thread", "L3")
    with MqttCollector(mqtt_settings, f"{prefix}/#") as sub:
        done = subprocess.run(cmd, input=gun, env=env, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert done.stdout.splitlines() == [
            "OK wo.started WO-7/2 running",
            "OK wo.reported WO-7/2 running",
            "ERR work_order_closed work order WO-8 is done",
            "OK wo.finished WO-7/2 finished",
        ]
        # The agent drains on close: all three events are on the broker once the command exits.
        assert sub.wait_for(lambda ms: sum(m.topic.endswith("/GUN1/wo") for m in ms) >= 3, timeout=20)
        events = [m.event() for m in sub.snapshot() if m.topic.endswith("/wo")]
    assert [getattr(e, "type") for e in events] == ["wo.started", "wo.reported", "wo.finished"]  # noqa: B009
    assert {e.source for e in events} == {"scan-wedge"}


def test_known_orders_are_scanned_while_the_directory_is_down(pg_settings: PostgresSettings, tmp_path: Path) -> None:
    _add_work_orders(pg_settings, {"WO-1": "released"})
    # Not started: what it would send stays in its outbox, which is all this test needs to see.
    agent = EdgeAgent("scan-dir", NodeKind.SCAN_AGENT, "heading", "L1", MqttSettings(), tmp_path / "q.db")
    try:
        with PostgresWorkOrderDirectory(pg_settings) as directory:
            service = ScanService(agent, directory)
            service.handle(ScanRequest(terminal_id="T1", work_order_id="WO-1", action=ScanAction.START))
            with connect(pg_settings) as conn:  # the directory breaks: its table is gone
                conn.execute("DROP TABLE work_order CASCADE")
                conn.commit()
            with pytest.raises(DirectoryUnavailableError):
                directory.status("WO-1")
            report = ScanRequest(terminal_id="T1", work_order_id="WO-1", action=ScanAction.REPORT, good=5)
            assert service.handle(report).event_types == ["wo.reported"]  # known: checked from memory
            with pytest.raises(ScanRejected) as caught:
                service.handle(ScanRequest(terminal_id="T1", work_order_id="WO-2", action=ScanAction.START))
            assert (caught.value.code, caught.value.http_status) == (RejectCode.DIRECTORY_UNAVAILABLE, 503)
        assert agent.queued == 2
    finally:
        agent.close()


def test_directory_on_a_dead_database_answers_unavailable_not_unknown(pg_settings: PostgresSettings) -> None:
    dead = pg_settings.model_copy(update={"port": free_port()})
    with PostgresWorkOrderDirectory(dead, timeout_s=0.5) as directory, pytest.raises(DirectoryUnavailableError):
        directory.status("WO-1")
