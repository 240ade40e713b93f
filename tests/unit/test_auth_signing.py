"""Webhook signatures: HMAC-SHA256 over timestamp and body."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from shopfloor.auth.signing import sign, verify

pytestmark = pytest.mark.unit

SECRET = b"s3cret"
BODY = b'{"alert_id":"a1"}'


def test_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    expected = hmac.new(SECRET, b"1700000000." + BODY, hashlib.sha256).hexdigest()
    assert sign(SECRET, 1_700_000_000, BODY) == "sha256=" + expected


def test_verify_accepts_own_signature_and_rejects_tampering() -> None:
    ts = 1_700_000_000
    signature = sign(SECRET, ts, BODY)
    assert verify(SECRET, ts, BODY, signature, now=ts + 10)
    assert not verify(SECRET, ts, BODY + b" ", signature, now=ts)
    assert not verify(b"other", ts, BODY, signature, now=ts)
    # The timestamp is signed: moving it invalidates the signature.
    assert not verify(SECRET, ts + 1, BODY, signature, now=ts)


def test_verify_rejects_stale_timestamp() -> None:
    ts = 1_700_000_000
    assert not verify(SECRET, ts, BODY, sign(SECRET, ts, BODY), now=ts + 301, tolerance_s=300)
