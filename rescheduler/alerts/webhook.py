"""Signed webhook delivery with retries and exponential backoff."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import httpx

from shopfloor.auth.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign

log = logging.getLogger(__name__)


class DeliveryError(RuntimeError):
    """Every attempt failed; the caller leaves the delivery pending and tries again later."""


def post_signed(
    client: httpx.Client,
    url: str,
    secret: bytes,
    body: bytes,
    *,
    attempts: int = 4,
    backoff_s: float = 0.5,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """POST ``body`` signed with ``secret``; returns the attempt number that succeeded (1-based).

    Server errors, 429 and transport errors are retried with backoff doubling each time; other 4xx
    answers mean the receiver rejects the message itself, so retrying cannot help.
    """
    last = ""
    for attempt in range(1, attempts + 1):
        # Each attempt is signed afresh so its timestamp stays within the receiver's tolerance.
        timestamp = int(clock())
        headers = {
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: sign(secret, timestamp, body),
        }
        try:
            response = client.post(url, content=body, headers=headers)
        except httpx.TransportError as exc:
            last = f"{type(exc).__name__}: {exc}"
        else:
            if response.is_success:
                return attempt
            last = f"HTTP {response.status_code}"
            if response.status_code < 500 and response.status_code != 429:
                raise DeliveryError(f"webhook {url} rejected the alert: {last}")
        log.warning("webhook attempt %d/%d to %s failed: %s", attempt, attempts, url, last)
        if attempt < attempts:
            sleep(backoff_s * 2 ** (attempt - 1))
    raise DeliveryError(f"webhook {url} failed after {attempts} attempts: {last}")
