"""Database access: connection pool, versioned migrations, time partitions, bulk writes, current state.

``time_path(conn)`` says which way the time tables are kept: ``"hypertable"`` (TimescaleDB: chunks,
compression and retention policies) or ``"partitioned"`` (plain PostgreSQL: daily partitions, a DEFAULT
partition drained by ``shopfloor db maintain``, retention by dropping partitions).
"""

from shopfloor.db.partitions import TimePath, time_path

__all__ = ["TimePath", "time_path"]
