"""The dashboards served by uvicorn on a free port in a background thread, over the test's schema."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import uvicorn

from dashboards import DashboardSettings, make_app
from shopfloor.auth import Role, StaticTokenStore
from shopfloor.db.pool import make_pool
from shopfloor.plant import Plant
from shopfloor.settings import PostgresSettings
from shopfloor.stack.process import free_port


@dataclass(frozen=True)
class Served:
    base_url: str
    viewer: str
    planner: str
    settings: DashboardSettings


def fast_settings(**overrides: object) -> DashboardSettings:
    values: dict[str, object] = {"poll_interval_s": 0.2, "stale_after_s": 5.0, "heartbeat_s": 1.0} | overrides
    return DashboardSettings.model_validate(values)


@dataclass(frozen=True)
class Tokens:
    store: StaticTokenStore
    viewer: str
    planner: str


def make_tokens() -> Tokens:
    store = StaticTokenStore()
    return Tokens(store, store.add("tv", [Role.VIEWER]), store.add("planner", [Role.PLANNER]))


@contextmanager
def served(
    pg: PostgresSettings,
    plant: Plant,
    settings: DashboardSettings | None = None,
    port: int | None = None,
    tokens: Tokens | None = None,
) -> Iterator[Served]:
    """Serve until the block ends; give ``port`` and ``tokens`` again to "restart" the same server."""
    settings = (settings or fast_settings()).model_copy(update={"port": port or free_port()})
    known = tokens or make_tokens()
    viewer, planner = known.viewer, known.planner
    with make_pool(pg, name="dash-test") as pool:
        app = make_app(settings, pool, plant=plant, tokens=known.store)
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=settings.port, log_level="warning", timeout_graceful_shutdown=2)
        )
        thread = threading.Thread(target=server.run, name="dash-uvicorn", daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)
        try:
            yield Served(f"http://127.0.0.1:{settings.port}", viewer, planner, settings)
        finally:
            server.should_exit = True
            thread.join(timeout=15)
