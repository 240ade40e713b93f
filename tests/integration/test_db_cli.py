"""``shopfloor db migrate|status|maintain`` on a schema of the test's own; the pool on the same schema."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from shopfloor.db.cli import app
from shopfloor.db.migrate import discover
from shopfloor.db.pool import make_pool
from shopfloor.settings import PostgresSettings
from tests.fixtures.db import drop_schema
from tests.fixtures.stack import StackEndpoints, unique_name

pytestmark = pytest.mark.integration


def test_migrate_status_and_maintain_commands(stack: StackEndpoints) -> None:
    schema = unique_name("t_")
    env = {
        "SHOPFLOOR_PG_DB_SCHEMA": schema,
        "SHOPFLOOR_PG_PORT": str(stack.pg.port),
        "SHOPFLOOR_PG_HOST": stack.pg.host,
    }
    runner = CliRunner()
    try:
        pending = runner.invoke(app, ["status"], env=env)
        assert pending.exit_code == 0, pending.output
        assert pending.output.count("pending") == len(discover())

        first = runner.invoke(app, ["migrate"], env=env)
        assert first.exit_code == 0, first.output
        assert "applied 001, 002, 003, 004" in first.output
        again = runner.invoke(app, ["migrate"], env=env)
        assert "up to date" in again.output

        applied = runner.invoke(app, ["status"], env=env)
        assert "pending" not in applied.output
        maintained = runner.invoke(app, ["maintain"], env=env)
        assert maintained.exit_code == 0, maintained.output
        assert "created 0 partitions, dropped 0" in maintained.output
    finally:
        drop_schema(stack.pg.model_copy(update={"db_schema": schema}))


def test_pool_connections_use_the_settings_schema(pg_settings: PostgresSettings) -> None:
    with make_pool(pg_settings) as pool, pool.connection() as conn:
        assert conn.execute("SELECT current_schema(), count(*) FROM schema_migrations").fetchone() == (
            pg_settings.db_schema,
            len(discover()),
        )
    assert pool.closed
