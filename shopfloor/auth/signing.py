"""Request signatures: HMAC-SHA256 over ``<timestamp>.<body>``, as Stripe- and GitHub-style receivers expect.

One scheme for every signed request of shopfloor: webhooks the rescheduler and the order hub send out, and
webhooks sales channels send in. The timestamp is signed with the body so a captured request cannot be
replayed later with a new timestamp; receivers check the signature and that the timestamp is recent, and
keep an idempotency key against replays within the tolerance.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Final

SIGNATURE_HEADER: Final = "X-Shopfloor-Signature"
TIMESTAMP_HEADER: Final = "X-Shopfloor-Timestamp"
SCHEME: Final = "sha256="


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    """Header value of the signature of ``body`` sent at ``timestamp`` (unix seconds)."""
    mac = hmac.new(secret, str(timestamp).encode() + b"." + body, hashlib.sha256)
    return SCHEME + mac.hexdigest()


def signed_headers(secret: bytes, timestamp: int, body: bytes) -> dict[str, str]:
    """The two headers a signed request carries."""
    return {TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: sign(secret, timestamp, body)}


def verify(secret: bytes, timestamp: int, body: bytes, signature: str, *, now: int, tolerance_s: int = 300) -> bool:
    """True when ``signature`` is ours for this body and timestamp, and the timestamp is fresh."""
    if abs(now - timestamp) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), signature)
