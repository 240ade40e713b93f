"""Versioned SQL migrations: ``NNN_name.sql`` files applied in order, each once, each in its own transaction.

``schema_migrations`` records version, name, checksum and time of every applied file; a file whose
content changed after it was applied is an error (write a new migration instead). A session-level
advisory lock per schema keeps two migrators from racing. Any ``NNN_*.sql`` in the directory is
picked up, so other concerns add their files (e.g. 010-019 for planning) without touching this code.
"""

from __future__ import annotations

import hashlib
import re
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from psycopg import sql

from shopfloor.db.partitions import PartitionReport, apply_timescale_retention, maintain_partitions
from shopfloor.db.pool import Connection, connect
from shopfloor.settings import PostgresSettings

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

# Earlier contents of a shipped migration that was corrected in place, with why. A database that applied
# one of them is up to date with that version: the correction's effect comes in a later migration.
# Only for a migration that cannot run at all as it was (a fresh install would stop there).
REVISED_CHECKSUMS: dict[int, dict[str, str]] = {
    3: {
        "65611ec253b38b4a0d65e770ffe78aac40e181a67b60a770203f8efb8f473b7f": (
            "enabled TimescaleDB compression without event_id (a key column) in segment-by or order-by, "
            "which older releases refuse; 005 sets compression now"
        ),
    },
}
_FILE_NAME = re.compile(r"^(\d{3})_([a-z0-9_]+)\.sql$")


class MigrationError(RuntimeError):
    """Migrations cannot be applied as they are (changed checksum, duplicate version, bad file name)."""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class MigrationStatus:
    version: int
    name: str
    applied_at: datetime | None


def discover(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """Every ``NNN_name.sql`` file of the directory, by version; other files are ignored."""
    found: dict[int, Migration] = {}
    for path in sorted(directory.glob("*.sql")):
        match = _FILE_NAME.match(path.name)
        if match is None:
            raise MigrationError(f"migration file {path.name!r} is not named NNN_lowercase_name.sql")
        version = int(match.group(1))
        if version in found:
            raise MigrationError(f"two migrations with version {version:03d}: {found[version].name}, {match.group(2)}")
        found[version] = Migration(version, match.group(2), path.read_text(encoding="utf-8"))
    return [found[version] for version in sorted(found)]


def _lock_key(schema: str) -> int:
    # A signed 64-bit key per schema: migrators of different schemas do not wait for each other.
    return zlib.crc32(f"shopfloor.migrate.{schema}".encode())


def _prepare_schema(conn: Connection, schema: str) -> None:
    conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
    # The connection's search_path was set before the schema existed; set it again for this session.
    conn.execute("SELECT set_config('search_path', %s, false)", (f'"{schema}", public',))
    conn.execute(
        """
        CREATE TABLE IF NOT EXISTS schema_migrations (
            version    integer     PRIMARY KEY,
            name       text        NOT NULL,
            checksum   text        NOT NULL,
            applied_at timestamptz NOT NULL DEFAULT now()
        )
        """
    )


def _applied(conn: Connection) -> dict[int, tuple[str, str, datetime]]:
    rows = conn.execute("SELECT version, name, checksum, applied_at FROM schema_migrations").fetchall()
    return {int(version): (str(name), str(checksum), applied_at) for version, name, checksum, applied_at in rows}


@contextmanager
def migration_lock(conn: Connection, schema: str) -> Iterator[None]:
    """Hold the schema's migration lock (session-level advisory lock) for the block."""
    conn.execute("SELECT pg_advisory_lock(%s)", (_lock_key(schema),))
    try:
        yield
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", (_lock_key(schema),))


def apply_migrations(conn: Connection, schema: str, migrations: list[Migration]) -> list[int]:
    """Apply the pending migrations; the caller holds :func:`migration_lock`. Returns the versions applied."""
    if not conn.autocommit:
        raise MigrationError("migrations need an autocommit connection (each file is its own transaction)")
    _prepare_schema(conn, schema)
    applied = _applied(conn)
    done: list[int] = []
    for migration in migrations:
        if migration.version in applied:
            name, checksum, _at = applied[migration.version]
            if checksum != migration.checksum and checksum not in REVISED_CHECKSUMS.get(migration.version, {}):
                raise MigrationError(
                    f"migration {migration.version:03d}_{name} was changed after it was applied "
                    f"(checksum {checksum[:12]} applied, {migration.checksum[:12]} now): add a new migration"
                )
            continue
        with conn.transaction():
            # No parameters: psycopg sends the file as is, several statements at once.
            conn.execute(migration.sql.encode())
            conn.execute(
                "INSERT INTO schema_migrations (version, name, checksum) VALUES (%s, %s, %s)",
                (migration.version, migration.name, migration.checksum),
            )
        done.append(migration.version)
    return done


def maintain(conn: Connection, settings: PostgresSettings) -> PartitionReport:
    """DEFAULT partitions drained, partitions ahead, retention. Run under :func:`migration_lock`."""
    report = maintain_partitions(conn, settings.partitions_ahead_days, settings.raw_retention_days)
    apply_timescale_retention(conn, settings.raw_retention_days)
    return report


def migrate(settings: PostgresSettings, directory: Path = MIGRATIONS_DIR) -> list[int]:
    """Create the schema if missing, apply pending migrations, then create the partitions ahead."""
    migrations = discover(directory)
    with connect(settings, autocommit=True) as conn, migration_lock(conn, settings.db_schema):
        done = apply_migrations(conn, settings.db_schema, migrations)
        maintain(conn, settings)
    return done


def status(settings: PostgresSettings, directory: Path = MIGRATIONS_DIR) -> list[MigrationStatus]:
    """Every known migration with when it was applied (None = pending)."""
    with connect(settings, autocommit=True) as conn:
        exists = conn.execute("SELECT to_regclass(%s)", (f'"{settings.db_schema}".schema_migrations',)).fetchone()
        applied = _applied(conn) if exists and exists[0] is not None else {}
    return [
        MigrationStatus(m.version, m.name, applied[m.version][2] if m.version in applied else None)
        for m in discover(directory)
    ]
