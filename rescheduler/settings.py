"""Rescheduler service settings (``SHOPFLOOR_RESCHEDULER_*``): triggers, solver, publication, alert delivery."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ReschedulerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SHOPFLOOR_RESCHEDULER_", env_file=None, extra="ignore", frozen=True)

    site_id: str = "plant1"
    # Host the HTTP API (capable-to-promise, health, current plan, metrics) listens on.
    http_host: str = "127.0.0.1"
    consumer_group: str = "rescheduler"
    # A burst of triggers is folded into one replan: wait for this much quiet, but never longer than max.
    debounce_quiet_s: Annotated[float, Field(gt=0)] = 2.0
    debounce_max_s: Annotated[float, Field(gt=0)] = 10.0
    time_limit_s: Annotated[float, Field(gt=0)] = 10.0
    num_workers: Annotated[int, Field(ge=1, le=64)] = 2
    # Horizon the problem covers (calendar unavailability is computed over it).
    horizon_days: Annotated[int, Field(ge=1, le=365)] = 28
    # Plan versions kept in the database (older ones are deleted with their operations).
    keep_plans: Annotated[int, Field(ge=1)] = 200
    # Operations starting within this many minutes of "now" are frozen like started ones, so the floor
    # is not told to change what it is about to start.
    freeze_window_min: Annotated[float, Field(ge=0)] = 0.0
    # Expected repair time of every breakdown; unset, each machine's MTTR from the plant.
    repair_h: Annotated[float, Field(gt=0)] | None = None
    # A standard time learned from the scans (streams/orders) replaces the routing's from this many samples on.
    min_learned_samples: Annotated[int, Field(ge=1)] = 5
    # Purchasing hears when an order's material is needed at least this much earlier than before.
    material_earlier_min_h: Annotated[float, Field(ge=0)] = 4.0
    # How long Kafka has to acknowledge a published event (plans, alerts) before the attempt fails; the
    # producer gives up on the message then too, so a failed attempt never turns up late as a duplicate.
    publish_timeout_s: Annotated[float, Field(gt=0)] = 30.0

    webhook_url: str | None = None
    webhook_secret: SecretStr = SecretStr("")
    webhook_timeout_s: Annotated[float, Field(gt=0)] = 5.0
    webhook_attempts: Annotated[int, Field(ge=1, le=20)] = 4
    webhook_backoff_s: Annotated[float, Field(ge=0)] = 0.5

    # A failed alert delivery waits this long before its next attempt, doubling up to the max; it is
    # never given up. From this many failed attempts on it counts as failing (log error, metric, alert row).
    alert_retry_base_s: Annotated[float, Field(ge=0)] = 5.0
    alert_retry_max_s: Annotated[float, Field(gt=0)] = 900.0
    alert_failing_after: Annotated[int, Field(ge=1)] = 5

    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_from: str = "rescheduler@shopfloor.local"
    smtp_to_sales: list[str] = Field(default_factory=list)
    smtp_to_purchasing: list[str] = Field(default_factory=list)
    smtp_to_planning: list[str] = Field(default_factory=list)
    smtp_timeout_s: Annotated[float, Field(gt=0)] = 10.0
