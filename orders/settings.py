"""Order hub settings (``SHOPFLOOR_ORDERS_*``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr

from shopfloor.settings import PROJECT_ROOT
from shopfloor.settings._base import Settings, settings_config


class OrdersSettings(Settings):
    model_config = settings_config("orders")

    # The plant (products, routings, customers, rules) and the hub's own YAML (custom fields, approval
    # rules, channels) that goes with it.
    plant: Path = PROJECT_ROOT / "infra" / "plants" / "demo.yaml"
    config: Path = PROJECT_ROOT / "infra" / "plants" / "demo.orders.yaml"
    http_host: str = "127.0.0.1"
    http_port: Annotated[int, Field(ge=1, le=65535)] = 8091
    # Serial numbers read <prefix>-<year>-<number>, e.g. SO-2026-000123.
    serial_prefix: Annotated[str, Field(pattern=r"^[A-Z]{1,8}$")] = "SO"
    serial_digits: Annotated[int, Field(ge=4, le=12)] = 6
    page_max: Annotated[int, Field(ge=1, le=10_000)] = 500

    # The outbox publisher: how often it looks for pending events, how many it sends per round, and how
    # long Kafka has to acknowledge them (the producer gives up on them then too, so a failed round never
    # turns up later as a duplicate).
    publish_interval_s: Annotated[float, Field(gt=0)] = 0.2
    publish_batch: Annotated[int, Field(ge=1, le=10_000)] = 500
    publish_timeout_s: Annotated[float, Field(gt=0)] = 10.0

    # Outbound webhook on order events (an ERP, finance), signed with shopfloor.auth.signing.
    webhook_url: str | None = None
    webhook_secret: SecretStr = SecretStr("")
    webhook_timeout_s: Annotated[float, Field(gt=0)] = 5.0

    # Channel webhooks: a signed request older (or newer) than this is refused.
    channel_tolerance_s: Annotated[int, Field(ge=1, le=3600)] = 300
    # Secrets of the channels: channel name -> secret (JSON in SHOPFLOOR_ORDERS_CHANNEL_SECRETS).
    channel_secrets: dict[str, SecretStr] = Field(default_factory=dict)

    # The rescheduler's HTTP API (capable-to-promise for change impact and the what-if), with a token of
    # role sales or planner (`shopfloor auth token create --role planner`).
    rescheduler_url: str | None = None
    rescheduler_token: SecretStr = SecretStr("")
    rescheduler_timeout_s: Annotated[float, Field(gt=0)] = 30.0

    # Change sign-off notices: SMTP to each department's addresses, and a signed webhook.
    smtp_host: str | None = None
    smtp_port: Annotated[int, Field(ge=1, le=65535)] = 25
    smtp_from: str = "orders@shopfloor.local"
    smtp_timeout_s: Annotated[float, Field(gt=0)] = 10.0
    change_webhook_url: str | None = None
