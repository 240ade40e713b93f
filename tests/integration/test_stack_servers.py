"""``shopfloor stack up|status|down`` on an empty state directory: real Kafka, PostgreSQL, Mosquitto."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from shopfloor.settings import MqttSettings, PostgresSettings, StackSettings
from shopfloor.stack.process import pid_alive, port_open
from shopfloor.stack.stack import Stack
from tests.fixtures.stack import make_state_dir, private_stack_settings, stack_environ

pytestmark = pytest.mark.integration

# The console script installed next to this interpreter (pip install -e .).
SHOPFLOOR = [str(Path(sys.executable).parent / "shopfloor")]


@pytest.fixture
def empty_stack() -> Iterator[StackSettings]:
    """Settings of a stack that does not exist yet; whatever the test starts is stopped afterwards."""
    state_dir = make_state_dir("shopfloor-stacktest-")
    settings = private_stack_settings(state_dir, kafka_heap="256m")
    try:
        yield settings
    finally:
        Stack(settings).down()
        shutil.rmtree(state_dir, ignore_errors=True)


def run_cli(settings: StackSettings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **stack_environ(settings, PostgresSettings(), MqttSettings()), "COLUMNS": "200"}
    return subprocess.run(
        [*SHOPFLOOR, "stack", *args], env=env, capture_output=True, text=True, timeout=240, check=False
    )


def processes_under(state_dir: Path) -> list[int]:
    """Pids whose command line names the state directory (servers started from it)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and pid_alive(int(entry.name), str(state_dir)):
            found.append(int(entry.name))
    return found


def test_up_status_down_from_an_empty_state_dir(empty_stack: StackSettings) -> None:
    settings = empty_stack
    ports = [settings.kafka_port, settings.kafka_controller_port, settings.pg_port, settings.mqtt_port]

    up = run_cli(settings, "up")
    assert up.returncode == 0, up.stderr
    stack = Stack(settings)
    pids = stack.pids()
    assert set(pids) == {"kafka", "postgres", "mosquitto"}

    status = run_cli(settings, "status")
    assert status.returncode == 0, status.stdout + status.stderr
    for name, pid in pids.items():
        row = next(line for line in status.stdout.splitlines() if f" {name} " in line)
        assert str(pid) in row and "yes" in row
    assert all(row.healthy for row in stack.status())

    again = run_cli(settings, "up")
    assert again.returncode == 0, again.stderr
    assert stack.pids() == pids  # idempotent: nothing restarted

    down = run_cli(settings, "down")
    assert down.returncode == 0, down.stderr
    assert not any(pid_alive(pid) for pid in pids.values())
    assert processes_under(settings.state_dir) == []
    assert not any(port_open(port) for port in ports)

    after = run_cli(settings, "status")
    assert after.returncode == 1
    assert not any(row.healthy or row.pid for row in stack.status())
