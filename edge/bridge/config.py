"""What one bridge instance is: its id (the MQTT client id of its persistent session) and its knobs."""

from __future__ import annotations

from typing import Annotated, Literal

from paho.mqtt.properties import Properties
from pydantic import Field

from shopfloor.events import Model
from shopfloor.stack.mosquitto import MAX_PACKET_SIZE
from shopfloor.topics import MQTT_ROOT

ShareGroup = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.\-]{1,64}$")]


class BridgeConfig(Model):
    # Fixed per instance: the broker keeps this client's session (subscription + unacked messages)
    # across crashes, so a restarted bridge with the same id gets everything it had not acknowledged.
    bridge_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")]
    # MQTT shared subscription group; None subscribes directly. See README.md for what it does to order.
    share_group: ShareGroup | None = None
    # Topic filter below <enterprise>/<site>: "#" for the whole site, "<area>/#" or "<area>/<line>/#"
    # to split a plant across bridges so each key stays on one bridge.
    topic_filter: Annotated[str, Field(min_length=1, max_length=256)] = "#"
    mqtt_protocol: Literal["5", "3.1.1"] = "5"
    # How long the broker keeps the session (and queues messages) while the bridge is away (MQTT 5).
    session_expiry_s: Annotated[int, Field(ge=60)] = 7 * 24 * 3600
    # Unacknowledged messages the broker may have out to us (MQTT 5 Receive Maximum): the pipeline depth.
    receive_maximum: Annotated[int, Field(ge=1, le=65535)] = 1000
    # MQTT 5 Maximum Packet Size we announce: the broker never sends us a larger packet, and drops it
    # without a word after the publisher had its PUBACK. So it is the broker's own max_packet_size (the
    # project's broker config: 1 MiB): whatever the broker accepts reaches the bridge, and messages over
    # 64 KiB are dead-lettered as oversized. The bridge warns at connect when the broker accepts more.
    max_packet_bytes: Annotated[int, Field(ge=64 * 1024 + 1024)] = MAX_PACKET_SIZE
    linger_ms: Annotated[float, Field(ge=0, le=1000)] = 5.0

    @property
    def client_id(self) -> str:
        return f"shopfloor-bridge-{self.bridge_id}"

    def subscription(self, enterprise: str, site: str) -> str:
        topic = f"{MQTT_ROOT}/{enterprise}/{site}/{self.topic_filter}"
        return f"$share/{self.share_group}/{topic}" if self.share_group else topic


def packet_size_mismatch(config: BridgeConfig, connack: Properties | None) -> str | None:
    """Why messages the broker accepts could be dropped before they reach us (None when they cannot).

    The broker announces in CONNACK the largest packet it accepts (MQTT 5, 3.2.2.3.6; absent: no limit).
    A publish between our announced maximum and that is acknowledged to its publisher and then dropped.
    """
    broker_max = getattr(connack, "MaximumPacketSize", None) if connack is not None else None
    if broker_max is None:
        return (
            f"the broker announces no Maximum Packet Size: messages over {config.max_packet_bytes} bytes are "
            "acknowledged to their publisher and never reach the bridge; set the broker's max_packet_size"
        )
    if broker_max > config.max_packet_bytes:
        return (
            f"the broker accepts packets up to {broker_max} bytes but the bridge announces "
            f"{config.max_packet_bytes}: messages in between never reach it; raise max_packet_bytes"
        )
    return None
