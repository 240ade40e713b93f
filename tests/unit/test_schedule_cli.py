"""`shopfloor schedule solve` prints the JSON contract and fails loudly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rescheduler.cli import app
from rescheduler.instances import DATA_DIR

pytestmark = pytest.mark.unit

BENCHMARKS = DATA_DIR


def test_solve_prints_one_json_object_with_the_contract_fields() -> None:
    result = CliRunner().invoke(
        app,
        ["solve", str(BENCHMARKS / "jssp" / "ft06.txt"), "--format", "jssp", "--time-limit", "10", "--workers", "2"],
    )
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1
    report = json.loads(lines[0])
    assert report["instance"] == "ft06"
    assert report["makespan"] == 55
    assert report["lower_bound"] == 55
    assert report["status"] == "OPTIMAL"
    assert report["violations"] == 0
    assert report["workers"] == 2
    assert isinstance(report["wall_s"], float) and report["wall_s"] >= 0


def test_solve_reads_flexible_instances() -> None:
    result = CliRunner().invoke(app, ["solve", str(BENCHMARKS / "fjsp" / "mk01.fjs"), "--format", "fjsp"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["status"] in {"OPTIMAL", "FEASIBLE"}
    assert report["lower_bound"] <= report["makespan"]


def test_malformed_instance_exits_non_zero(tmp_path: Path) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text("2 2\n0 3 1 2\n")
    result = CliRunner().invoke(app, ["solve", str(bad), "--format", "jssp"])
    assert result.exit_code == 2
    assert json.loads(result.output)["status"] == "INVALID_INSTANCE"


def test_serve_command_is_registered_with_its_options() -> None:
    result = CliRunner().invoke(app, ["serve", "--help"])
    assert result.exit_code == 0
    for option in ("--plant", "--debounce-s", "--time-limit-s", "--http-port"):
        assert option in result.output
