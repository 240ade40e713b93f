"""TimescaleDB compression of the raw tables is configured once (migration 005) so that every primary-key
column is a segment-by or an order-by column, which older releases of the extension require."""

from __future__ import annotations

import re

import pytest

from shopfloor.db.migrate import REVISED_CHECKSUMS, discover

pytestmark = pytest.mark.unit


def primary_keys(sql: str) -> dict[str, set[str]]:
    """table -> primary-key columns, from shopfloor_create_time_table(...) calls."""
    keys = {}
    for table, body in re.findall(r"shopfloor_create_time_table\('(\w+)', \$cols\$(.*?)\$cols\$", sql, re.S):
        match = re.search(r"PRIMARY KEY \(([^)]*)\)", body)
        assert match, table
        keys[table] = {c.strip() for c in match.group(1).split(",")}
    return keys


def compression_settings(sql: str) -> tuple[dict[str, set[str]], set[str]]:
    """(table -> segment-by columns, order-by columns) as migration 005 sets them."""
    segmentby = {t: {c.strip() for c in cols.split(",")} for t, cols in re.findall(r"\('(\w+)', '([^']*)'\)", sql)}
    (orderby,) = re.findall(r"%L\)',\s*t\.table_name, t\.segmentby, '([^']*)'", sql)
    return segmentby, {c.strip().split()[0] for c in orderby.split(",")}


def test_every_key_column_is_segmented_or_ordered_by() -> None:
    migrations = {m.version: m for m in discover()}
    keys = primary_keys(migrations[2].sql)
    segmentby, orderby = compression_settings(migrations[5].sql)
    assert set(segmentby) == {"machine_state", "machine_counter", "machine_process"}
    for table, columns in segmentby.items():
        assert "event_id" not in columns, f"{table}: a UUID per row would make one-row segments"
        assert keys[table] <= columns | orderby, (table, keys[table], columns, orderby)
    assert orderby == {"ts", "event_id"}


def test_compression_is_set_in_one_migration_only() -> None:
    setting = [m.version for m in discover() if "timescaledb.compress" in m.sql]
    assert setting == [5]
    # 003 was corrected in place: a database that applied it as it was stays valid.
    assert set(REVISED_CHECKSUMS) == {3}
    assert discover()[2].checksum not in REVISED_CHECKSUMS[3]
