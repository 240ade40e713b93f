"""``shopfloor stack`` without servers: bad configuration is a clear error, status of nothing is unhealthy."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from shopfloor.settings import StackSettings
from shopfloor.stack.cli import app
from shopfloor.stack.process import free_port

pytestmark = pytest.mark.unit


@pytest.fixture
def stack_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> StackSettings:
    """Settings of a stack that was never started, on ports nobody listens on."""
    values = {
        "STATE_DIR": str(tmp_path / "state"),
        "KAFKA_PORT": str(free_port()),
        "KAFKA_CONTROLLER_PORT": str(free_port()),
        "PG_PORT": str(free_port()),
        "MQTT_PORT": str(free_port()),
    }
    for name, value in values.items():
        monkeypatch.setenv(f"SHOPFLOOR_STACK_{name}", value)
    return StackSettings()


def test_a_node_list_with_a_wildcard_line_is_reported_without_a_traceback(
    stack_env: StackSettings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    nodes = tmp_path / "nodes.yaml"
    nodes.write_text("nodes:\n  - {username: n1, password: p, enterprise: e, site: s, area: a, line: '#'}\n")
    monkeypatch.setenv("SHOPFLOOR_STACK_MQTT_NODES_FILE", str(nodes))
    result = CliRunner().invoke(app, ["status"])
    assert result.exit_code == 1
    assert "error:" in result.output and "line" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_status_of_a_stack_never_started_is_unhealthy_and_down_is_a_no_op(stack_env: StackSettings) -> None:
    runner = CliRunner()
    status = runner.invoke(app, ["status"])
    assert status.exit_code == 1
    rows = [line for line in status.output.splitlines() if any(n in line for n in ("kafka", "postgres", "mosquitto"))]
    assert len(rows) == 3 and all(" no " in row for row in rows)
    down = runner.invoke(app, ["down"])
    assert down.exit_code == 0, down.output


def test_logs_of_an_unknown_server_is_an_error(stack_env: StackSettings) -> None:
    result = CliRunner().invoke(app, ["logs", "redis"])
    assert result.exit_code == 1
    assert "unknown server 'redis'" in result.output
