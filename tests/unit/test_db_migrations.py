"""Pure logic of the db package: migration discovery and checksums, bulk-table specs, partition names."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from psycopg import sql

from shopfloor.db.bulk import BulkTable
from shopfloor.db.migrate import MIGRATIONS_DIR, Migration, MigrationError, discover
from shopfloor.db.partitions import partition_name

pytestmark = pytest.mark.unit


def test_shipped_migrations_are_numbered_in_order_and_start_with_the_time_table_helper() -> None:
    migrations = discover()
    versions = [m.version for m in migrations]
    assert versions == sorted(set(versions))
    assert versions[:4] == [1, 2, 3, 4]
    assert "shopfloor_create_time_table" in migrations[0].sql
    assert all(m.sql.strip() for m in migrations)
    assert MIGRATIONS_DIR.name == "migrations"


def test_any_numbered_file_is_picked_up_in_version_order(tmp_path: Path) -> None:
    (tmp_path / "010_planning.sql").write_text("SELECT 10;")
    (tmp_path / "002_b.sql").write_text("SELECT 2;")
    (tmp_path / "README.md").write_text("not a migration")
    assert [(m.version, m.name) for m in discover(tmp_path)] == [(2, "b"), (10, "planning")]


def test_duplicate_versions_are_refused(tmp_path: Path) -> None:
    (tmp_path / "003_a.sql").write_text("SELECT 1;")
    (tmp_path / "003_b.sql").write_text("SELECT 2;")
    with pytest.raises(MigrationError, match="two migrations with version 003"):
        discover(tmp_path)


@pytest.mark.parametrize("name", ["3_short.sql", "004-dash.sql", "005_Upper.sql"])
def test_badly_named_sql_files_are_refused(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_text("SELECT 1;")
    with pytest.raises(MigrationError, match="NNN_lowercase_name"):
        discover(tmp_path)


def test_checksum_follows_the_content() -> None:
    a = Migration(1, "a", "SELECT 1;")
    assert a.checksum == Migration(1, "renamed", "SELECT 1;").checksum
    assert a.checksum != Migration(1, "a", "SELECT 1; ").checksum
    assert len(a.checksum) == 64


def test_bulk_table_renders_do_nothing_or_do_update() -> None:
    events = BulkTable("machine_state", ("event_id", "ts", "state"), key=("event_id", "ts"))
    aggregate = BulkTable("agg", ("m", "bucket", "v"), key=("m", "bucket"), update=("v",))
    assert events.insert_sql().as_string(None) == (
        'INSERT INTO "machine_state" ("event_id", "ts", "state") SELECT "event_id", "ts", "state" '
        'FROM "_stage_machine_state" ON CONFLICT ("event_id", "ts") DO NOTHING'
    )
    assert (
        aggregate.insert_sql().as_string(None).endswith('ON CONFLICT ("m", "bucket") DO UPDATE SET "v" = EXCLUDED."v"')
    )
    assert isinstance(aggregate.insert_sql(), sql.Composed)


def test_bulk_table_rejects_keys_it_does_not_write() -> None:
    with pytest.raises(ValueError, match="not among the columns"):
        BulkTable("t", ("a", "b"), key=("id",))
    with pytest.raises(ValueError, match="key column cannot be updated"):
        BulkTable("t", ("a", "b"), key=("a",), update=("a", "b"))


def test_partition_names_are_per_utc_day() -> None:
    assert partition_name("machine_state", date(2026, 1, 9)) == "machine_state_p20260109"
