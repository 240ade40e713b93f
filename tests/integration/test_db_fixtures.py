"""The shared fixtures give each test its own migrated schema."""

from __future__ import annotations

import pytest

from shopfloor.db.pool import Connection
from shopfloor.settings import PostgresSettings

pytestmark = pytest.mark.integration


def test_db_conn_is_on_the_test_schema_with_migrations_applied(
    db_conn: Connection, pg_settings: PostgresSettings
) -> None:
    schema = db_conn.execute("SELECT current_schema()").fetchone()
    assert schema == (pg_settings.db_schema,)
    versions = [row[0] for row in db_conn.execute("SELECT version FROM schema_migrations ORDER BY 1")]
    assert versions[:4] == [1, 2, 3, 4]
