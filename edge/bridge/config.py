"""What one bridge instance is: its id (the MQTT client id of its persistent session) and its knobs."""

from __future__ import annotations

from typing import Annotated, Literal

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
