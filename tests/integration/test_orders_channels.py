"""Channel webhooks: both shipped mappings, signatures and their age, replays and retried deliveries."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from shopfloor.auth import signed_headers
from shopfloor.db.pool import Connection
from tests.orders_support.hub import CHANNEL_SECRETS, NOW, Client

pytestmark = pytest.mark.integration

MARKETPLACE: dict[str, Any] = {
    "id": 820982911946154508,
    "name": "#1001",
    "customer": {"b2b_account": "CUST-017", "note": "dock 4"},
    "shipping_lines": [{"code": "express", "promised_by": "2026-03-09T17:00:00+08:00"}],
    "line_items": [
        {"sku": "HB-M6x20", "quantity": 5000, "price": "0.13"},
        {"sku": "HB-M8x30", "quantity": 2000, "price": "0.30"},
    ],
    "packaging": "carton",
}
GENERIC: dict[str, Any] = {
    "order_ref": "D-4471",
    "customer": "CUST-003",
    "need_by": "2026-03-20T00:00:00Z",
    "project": "PRJ-12",
    "items": [{"product": "HB-M8x30", "qty": 20000, "unit_price": 0.21}],
    "extra": {"drawing_no": "D-1", "process_notes": "no lubricant"},
}


def deliver(
    hub_client: Client,
    channel: str,
    doc: Any,
    *,
    at: int | None = None,
    secret: bytes | None = None,
    key: str | None = None,
    raw: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    body = raw if raw is not None else json.dumps(doc).encode()
    sent = headers or {
        "Content-Type": "application/json",
        **signed_headers(secret or CHANNEL_SECRETS.get(channel, b"x"), at or int(NOW.timestamp()), body),
        **({"Idempotency-Key": key} if key else {}),
    }
    return hub_client.request("POST", f"/channels/{channel}/orders", content=body, headers=sent)


def count(db_conn: Connection) -> int:
    db_conn.rollback()
    row = db_conn.execute("SELECT count(*) FROM customer_order").fetchone()
    return int(row[0]) if row else -1


def test_the_marketplace_mapping(hub_client: Client) -> None:
    response = deliver(hub_client, "marketplace", MARKETPLACE)
    assert response.status_code == 201, response.text
    order = response.json()
    assert (order["channel"], order["external_id"], order["customer_id"]) == (
        "marketplace",
        "820982911946154508",
        "CUST-017",
    )
    assert (order["rush"], order["priority"], order["due_date"]) == (True, 5, "2026-03-09T09:00:00Z")
    assert [(ln["product_id"], ln["quantity"], ln["unit_price"]) for ln in order["lines"]] == [
        ("HB-M6x20", 5000, "0.1300"),
        ("HB-M8x30", 2000, "0.3000"),
    ]
    assert order["custom_fields"] == {"packaging": "export_carton"}
    assert order["tags"] == ["online retail"]
    assert order["notes"] == "dock 4"
    assert order["created_by"] == "channel:marketplace"


def test_the_generic_mapping_with_defaults(hub_client: Client) -> None:
    order = deliver(hub_client, "distributor", GENERIC).json()
    assert (order["external_id"], order["rush"], order["priority"], order["project"]) == ("D-4471", False, 3, "PRJ-12")
    assert order["custom_fields"] == {"drawing_no": "D-1", "process_notes": "no lubricant"}
    assert order["tags"] == ["distributor", "project custom"]


def test_bad_signature_old_timestamp_and_replay_are_refused_and_create_nothing(
    hub_client: Client, db_conn: Connection
) -> None:
    now = int(NOW.timestamp())
    assert deliver(hub_client, "marketplace", MARKETPLACE, secret=b"guess").status_code == 401
    assert deliver(hub_client, "marketplace", MARKETPLACE, at=now - 301).status_code == 401
    assert deliver(hub_client, "marketplace", MARKETPLACE, at=now + 301).status_code == 401
    assert (
        deliver(hub_client, "marketplace", MARKETPLACE, headers={"Content-Type": "application/json"}).status_code == 401
    )
    # Signed for another body: tampering.
    body = json.dumps(MARKETPLACE).encode()
    tampered = {**signed_headers(CHANNEL_SECRETS["marketplace"], now, body), "Content-Type": "application/json"}
    other = json.dumps({**MARKETPLACE, "id": 1}).encode()
    assert deliver(hub_client, "marketplace", None, raw=other, headers=tampered).status_code == 401
    assert deliver(hub_client, "nope", MARKETPLACE).status_code == 404
    assert count(db_conn) == 0
    first = deliver(hub_client, "marketplace", None, raw=body, headers=tampered)
    assert first.status_code == 201
    replay = deliver(hub_client, "marketplace", None, raw=body, headers=tampered)
    assert replay.status_code == 409
    assert "replayed" in replay.json()["detail"]
    assert count(db_conn) == 1


def test_a_retried_delivery_creates_one_order(hub_client: Client, db_conn: Connection) -> None:
    now = int(NOW.timestamp())
    first = deliver(hub_client, "distributor", GENERIC, at=now - 20, key="dlv-1")
    again = deliver(hub_client, "distributor", GENERIC, at=now - 10, key="dlv-1")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["order_id"] == again.json()["order_id"]
    assert again.json()["created_now"] is False
    # Without a key, the channel's order id makes it the same delivery.
    no_key = deliver(hub_client, "distributor", GENERIC, at=now - 5)
    assert (no_key.status_code, no_key.json()["order_id"]) == (200, first.json()["order_id"])
    assert count(db_conn) == 1


def test_concurrent_retries_of_one_delivery_create_one_order(hub_client: Client, db_conn: Connection) -> None:
    now = int(NOW.timestamp())
    body = json.dumps({**GENERIC, "order_ref": "D-9"}).encode()

    def signed(at: int) -> dict[str, str]:
        return {"Content-Type": "application/json", **signed_headers(CHANNEL_SECRETS["distributor"], at, body)}

    async def retries() -> list[int]:
        calls = [
            hub_client.arequest(
                "POST",
                "/channels/distributor/orders",
                content=body,
                headers={
                    "Content-Type": "application/json",
                    **signed_headers(CHANNEL_SECRETS["distributor"], now - i, body),
                },
            )
            for i in range(8)
        ]
        return sorted(r.status_code for r in await asyncio.gather(*calls))

    assert asyncio.run(retries()) == [200] * 7 + [201]
    assert count(db_conn) == 1


def test_a_mapped_order_that_is_invalid_names_its_field(hub_client: Client, db_conn: Connection) -> None:
    bad = {**GENERIC, "items": [{"product": "HB-M8x30", "qty": -5}], "customer": "CUST-NOPE"}
    response = deliver(hub_client, "distributor", bad)
    assert response.status_code == 422
    assert [d["loc"] for d in response.json()["detail"]] == [["body", "mapped", "lines", 0, "quantity"]]
    no_date = {k: v for k, v in GENERIC.items() if k != "need_by"}
    assert deliver(hub_client, "distributor", no_date).json()["detail"][0]["loc"] == ["body", "mapped", "due_date"]
    junk = deliver(hub_client, "distributor", None, raw=b"{not json")
    assert junk.status_code == 422
    assert count(db_conn) == 0
