"""Dashboard settings (``SHOPFLOOR_DASHBOARDS_*``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field

from shopfloor.settings import PROJECT_ROOT
from shopfloor.settings._base import Settings, settings_config


class DashboardSettings(Settings):
    model_config = settings_config("dashboards")

    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 8090
    plant_file: Path = PROJECT_ROOT / "infra" / "plants" / "demo.yaml"
    # One poll of the database for all clients of a page, then fan-out: the live delay is at most this.
    poll_interval_s: Annotated[float, Field(gt=0, le=60)] = 0.25
    # The board's charts over minutes, shifts and days (heatmap, OEE, load, pool, on-time, Pareto) are
    # recomputed this often; tiles, bottlenecks, late orders and alerts at every poll.
    slow_refresh_s: Annotated[float, Field(gt=0, le=300)] = 5.0
    # A page turns stale when its newest data is older than this (processors stopped) ...
    stale_after_s: Annotated[float, Field(gt=0)] = 10.0
    # ... or when the browser has heard nothing on its stream for this long (the stream is down).
    heartbeat_s: Annotated[float, Field(gt=0)] = 2.0
    # Events kept per page stream for reconnects with Last-Event-ID; older ids get a fresh snapshot.
    replay_buffer: Annotated[int, Field(ge=16)] = 512
    # How many coming days the workcenter load chart covers.
    load_days: Annotated[int, Field(ge=1, le=31)] = 5
