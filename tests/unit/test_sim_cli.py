"""``shopfloor sim`` without a broker: a dry run writes the event log and prints the summary; bad input exits 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from edge.sim.cli import app
from edge.sim.eventlog import read_event_log
from shopfloor.settings import PROJECT_ROOT

pytestmark = pytest.mark.unit

DEMO = str(PROJECT_ROOT / "infra" / "plants" / "demo.yaml")
START = "2026-11-23T04:00:00+00:00"


def test_dry_run_writes_the_log_and_prints_the_summary(tmp_path: Path) -> None:
    log = tmp_path / "events.jsonl"
    args = ["--plant", DEMO, "--dry-run", "--duration", "20m", "--start", START, "--seed", "5"]
    args += ["--faults", "dup=0.05", "--malformed", "0.05", "--break", "H2@5m:10m", "--event-log", str(log)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    records = list(read_event_log(log))
    assert f"published {len(records)} messages" in result.output
    assert "machine.state" in result.output and "duplicate=" in result.output and "malformed:" in result.output
    states = [r.event["payload"] for r in records if r.event is not None and r.event_type == "machine.state"]
    h2 = [payload["state"] for payload in states if payload["machine_id"] == "H2"]
    assert "FAULT" in h2


@pytest.mark.parametrize(
    "extra",
    [["--break", "XX9@1m:5m"], ["--break", "H2@soon"], ["--faults", "dup=7"], ["--duration", "forever"]],
)
def test_bad_scenarios_exit_with_status_2(extra: list[str]) -> None:
    result = CliRunner().invoke(app, ["--plant", DEMO, "--dry-run", "--duration", "5m", "--start", START, *extra])
    assert result.exit_code == 2, result.output
    assert "error" in result.output.lower()
