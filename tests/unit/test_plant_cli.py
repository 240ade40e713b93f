"""``shopfloor plant show``, ``validate`` and ``schema`` through typer, as registered in the CLI.

Only the plant commands are mounted, so these tests do not depend on every subsystem importing.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from shopfloor.cli import COMMANDS
from shopfloor.plant import cli as plant_cli
from shopfloor.settings import PROJECT_ROOT

pytestmark = pytest.mark.unit

DEMO = PROJECT_ROOT / "infra" / "plants" / "demo.yaml"


app = typer.Typer()
app.add_typer(plant_cli.app, name="plant")


@pytest.fixture(scope="module")
def runner() -> CliRunner:
    assert COMMANDS["plant"][0] == plant_cli.__name__
    return CliRunner()


def test_show_prints_the_tree(runner: CliRunner) -> None:
    result = runner.invoke(app, ["plant", "show", str(DEMO)])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "acme/plant1" in out
    # site -> workshop -> line -> machine, with workcenter and cycle time
    assert "冷镦车间" in out
    assert "HEAD-L1" in out
    assert "H2 Heading press H2  wc=WC-HEAD cycle=0.8s" in out
    assert out.index("heading Cold heading") < out.index("HEAD-L1") < out.index("H2 Heading press H2")
    assert "WC-HEAD Cold heading (8 machines, calendar CAL-3S) BOTTLENECK" in out
    assert "WC-FURNACE" in out and "batch" in out
    assert "customers: 120 (15 strategic)" in out


def test_validate_ok(runner: CliRunner) -> None:
    result = runner.invoke(app, ["plant", "validate", str(DEMO)])
    assert result.exit_code == 0, result.output
    assert "ok (6 workshops" in result.output and "40 machines" in result.output


def test_broken_yaml_exits_2_with_line_and_reason(runner: CliRunner, tmp_path: Path) -> None:
    text = DEMO.read_text(encoding="utf-8")
    broken = text.replace("ideal_cycle_s: 1.3\n", "ideal_cycle_s: 0\n", 1)
    path = tmp_path / "demo.yaml"
    path.write_text(broken, encoding="utf-8")
    line = broken[: broken.index("ideal_cycle_s: 0\n")].count("\n") + 1
    for command in ("validate", "show"):
        result = runner.invoke(app, ["plant", command, str(path)])
        assert result.exit_code == 2
        assert f"{path}:{line}:" in result.output
        assert "ideal_cycle_s: Input should be greater than 0" in result.output


def test_syntax_error_exits_2(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("site_id: plant1\nworkshops: [\n", encoding="utf-8")
    result = runner.invoke(app, ["plant", "validate", str(path)])
    assert result.exit_code == 2
    assert f"{path}:3:1:" in result.output


def test_schema_describes_the_plant_file(runner: CliRunner) -> None:
    result = runner.invoke(app, ["plant", "schema"])
    assert result.exit_code == 0, result.output
    schema = json.loads(result.output)
    assert {"enterprise_id", "site_id", "timezone", "workshops", "workcenters", "calendars"} <= set(schema["required"])
    machine = schema["$defs"]["Machine"]
    assert machine["properties"]["ideal_cycle_s"]["exclusiveMinimum"] == 0
