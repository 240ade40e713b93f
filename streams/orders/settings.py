"""Settings of the order processor (``SHOPFLOOR_STREAMS_ORDERS_*``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field

from shopfloor.settings._base import PROJECT_ROOT, Settings, settings_config


class OrdersStreamSettings(Settings):
    model_config = settings_config("streams_orders")

    # The faust app id: consumer group and the prefix of its changelog topics (the Kafka topic prefix
    # is prepended, so each test or plant has its own).
    app_id: str = "shopfloor-orders"
    # rocksdb:// keeps table state on disk (faust-streaming drives it through the rocksdict wheel), so a
    # restart reads only the changelog's tail; memory:// replays the whole changelog at start.
    store: str = "rocksdb://"
    data_dir: Path = PROJECT_ROOT / ".state" / "streams-orders"
    plant_file: Path = PROJECT_ROOT / "infra" / "plants" / "demo.yaml"
    # One database transaction per batch of up to batch_max events or batch_within_s seconds.
    batch_max: Annotated[int, Field(ge=1)] = 5000
    batch_within_s: Annotated[float, Field(gt=0)] = 0.5
    # Workcenter load and bottleneck detection run this often (a bottleneck must show within 5 s).
    load_interval_s: Annotated[float, Field(gt=0)] = 1.0
    # Order pool and on-time delivery.
    pool_interval_s: Annotated[float, Field(gt=0)] = 60.0
    horizon_days: tuple[float, ...] = (1.0, 3.0, 7.0)
    # Bottleneck detection: queue over enter_ratio x capacity of this horizon; clear below exit_ratio
    # for clear_hold_s.
    bottleneck_horizon: str = "3d"
    enter_ratio: Annotated[float, Field(gt=0)] = 1.0
    exit_ratio: Annotated[float, Field(gt=0)] = 0.9
    clear_hold_s: Annotated[float, Field(ge=0)] = 30.0
    # A learned standard time replaces the routing's from this many samples on.
    min_samples: Annotated[int, Field(ge=1)] = 5
    # The watchdog ends the worker (for its supervisor to restart) when events wait this long unprocessed.
    stall_s: Annotated[float, Field(gt=0)] = 60.0
    # The supervisor restarts a worker that exited, after this pause, at most this often in a row.
    restart_backoff_s: Annotated[float, Field(ge=0)] = 2.0
    max_restarts: Annotated[int, Field(ge=0)] = 100
