"""One place where an edge MQTT client takes its account from the settings."""

from __future__ import annotations

import paho.mqtt.client as mqtt

from shopfloor.settings import MqttSettings


def login(client: mqtt.Client, settings: MqttSettings) -> None:
    """Set the client's username and password when the settings name an account (anonymous otherwise)."""
    if settings.username:
        password = settings.password.get_secret_value() if settings.password is not None else None
        client.username_pw_set(settings.username, password)
