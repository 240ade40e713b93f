"""`shopfloor streams` is registered with its commands; a missing sub-app module is tolerated."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from shopfloor import cli as core_cli

pytestmark = pytest.mark.unit


def test_streams_commands_are_registered() -> None:
    core_cli._register()
    runner = CliRunner()
    result = runner.invoke(core_cli.app, ["streams", "--help"])
    assert result.exit_code == 0, result.output
    for name in ("raw", "utilization", "rollups"):
        assert name in result.output
    result = runner.invoke(core_cli.app, ["streams", "utilization", "--help"])
    assert result.exit_code == 0
    assert "run" in result.output and "init-recovery" in result.output


def test_init_recovery_creates_the_partitions_once(tmp_path: object) -> None:
    from pathlib import Path

    from streams.cli import app

    where = Path(str(tmp_path)) / "rec"
    runner = CliRunner()
    first = runner.invoke(app, ["utilization", "init-recovery", "--directory", str(where), "--partitions", "3"])
    assert first.exit_code == 0, first.output
    assert sorted(p.name for p in where.glob("part-*.sqlite3")) == [f"part-{i}.sqlite3" for i in range(3)]
    again = runner.invoke(app, ["utilization", "init-recovery", "--directory", str(where), "--partitions", "5"])
    assert "left as they are" in again.output
    assert len(list(where.glob("part-*.sqlite3"))) == 3


def test_a_missing_orders_module_is_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    import streams.cli as streams_cli

    monkeypatch.setitem(streams_cli.SUB_APPS, "nothing", ("streams.not_built_yet.cli", "absent"))
    streams_cli._register()  # does not raise
