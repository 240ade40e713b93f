"""Approval routing through the API: each rule, their combination, who signs what and when."""

from __future__ import annotations

import pytest

from orders import make_app
from orders.config import HubConfig
from shopfloor.db.pool import Connection, make_pool
from shopfloor.settings import PostgresSettings
from tests.orders_support.hub import ENGINEER, FINANCE, NOW, PLANNER, SETTINGS, TOKENS, Client, order_body

pytestmark = pytest.mark.integration

BIG = [{"product_id": "HB-M6x20", "quantity": 6000, "unit_price": "10.2"}]  # 61,200
NEW = [{"product_id": "CB-M8x50", "quantity": 1000}]  # declared new in the demo plant


def pending(hub_client: Client, oid: str) -> list[str]:
    return list(hub_client.get(f"/orders/{oid}").json()["pending_approvals"])


def test_a_small_order_of_a_known_product_needs_the_planner_only(hub_client: Client) -> None:
    order = hub_client.post("/orders", order_body()).json()
    assert order["pending_approvals"] == ["planning_acceptance"]


def test_over_50000_needs_finance_review(hub_client: Client) -> None:
    oid = hub_client.post("/orders", order_body(lines=BIG)).json()["order_id"]
    assert pending(hub_client, oid) == ["planning_acceptance", "finance_review"]
    after_planner = hub_client.post(f"/orders/{oid}/approve", {}, token=PLANNER).json()
    assert (after_planner["status"], after_planner["pending_approvals"]) == ("pending_approval", ["finance_review"])
    assert after_planner["work_orders"] == []  # not approved yet: nothing to plan
    done = hub_client.post(f"/orders/{oid}/approve", {}, token=FINANCE).json()
    assert done["status"] == "approved"
    assert {s["step"]: s["decided_by"] for s in done["approvals"]} == {
        "planning_acceptance": "pia (planner)",
        "finance_review": "fred (finance)",
    }
    finance = next(s for s in done["approvals"] if s["step"] == "finance_review")
    assert finance["reason"] == "total 61,200.00 over 50,000.00" and finance["decided_at"] is not None


def test_a_new_product_needs_a_technical_countersign(hub_client: Client, db_conn: Connection) -> None:
    oid = hub_client.post("/orders", order_body(lines=NEW)).json()["order_id"]
    assert pending(hub_client, oid) == ["planning_acceptance", "technical_countersign"]
    assert hub_client.post(f"/orders/{oid}/approve", {}, token=FINANCE).status_code == 403
    hub_client.post(f"/orders/{oid}/approve", {}, token=ENGINEER)
    assert pending(hub_client, oid) == ["planning_acceptance"]
    hub_client.post(f"/orders/{oid}/approve", {}, token=PLANNER)
    # Once the plant has made it, the product is no longer new.
    db_conn.execute("UPDATE work_order SET status = 'done' WHERE order_id = %s", (oid,))
    db_conn.commit()
    again = hub_client.post("/orders", order_body(lines=NEW)).json()
    assert again["pending_approvals"] == ["planning_acceptance"]


def test_rules_combine_and_the_order_is_approved_after_the_last_signature(hub_client: Client) -> None:
    lines = [*BIG, *NEW]
    oid = hub_client.post("/orders", order_body(lines=lines)).json()["order_id"]
    assert pending(hub_client, oid) == ["planning_acceptance", "finance_review", "technical_countersign"]
    # Only the named step; the rest stays.
    only = hub_client.post(f"/orders/{oid}/approve", {"steps": ["finance_review"]}, token=FINANCE).json()
    assert only["pending_approvals"] == ["planning_acceptance", "technical_countersign"]
    assert hub_client.post(f"/orders/{oid}/approve", {"steps": ["finance_review"]}, token=FINANCE).status_code == 409
    hub_client.post(f"/orders/{oid}/approve", {}, token=PLANNER)
    done = hub_client.post(f"/orders/{oid}/approve", {}, token=ENGINEER).json()
    assert done["status"] == "approved"
    assert len(done["work_orders"]) == 2
    assert all(s["status"] == "approved" and s["decided_at"] for s in done["approvals"])


def test_a_change_that_crosses_a_threshold_adds_its_step(hub_client: Client) -> None:
    oid = hub_client.post("/orders", order_body()).json()["order_id"]
    hub_client.post(f"/orders/{oid}/approve", {"steps": ["planning_acceptance"]}, token=PLANNER)
    # Approved already (one step only): a change no longer re-routes. A pending one does:
    oid2 = hub_client.post("/orders", order_body(lines=NEW)).json()["order_id"]
    hub_client.post(f"/orders/{oid2}/approve", {}, token=PLANNER)
    changed = hub_client.patch(f"/orders/{oid2}", {"lines": [*NEW, *BIG]}).json()
    assert changed["pending_approvals"] == ["technical_countersign", "finance_review"]
    assert hub_client.get(f"/orders/{oid}").json()["status"] == "approved"


def test_without_rules_an_order_is_approved_and_released_at_once(pg_settings: PostgresSettings) -> None:
    with make_pool(pg_settings, name="orders-test") as pool:
        app = make_app(SETTINGS, pool, clock=lambda: NOW, config=HubConfig(), tokens=TOKENS)
        order = Client(app).post("/orders", order_body(lines=[*BIG, *NEW])).json()
    assert (order["status"], order["approvals"], order["pending_approvals"]) == ("approved", [], [])
    assert order["work_orders"] == [f"WO-{order['order_id']}-1", f"WO-{order['order_id']}-2"]
