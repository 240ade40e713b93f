"""Throughput of the idempotent raw writer: COPY to staging + INSERT ... ON CONFLICT, one commit per batch.

    .venv/bin/python benchmarks/db_write.py [--events 100000] [--batch 5000]

Runs against the PostgreSQL of the settings (SHOPFLOOR_PG_*) in a throwaway schema, dropped at the end.
Reports rows/s for new events and for the same events written again (all duplicates, as after a
Kafka redelivery).
"""

from __future__ import annotations

import argparse
import time
import uuid
from datetime import UTC, datetime, timedelta

from psycopg import sql

from shopfloor.db.migrate import migrate
from shopfloor.db.pool import connect
from shopfloor.db.raw import write_raw_events
from shopfloor.events import EventBase, MachineState, MachineStateEvent, MachineStatePayload
from shopfloor.settings import PostgresSettings

STATES = list(MachineState)


def make_events(count: int) -> list[EventBase]:
    start = datetime.now(UTC)
    return [
        MachineStateEvent(
            event_id=uuid.uuid4(),
            source="bench",
            seq=i,
            ts=start + timedelta(milliseconds=i),
            payload=MachineStatePayload(machine_id=f"M{i % 40}", state=STATES[i % len(STATES)]),
        )
        for i in range(count)
    ]


def timed_write(settings: PostgresSettings, events: list[EventBase], batch: int) -> tuple[int, float]:
    written = 0
    with connect(settings) as conn:
        began = time.perf_counter()
        for offset in range(0, len(events), batch):
            written += write_raw_events(conn, events[offset : offset + batch])
        return written, time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=5_000)
    args = parser.parse_args()
    settings = PostgresSettings(db_schema=f"bench_{uuid.uuid4().hex[:8]}")
    events = make_events(args.events)
    try:
        migrate(settings)
        for label in ("new", "duplicates"):
            written, seconds = timed_write(settings, events, args.batch)
            print(
                f"{label:>10}: {len(events)} events in batches of {args.batch}, {written} rows written, "
                f"{seconds:.2f} s, {len(events) / seconds:,.0f} events/s"
            )
    finally:
        with connect(settings, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(settings.db_schema)))


if __name__ == "__main__":
    main()
