"""The order hub's API on a real PostgreSQL: create, read, list, update, hold, cancel, approve, versions,
serial numbers under concurrency, and which role may do what."""

from __future__ import annotations

import asyncio

import psycopg
import pytest

from shopfloor.db.pool import Connection
from tests.orders_support.hub import ENGINEER, FINANCE, PLANNER, SALES, VIEWER, Client, order_body

pytestmark = pytest.mark.integration


def test_an_order_is_numbered_versioned_and_waits_for_the_planner(hub_client: Client, db_conn: Connection) -> None:
    created = hub_client.post("/orders", order_body(project="PRJ-7", notes="call before delivery"))
    assert created.status_code == 201, created.text
    order = created.json()
    assert order["order_id"] == "SO-2026-000001"
    assert (order["status"], order["version"], order["created_by"]) == ("pending_approval", 1, "sam (sales)")
    assert order["total"] == "120.0000"
    assert order["pending_approvals"] == ["planning_acceptance"]
    assert order["work_orders"] == []
    assert hub_client.get("/orders/SO-2026-000001").json() == order

    approved = hub_client.post("/orders/SO-2026-000001/approve", {}, token=PLANNER).json()
    assert (approved["status"], approved["version"], approved["pending_approvals"]) == ("approved", 2, [])
    step = approved["approvals"][0]
    assert (step["step"], step["status"], step["decided_by"]) == ("planning_acceptance", "approved", "pia (planner)")
    assert step["decided_at"] == "2026-03-02T08:00:00Z"
    assert approved["work_orders"] == ["WO-SO-2026-000001-1"]
    ops = db_conn.execute(
        "SELECT seq, workcenter_id, cardinality(eligible_machines) > 0, unit_min FROM operation "
        "WHERE work_order_id = 'WO-SO-2026-000001-1' ORDER BY seq"
    ).fetchall()
    assert [o[1] for o in ops] == ["WC-DRAW", "WC-HEAD", "WC-ROLL", "WC-FURNACE", "WC-PLATE", "WC-PACK"][: len(ops)]
    assert all(o[2] and o[3] > 0 for o in ops)
    events = db_conn.execute("SELECT event_type FROM order_outbox ORDER BY id").fetchall()
    assert [e[0] for e in events] == ["order.created", "order.approved", "wo.released"]


def test_invalid_input_names_field_and_reason_and_writes_nothing(hub_client: Client, db_conn: Connection) -> None:
    bad_refs = hub_client.post(
        "/orders",
        order_body(
            customer_id="CUST-NOPE",
            lines=[{"product_id": "HB-M6x20", "quantity": 5}, {"product_id": "NO-SUCH", "quantity": 5}],
            custom_fields={"packaging": "bubble wrap", "colour": "red"},
        ),
    )
    assert bad_refs.status_code == 422
    problems = {tuple(d["loc"]): d["type"] for d in bad_refs.json()["detail"]}
    assert problems == {
        ("body", "customer_id"): "unknown_customer",
        ("body", "lines", 1, "product_id"): "unknown_product",
        ("body", "custom_fields", "packaging"): "custom_field",
        ("body", "custom_fields", "colour"): "custom_field",
    }
    malformed = hub_client.post("/orders", order_body(lines=[{"product_id": "HB-M6x20", "quantity": "5"}], priority=9))
    assert malformed.status_code == 422
    assert {tuple(d["loc"]) for d in malformed.json()["detail"]} == {
        ("body", "lines", 0, "quantity"),
        ("body", "priority"),
    }
    naive = hub_client.post("/orders", order_body(due_date="2026-03-20T00:00:00"))
    assert naive.status_code == 422
    assert db_conn.execute("SELECT count(*) FROM customer_order").fetchone() == (0,)
    # Nothing was numbered either: the next order still gets the first serial.
    assert hub_client.post("/orders", order_body()).json()["order_id"] == "SO-2026-000001"


def test_custom_fields_declared_by_the_plant_are_kept(hub_client: Client) -> None:
    fields = {"packaging": "export_carton", "coating_thickness_um": 8.5, "certificate_required": True}
    order = hub_client.post("/orders", order_body(custom_fields=fields)).json()
    assert order["custom_fields"] == fields


def test_list_filters_and_pages(hub_client: Client) -> None:
    for i in range(5):
        hub_client.post("/orders", order_body(customer_id="CUST-002" if i % 2 else "CUST-001", rush=i == 4))
    page = hub_client.get("/orders", params={"customer_id": "CUST-001", "limit": 2}).json()
    assert (page["total"], len(page["items"])) == (3, 2)
    rest = hub_client.get("/orders", params={"customer_id": "CUST-001", "limit": 2, "offset": 2}).json()
    ids = [o["order_id"] for o in page["items"] + rest["items"]]
    assert ids == ["SO-2026-000005", "SO-2026-000003", "SO-2026-000001"]
    assert [o["order_id"] for o in hub_client.get("/orders", params={"rush": "true"}).json()["items"]] == [
        "SO-2026-000005"
    ]
    assert hub_client.get("/orders", params={"status": "approved"}).json()["total"] == 0
    assert hub_client.get("/orders", params={"status": "bogus"}).status_code == 422


def test_every_change_is_a_version_and_any_two_can_be_diffed(hub_client: Client, db_conn: Connection) -> None:
    oid = hub_client.post("/orders", order_body()).json()["order_id"]
    hub_client.patch(f"/orders/{oid}", {"due_date": "2026-03-25T00:00:00Z"})
    changed = hub_client.patch(f"/orders/{oid}", {"lines": [{"product_id": "HB-M6x20", "quantity": 2000}]}).json()
    assert changed["version"] == 3
    assert changed["lines"][0]["unit_price"] == "0.1192"  # list price when none is given
    diff = hub_client.get(f"/orders/{oid}/versions/1/diff/3").json()
    assert {c["field"]: (c["before"], c["after"]) for c in diff["changes"]} == {
        "due_date": ("2026-03-20T00:00:00Z", "2026-03-25T00:00:00Z"),
        "total": ("120.0000", "238.4000"),
        "version": (1, 3),
        "lines[1].quantity": (1000, 2000),
        "lines[1].unit_price": ("0.1200", "0.1192"),
    }
    assert [v["version"] for v in hub_client.get(f"/orders/{oid}/versions").json()] == [1, 2, 3]
    with pytest.raises(psycopg.errors.RaiseException):
        db_conn.execute("UPDATE order_version SET event_type = 'x'")
    db_conn.rollback()
    assert hub_client.patch(f"/orders/{oid}", {"due_date": "2026-03-25T00:00:00Z"}).json()["version"] == 3  # no-op
    assert hub_client.get(f"/orders/{oid}/versions/1/diff/9").status_code == 404


def test_hold_keeps_an_order_out_of_the_plan_until_released_and_cancel_is_final(
    hub_client: Client, db_conn: Connection
) -> None:
    oid = hub_client.post("/orders", order_body()).json()["order_id"]
    hub_client.post(f"/orders/{oid}/approve", {}, token=PLANNER)
    held = hub_client.post(f"/orders/{oid}/hold", {"reason": "customer asked"}).json()
    assert (held["status"], held["held_from"]) == ("on_hold", "approved")
    assert hub_client.post(f"/orders/{oid}/hold", {}).status_code == 409
    assert hub_client.post(f"/orders/{oid}/release").json()["status"] == "approved"
    cancelled = hub_client.post(f"/orders/{oid}/cancel", {"reason": "lost to a competitor"}).json()
    assert cancelled["status"] == "cancelled"
    assert db_conn.execute("SELECT status FROM work_order").fetchall() == [("cancelled",)]
    assert hub_client.patch(f"/orders/{oid}", {"priority": 5}).status_code == 409
    assert hub_client.post(f"/orders/{oid}/approve", {}, token=PLANNER).status_code == 409
    types = [r[0] for r in db_conn.execute("SELECT event_type FROM order_outbox ORDER BY id")]
    assert types == ["order.created", "order.approved", "wo.released", "order.changed", "order.changed",
                     "order.cancelled"]  # fmt: skip


def test_channel_external_ids_are_unique_per_channel(hub_client: Client) -> None:
    assert hub_client.post("/orders", order_body(channel="edi", external_id="PO-1")).status_code == 201
    assert hub_client.post("/orders", order_body(channel="edi", external_id="PO-1")).status_code == 409
    assert hub_client.post("/orders", order_body(channel="portal", external_id="PO-1")).status_code == 201


def test_roles(hub_client: Client) -> None:
    assert hub_client.get("/orders", token="sft_000000000000_" + "x" * 43).status_code == 401
    assert hub_client.get("/orders", token=VIEWER).status_code == 403
    assert hub_client.post("/orders", order_body(), token=PLANNER).status_code == 403
    oid = hub_client.post("/orders", order_body()).json()["order_id"]
    for token in (PLANNER, FINANCE, ENGINEER, SALES):
        assert hub_client.get(f"/orders/{oid}", token=token).status_code == 200
    refused = hub_client.post(f"/orders/{oid}/approve", {}, token=FINANCE)
    assert refused.status_code == 403
    assert "planning_acceptance (planner)" in refused.json()["detail"]
    spec = hub_client.get("/openapi.json").json()
    assert "403" in spec["paths"]["/orders"]["post"]["responses"]


def test_200_concurrent_creations_take_200_consecutive_serials(hub_client: Client, db_conn: Connection) -> None:
    async def burst() -> list[int]:
        calls = (hub_client.arequest("POST", "/orders", json=order_body()) for _ in range(200))
        responses = await asyncio.gather(*calls)
        return [r.status_code for r in responses]

    assert asyncio.run(burst()) == [201] * 200
    serials = [r[0] for r in db_conn.execute("SELECT serial FROM customer_order ORDER BY serial")]
    assert serials == list(range(1, 201))
    assert db_conn.execute("SELECT last_value FROM order_serial").fetchone() == (200,)
