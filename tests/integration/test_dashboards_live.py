"""The live streams over HTTP (uvicorn, real PostgreSQL): events with ids, Last-Event-ID replay, a fresh
snapshot for a foreign id, and a status that says stale when the database is unreachable."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import pytest

from shopfloor.plant import load_plant
from shopfloor.settings import PROJECT_ROOT, PostgresSettings
from shopfloor.stack.process import free_port
from tests.dashboards_support.pg import dash_pg, dash_pg_server  # noqa: F401
from tests.dashboards_support.seed import seed
from tests.dashboards_support.serve import served
from tests.dashboards_support.writer import FixtureFeed

pytestmark = pytest.mark.integration

PLANT = load_plant(PROJECT_ROOT / "infra" / "plants" / "demo.yaml")
BOARD_SECTIONS = {"tiles", "heatmap", "oee", "load", "pool", "bottlenecks", "late", "alerts", "on_time", "pareto"}


@dataclass(frozen=True)
class Sse:
    id: str
    event: str
    data: str


def read_events(
    url: str,
    token: str,
    until: str | Callable[[Sse], bool],
    last_event_id: str | None = None,
    limit: int = 10_000,
) -> list[Sse]:
    """Events of one connection up to and including the first of type ``until`` (or matching it)."""
    done = until if callable(until) else (lambda e: e.event == until)
    headers = {"Authorization": f"Bearer {token}"}
    if last_event_id:
        headers["Last-Event-ID"] = last_event_id
    out: list[Sse] = []
    fields: dict[str, str] = {}
    with httpx.stream("GET", url, headers=headers, timeout=20) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if line == "":
                if "event" in fields:
                    out.append(Sse(fields.get("id", ""), fields["event"], fields.get("data", "")))
                    if done(out[-1]) or len(out) >= limit:
                        return out
                fields = {}
                continue
            name, _, value = line.partition(":")
            fields[name] = value.removeprefix(" ")
    return out


def h5_fault(event: Sse) -> bool:
    return event.event == "tiles" and {t["machine_id"]: t["state"] for t in json.loads(event.data)}["H5"] == "FAULT"


@pytest.fixture
def feed(dash_pg: PostgresSettings) -> Iterator[FixtureFeed]:  # noqa: F811
    found = FixtureFeed(dash_pg, PLANT)
    seed(found, datetime.now(UTC))
    yield found


def test_snapshot_changes_and_resume_from_last_event_id(feed: FixtureFeed) -> None:
    with served(feed.pg, PLANT) as app:
        url = f"{app.base_url}/live/board"
        first = read_events(url, app.viewer, "status")
        assert {e.event for e in first[:-1]} == BOARD_SECTIONS  # a new client gets every section
        assert all(e.id for e in first)
        resume_at = first[-1].id
        # Another TV stays connected, so the board keeps being polled while this client is away.
        with ThreadPoolExecutor(1) as pool:
            other = pool.submit(read_events, url, app.viewer, h5_fault)
            time.sleep(1)
            feed.set_machine_state("H5", "FAULT", "motor")
            other.result(timeout=20)
        # Missed while away: replayed from the buffer before the first status, not the whole board again.
        missed = read_events(url, app.viewer, "status", last_event_id=resume_at)
        assert "tiles" in {e.event for e in missed[:-1]} and "heatmap" not in {e.event for e in missed}
        assert h5_fault(next(e for e in missed if e.event == "tiles"))
        ids = [int(e.id.rsplit("-", 1)[1]) for e in missed[:-1]]
        assert ids == sorted(ids) and ids[0] > int(resume_at.rsplit("-", 1)[1])
        # An id from another server process (a restart) gets a full snapshot.
        foreign = read_events(url, app.viewer, "status", last_event_id="0-5")
        assert {e.event for e in foreign[:-1]} == BOARD_SECTIONS
        status = json.loads(foreign[-1].data)
        assert status["db_ok"] is True and status["stale"] is False  # seeded just now


def test_unreachable_database_is_reported_stale(feed: FixtureFeed) -> None:
    dead = feed.pg.model_copy(update={"port": free_port()})
    with served(dead, PLANT) as app:
        [status] = read_events(f"{app.base_url}/live/board", app.viewer, "status")
        body = json.loads(status.data)
        assert body["db_ok"] is False and body["stale"] is True and body["error"]
