"""Channel webhooks in: check the signature and its age, map the channel's JSON onto an order, and make
one order per delivery however often it is retried."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping as MappingType
from typing import Any

from pydantic import ValidationError

from orders.channels import Mapping, load_mapping
from orders.config import HubConfig
from orders.hub import HubError, OrderHub, field_error
from orders.intake_store import Delivery
from orders.models import OrderIn, OrderOut
from shopfloor.auth import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify

IDEMPOTENCY_HEADER = "Idempotency-Key"
MAX_BODY = 1_000_000


class ChannelIntake:
    def __init__(self, hub: OrderHub, config: HubConfig) -> None:
        self._hub = hub
        self._channels: dict[str, tuple[Mapping, list[str]]] = {}
        for name, channel in config.channels.items():
            mapping = load_mapping(channel.mapping)
            self._channels[name] = (mapping, [*channel.tags, *(t for t in mapping.tags if t not in channel.tags)])

    def _authentic(self, channel: str, headers: MappingType[str, str], body: bytes) -> str:
        secret = self._hub.settings.channel_secrets.get(channel)
        if secret is None or not secret.get_secret_value():
            raise HubError(503, f"channel {channel!r} has no secret configured: every delivery is refused")
        signature = headers.get(SIGNATURE_HEADER.lower()) or headers.get(SIGNATURE_HEADER)
        stamp = headers.get(TIMESTAMP_HEADER.lower()) or headers.get(TIMESTAMP_HEADER)
        if not signature or not stamp or not stamp.isdigit() or len(stamp) > 12:
            raise HubError(401, f"a delivery needs the {SIGNATURE_HEADER} and {TIMESTAMP_HEADER} headers")
        now = int(self._hub.clock().timestamp())
        tolerance = self._hub.settings.channel_tolerance_s
        if abs(now - int(stamp)) > tolerance:
            raise HubError(401, f"timestamp {stamp} is more than {tolerance} s away from now ({now})")
        if not verify(secret.get_secret_value().encode(), int(stamp), body, signature, now=now, tolerance_s=tolerance):
            raise HubError(401, "signature does not match the body and timestamp")
        return signature

    def receive(self, channel: str, headers: MappingType[str, str], body: bytes) -> OrderOut:
        if channel not in self._channels:
            raise HubError(404, f"no channel {channel!r}")
        if len(body) > MAX_BODY:
            raise HubError(413, f"a delivery is at most {MAX_BODY} bytes")
        signature = self._authentic(channel, headers, body)
        try:
            doc: Any = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise HubError(422, [field_error([], f"not JSON: {exc}", "json_invalid")]) from None
        mapping, tags = self._channels[channel]
        mapped = mapping.apply(doc, channel)
        try:
            order = OrderIn.model_validate(mapped)
        except ValidationError as exc:
            errors = exc.errors(include_url=False, include_context=False, include_input=False)
            raise HubError(422, [field_error(["mapped", *e["loc"]], e["msg"], e["type"]) for e in errors]) from None
        key = headers.get(IDEMPOTENCY_HEADER.lower()) or headers.get(IDEMPOTENCY_HEADER) or order.external_id
        if not key or len(key) > 200:
            raise HubError(
                422, [field_error([IDEMPOTENCY_HEADER], "no idempotency key or channel order id", "missing")]
            )
        delivery = Delivery(channel, key, hashlib.sha256(body).hexdigest(), signature)
        return self._hub.create(order, f"channel:{channel}", tags, delivery)
