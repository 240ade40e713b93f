"""MQTT settings (``SHOPFLOOR_MQTT_*``)."""

from __future__ import annotations

from pydantic import SecretStr

from shopfloor.settings._base import Settings, settings_config


class MqttSettings(Settings):
    model_config = settings_config("mqtt")

    host: str = "127.0.0.1"
    port: int = 11883
    username: str | None = None
    password: SecretStr | None = None
    enterprise: str = "acme"
    site: str = "plant1"
    keepalive_s: int = 30
