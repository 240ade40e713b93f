"""What one bridge instance is: its id (the MQTT client id of its persistent session) and its knobs."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from shopfloor.events import Model
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
    # Larger packets are never sent to us (MQTT 5 Maximum Packet Size), so a 10 MB dump cannot reach
    # the bridge's memory; between 64 KiB and this, messages are dead-lettered as oversized.
    max_packet_bytes: Annotated[int, Field(ge=64 * 1024 + 1024)] = 256 * 1024
    linger_ms: Annotated[float, Field(ge=0, le=1000)] = 5.0

    @property
    def client_id(self) -> str:
        return f"shopfloor-bridge-{self.bridge_id}"

    def subscription(self, enterprise: str, site: str) -> str:
        topic = f"{MQTT_ROOT}/{enterprise}/{site}/{self.topic_filter}"
        return f"$share/{self.share_group}/{topic}" if self.share_group else topic
