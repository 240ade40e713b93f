"""MQTT settings (``SHOPFLOOR_MQTT_*``)."""

from __future__ import annotations

from pydantic import SecretStr

from shopfloor.settings._base import Settings, settings_config


class MqttSettings(Settings):
    model_config = settings_config("mqtt")

    host: str = "127.0.0.1"
    port: int = 11883
    # The service account of the local stack's broker (read/write under shopfloor/v1/#); a broker that
    # allows anonymous clients ignores it.
    username: str | None = "shopfloor"
    password: SecretStr | None = SecretStr("shopfloor")
    enterprise: str = "acme"
    site: str = "plant1"
    keepalive_s: int = 30
