"""How fresh the pages say their data is: processor heartbeats when there are any, else the newest writes."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from dashboards.queries import data_as_of
from shopfloor.db.pool import connect
from shopfloor.plant import load_plant
from shopfloor.settings import PROJECT_ROOT, PostgresSettings
from streams.heartbeat import Heartbeat
from tests.dashboards_support.pg import dash_pg, dash_pg_server  # noqa: F401
from tests.dashboards_support.writer import FixtureFeed

pytestmark = pytest.mark.integration

PLANT = load_plant(PROJECT_ROOT / "infra" / "plants" / "demo.yaml")


def beat_at(pg: PostgresSettings, processor: str) -> datetime | None:
    with connect(pg) as conn:
        row = conn.execute("SELECT beat_at FROM processor_heartbeat WHERE processor = %s", (processor,)).fetchone()
        return row[0] if row else None


def test_heartbeats_decide_freshness_and_the_oldest_counts(dash_pg: PostgresSettings) -> None:  # noqa: F811
    feed = FixtureFeed(dash_pg, PLANT)
    now = datetime.now(UTC)
    feed.set_machine_state("H1", "RUNNING", at=now - timedelta(seconds=1))
    with connect(dash_pg) as conn:
        # No processor beats (fixture rows, older processors): the newest write stands for the pipeline.
        (received,) = conn.execute("SELECT max(received_at) FROM machine_state").fetchone() or (None,)
        assert data_as_of(conn, now) == received
        # Both beat: the oldest beat counts, however fresh the writes (the raw sink is down here).
        conn.execute(
            "INSERT INTO processor_heartbeat (processor, beat_at, instance) VALUES"
            " ('raw', now() - interval '30 s', 'a'), ('utilization', now(), 'b')"
        )
        (raw_beat,) = conn.execute("SELECT beat_at FROM processor_heartbeat WHERE processor = 'raw'").fetchone() or (
            None,
        )
        assert data_as_of(conn, now) == raw_beat
        # Another processor's beat (not read by the pages) changes nothing.
        conn.execute("INSERT INTO processor_heartbeat (processor, instance) VALUES ('orders', 'c')")
        assert data_as_of(conn, now) == raw_beat
        conn.commit()


def test_heartbeat_beats_only_while_its_processor_goes_round(dash_pg: PostgresSettings) -> None:  # noqa: F811
    alive = [True]
    beat = Heartbeat(dash_pg, "raw", interval_s=0.1, alive=lambda: alive[0]).start()
    try:
        deadline = time.monotonic() + 10
        while beat_at(dash_pg, "raw") is None and time.monotonic() < deadline:
            time.sleep(0.05)
        first = beat_at(dash_pg, "raw")
        assert first is not None
        time.sleep(0.4)
        moving = beat_at(dash_pg, "raw")
        assert moving is not None and moving > first
        alive[0] = False  # the loop is stuck: the row stops moving although the thread lives
        time.sleep(0.3)
        stuck = beat_at(dash_pg, "raw")
        time.sleep(0.5)
        assert beat_at(dash_pg, "raw") == stuck
    finally:
        beat.stop()
