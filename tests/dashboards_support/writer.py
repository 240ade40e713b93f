"""Fixture rows in the tables the stream processors, the rescheduler and the order hub write.

:class:`FixtureFeed` plays the whole pipeline for the dashboard tests: it writes the same rows the
processors would (current machine states, raw state and counter events, minute utilization, order pool,
workcenter load, a plan, orders). Its ``start()``/``stop()`` run and stop a background "processor" that
keeps counters and minute aggregates coming, so the board's freshness can be tested. A feed built on the
real processors (publish on MQTT, let them write) offers the same methods and can be swapped in.
"""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime
from typing import Protocol

from shopfloor.db.pool import Connection, connect
from shopfloor.plant import Plant
from shopfloor.settings import PostgresSettings


class Feed(Protocol):
    def set_machine_state(self, machine_id: str, state: str, reason: str | None = None) -> None: ...
    def start(self) -> None: ...
    def stop(self) -> None: ...


def now_utc() -> datetime:
    return datetime.now(UTC)


class FixtureFeed:
    def __init__(self, pg: PostgresSettings, plant: Plant, *, interval_s: float = 0.5) -> None:
        self.pg = pg
        self.plant = plant
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._seq = 0

    # --- machines ------------------------------------------------------------------------------------

    def set_machine_state(
        self, machine_id: str, state: str, reason: str | None = None, at: datetime | None = None
    ) -> None:
        """As the raw writer and the state processor would: a machine_state event and the current state."""
        with connect(self.pg) as conn:
            self.write_state(conn, machine_id, state, reason, at)
            conn.commit()

    def write_state(
        self, conn: Connection, machine_id: str, state: str, reason: str | None = None, at: datetime | None = None
    ) -> None:
        ts = at or now_utc()
        event_id = uuid.uuid4()
        self._seq += 1
        conn.execute(
            "INSERT INTO machine_state (event_id, ts, machine_id, state, reason_code, source, seq)"
            " VALUES (%s, %s, %s, %s, %s, 'fixture', %s)",
            (event_id, ts, machine_id, state, reason, self._seq),
        )
        conn.execute(
            "INSERT INTO machine_current_state (machine_id, state, since, event_id) VALUES (%s, %s, %s, %s)"
            " ON CONFLICT (machine_id) DO UPDATE SET state = excluded.state, since = excluded.since,"
            " event_id = excluded.event_id WHERE machine_current_state.since <= excluded.since",
            (machine_id, state, ts, event_id),
        )

    def write_utilization(
        self, conn: Connection, machine_id: str, bucket: datetime, running_s: float, oee: float, good: int = 100
    ) -> None:
        idle = 60.0 - running_s
        conn.execute(
            "INSERT INTO machine_utilization_1m (machine_id, bucket, running_s, idle_s, good, scrap,"
            " availability, performance, quality, oee) VALUES (%s, %s, %s, %s, %s, 1, %s, 0.95, 0.99, %s)"
            " ON CONFLICT (machine_id, bucket) DO UPDATE SET running_s = excluded.running_s,"
            " idle_s = excluded.idle_s, oee = excluded.oee, availability = excluded.availability,"
            " updated_at = now()",
            (machine_id, bucket, running_s, idle, good, running_s / 60.0, oee),
        )

    def counter(self, machine_id: str, good: int, scrap: int) -> None:
        self._seq += 1
        with connect(self.pg) as conn:
            conn.execute(
                "INSERT INTO machine_counter (event_id, ts, machine_id, good, scrap, source, seq)"
                " VALUES (%s, now(), %s, %s, %s, 'fixture', %s)",
                (uuid.uuid4(), machine_id, good, scrap, self._seq),
            )
            conn.commit()

    # --- the running "processor" ---------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="fixture-feed", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def _run(self) -> None:
        machines = [m.id for m in self.plant.all_machines()]
        count = 0
        with connect(self.pg) as conn:
            while not self._stop.is_set():
                count += 1
                self._seq += 1
                conn.execute(
                    "INSERT INTO machine_counter (event_id, ts, machine_id, good, scrap, source, seq)"
                    " VALUES (%s, now(), %s, %s, 0, 'fixture', %s)",
                    (uuid.uuid4(), machines[count % len(machines)], count, self._seq),
                )
                conn.commit()
                self._stop.wait(self.interval_s)
