"""Migrations: idempotent, checksummed, one transaction per file, safe with concurrent migrators."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import psycopg
import pytest

from shopfloor.db.migrate import MIGRATIONS_DIR, MigrationError, discover, migrate, status
from shopfloor.db.pool import Connection, connect
from shopfloor.settings import PostgresSettings
from tests.fixtures.db import drop_schema
from tests.fixtures.stack import StackEndpoints, unique_name

pytestmark = pytest.mark.integration

# Everything a migration can create, by name, in the current schema (OIDs and times left out).
CATALOG_QUERIES = {
    "relations": """
        SELECT c.relname, c.relkind, c.relispartition, pg_get_expr(c.relpartbound, c.oid)
        FROM pg_class c WHERE c.relnamespace = current_schema()::regnamespace ORDER BY 1""",
    "columns": """
        SELECT c.relname, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
               pg_get_expr(d.adbin, d.adrelid)
        FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE c.relnamespace = current_schema()::regnamespace AND a.attnum > 0 AND NOT a.attisdropped
        ORDER BY 1, 2""",
    "indexes": """
        SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() ORDER BY 1, 2""",
    "constraints": """
        SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint
        WHERE connamespace = current_schema()::regnamespace ORDER BY 1, 2""",
    "functions": """
        SELECT proname, pg_get_function_identity_arguments(oid), md5(prosrc) FROM pg_proc
        WHERE pronamespace = current_schema()::regnamespace ORDER BY 1, 2""",
    "views": "SELECT viewname, definition FROM pg_views WHERE schemaname = current_schema() ORDER BY 1",
    "triggers": """
        SELECT tgrelid::regclass::text, tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
        WHERE c.relnamespace = current_schema()::regnamespace AND NOT tgisinternal ORDER BY 1, 2""",
    "migrations": "SELECT version, name, checksum, applied_at FROM schema_migrations ORDER BY 1",
}


def catalog(conn: Connection) -> dict[str, list[tuple[object, ...]]]:
    return {name: conn.execute(query).fetchall() for name, query in CATALOG_QUERIES.items()}


def test_migrating_again_leaves_exactly_the_same_schema(pg_settings: PostgresSettings) -> None:
    with connect(pg_settings, autocommit=True) as conn:
        before = catalog(conn)
        assert migrate(pg_settings) == []
        after = catalog(conn)
    assert after == before
    assert {row[0] for row in before["relations"]} >= {
        "machine_state",
        "machine_counter",
        "machine_process",
        "mes_event",
        "late_event",
        "machine_utilization_1m",
        "machine_utilization_1h",
        "workcenter_load",
        "order_pool_1m",
        "customer_order",
        "order_line",
        "order_version",
        "work_order",
        "operation",
        "standard_time",
    }


def test_changed_applied_migration_is_refused(pg_settings: PostgresSettings, tmp_path: Path) -> None:
    shutil.copytree(MIGRATIONS_DIR, tmp_path, dirs_exist_ok=True)
    edited = tmp_path / "002_raw_events.sql"
    edited.write_text(edited.read_text() + "\nCREATE TABLE sneaky (id int);\n")
    with pytest.raises(MigrationError, match="002_raw_events was changed"):
        migrate(pg_settings, tmp_path)
    with connect(pg_settings) as conn:
        assert conn.execute("SELECT to_regclass('sneaky')").fetchone() == (None,)


def test_new_numbered_file_is_applied_and_a_failing_one_rolls_back(
    pg_settings: PostgresSettings, tmp_path: Path
) -> None:
    shutil.copytree(MIGRATIONS_DIR, tmp_path, dirs_exist_ok=True)
    # Numbers after every real migration (other concerns keep adding theirs).
    extra = max(m.version for m in discover(MIGRATIONS_DIR)) + 1
    (tmp_path / f"{extra:03d}_extra.sql").write_text("CREATE TABLE extra (id int PRIMARY KEY);\n")
    assert migrate(pg_settings, tmp_path) == [extra]
    (tmp_path / f"{extra + 1:03d}_broken.sql").write_text("CREATE TABLE half_done (id int);\nSELECT 1 / 0;\n")
    with pytest.raises(psycopg.errors.DivisionByZero):
        migrate(pg_settings, tmp_path)
    with connect(pg_settings) as conn:
        assert conn.execute("SELECT to_regclass('extra') IS NOT NULL, to_regclass('half_done')").fetchone() == (
            True,
            None,
        )
    by_version = {row.version: row for row in status(pg_settings, tmp_path)}
    assert by_version[extra].applied_at is not None
    assert by_version[extra + 1].applied_at is None


def test_concurrent_migrators_apply_each_file_once(stack: StackEndpoints) -> None:
    settings = stack.pg.model_copy(update={"db_schema": unique_name("t_")})
    results: list[list[int]] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append(migrate(settings))
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    try:
        threads = [threading.Thread(target=run) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        every_version = [m.version for m in discover()]
        assert sorted(version for applied in results for version in applied) == every_version
        with connect(settings) as conn:
            assert [row[0] for row in conn.execute("SELECT version FROM schema_migrations ORDER BY 1")] == every_version
    finally:
        drop_schema(settings)


def test_status_of_a_new_schema_lists_everything_pending(stack: StackEndpoints) -> None:
    settings = stack.pg.model_copy(update={"db_schema": unique_name("t_")})
    rows = status(settings)
    assert [row.version for row in rows] == [m.version for m in discover()]
    assert all(row.applied_at is None for row in rows)
