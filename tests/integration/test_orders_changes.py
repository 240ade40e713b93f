"""A customer change to an order with work in progress: version diff, impact report (with the new projected
completion from the real rescheduler's POST /ctp over HTTP), notices by SMTP and signed webhook, and the
change taking effect only after every department signed off."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from orders import make_app
from orders.config import load_config
from orders.notify import Notifier
from rescheduler.service.http import HttpServer
from rescheduler.service.http import make_app as make_rescheduler_app
from rescheduler.service.promise import CtpRequest, PlanContext, promise
from rescheduler.service.replan import Replanner
from rescheduler.settings import ReschedulerSettings
from shopfloor.auth import Role, StaticTokenStore
from shopfloor.db.pool import Connection, connect, make_pool
from shopfloor.db.state import mark_operation
from shopfloor.plant import Plant, load_plant
from shopfloor.settings import PostgresSettings
from tests.orders_support.hub import (
    FINANCE,
    MANAGER,
    NOW,
    PLANNER,
    PURCHASING,
    SALES,
    SETTINGS,
    TOKENS,
    Client,
    order_body,
)
from tests.rescheduler_support.receivers import WebhookInbox, free_port, smtp_server, webhook_server
from tests.rescheduler_support.seed import DEMO_PLANT

pytestmark = pytest.mark.integration

SECRET = b"change-secret"


@dataclass
class World:
    hub: Client
    plant: Plant
    context: PlanContext
    mailbox: object
    inbox: WebhookInbox
    notifier: Notifier


@pytest.fixture
def world(pg_settings: PostgresSettings) -> Iterator[World]:
    plant = load_plant(DEMO_PLANT)
    rescheduler_tokens = StaticTokenStore()
    hub_token = rescheduler_tokens.add("order hub", [Role.PLANNER])
    current: list[PlanContext] = []
    port = free_port()
    server = HttpServer(
        make_rescheduler_app(plant, lambda: current[0] if current else None, rescheduler_tokens, lambda: NOW),
        "127.0.0.1",
        port,
    )
    server.start()
    inbox = WebhookInbox(secret=SECRET)
    with smtp_server() as (smtp_port, mailbox), webhook_server(inbox) as hook_url:
        settings = SETTINGS.model_copy(
            update={
                "rescheduler_url": f"http://127.0.0.1:{port}",
                "rescheduler_token": SecretStr(hub_token),
                "smtp_host": "127.0.0.1",
                "smtp_port": smtp_port,
                "change_webhook_url": hook_url,
                "webhook_secret": SecretStr(SECRET.decode()),
            }
        )
        with make_pool(pg_settings, name="orders-test") as pool:
            app: FastAPI = make_app(settings, pool, clock=lambda: NOW, tokens=TOKENS)
            hub = Client(app)
            # The order of the story, approved, and a second delivery of its project due early.
            order = hub.post("/orders", order_body(project="PRJ-1", due_date="2026-03-10T00:00:00Z")).json()
            hub.post(f"/orders/{order['order_id']}/approve", {}, token=PLANNER)
            other = hub.post("/orders", order_body(project="PRJ-1", due_date="2026-03-02T12:00:00Z")).json()
            hub.post(f"/orders/{other['order_id']}/approve", {}, token=PLANNER)
            with connect(pg_settings) as conn:
                # Work has begun: wire drawing of the first order started an hour ago, 400 pieces made.
                mark_operation(
                    conn, f"WO-{order['order_id']}-1", 1, "started", NOW - timedelta(hours=1), machine_id="D1", good=400
                )
                conn.commit()
                result = Replanner(plant, ReschedulerSettings(time_limit_s=5)).replan(conn, "test", now=NOW)
            context = PlanContext(
                result.plan_id, result.version, NOW, result.plan_input, result.ops, [], result.standard_times
            )
            current.append(context)
            deadline = 0
            while not server.started and deadline < 100:
                time.sleep(0.05)
                deadline += 1
            yield World(hub, plant, context, mailbox, inbox, Notifier(settings, load_config(settings.config)))
    server.stop()


def test_a_change_in_production_waits_for_every_signoff_with_its_impact_report(
    world: World, db_conn: Connection, pg_settings: PostgresSettings
) -> None:
    hub = world.hub
    oid = "SO-2026-000001"
    before = hub.get(f"/orders/{oid}").json()
    assert before["version"] == 2

    change = hub.patch(
        f"/orders/{oid}", {"lines": [{"product_id": "HB-M6x20", "quantity": 3000, "unit_price": "0.12"}]}
    )
    assert change.status_code == 202, change.text
    waiting = change.json()
    assert waiting["version"] == 2 and waiting["lines"][0]["quantity"] == 1000  # not applied yet
    [pending] = waiting["pending_changes"]
    assert pending["pending_departments"] == ["planning", "production", "purchasing", "finance", "sales"]

    [report] = hub.get(f"/orders/{oid}/changes", token=PLANNER).json()
    impact = report["impact"]
    assert impact["work_orders_in_progress"] == [f"WO-{oid}-1"]
    assert impact["work_orders_not_started"] == [] and impact["work_orders_done"] == []
    assert [(o["seq"], o["status"]) for o in impact["operations_to_replan"]][:2] == [(1, "started"), (2, "pending")]
    product = world.plant.product("HB-M6x20")
    unit = world.plant.material(product.material_id).unit
    issued = round(product.material_per_pc * 1000, 3)
    assert impact["material_issued"] == [
        {"work_order_id": f"WO-{oid}-1", "material_id": product.material_id, "quantity": issued, "unit": unit}
    ]
    # The projection is the rescheduler's promise, asked over HTTP, for the pieces not finished yet (all
    # 3,000: the work order's output is its last step's, and only wire drawing has begun).
    expected = promise(
        world.plant, world.context, CtpRequest(product_id="HB-M6x20", quantity=3000, customer_id="CUST-001"), NOW
    )
    assert impact["projected_completion"] == expected.completion.isoformat().replace("+00:00", "Z")
    assert impact["projection_plan_id"] == world.context.plan_id
    assert [d["order_id"] for d in impact["project_deliveries_at_risk"]] == ["SO-2026-000002"]
    assert (impact["amount_before"], impact["amount_after"], impact["amount_delta"]) == (
        "120.0000",
        "360.0000",
        "240.0000",
    )
    assert impact["payment_terms_change"] is True
    assert {c["field"] for c in impact["changes"]} == {"lines[1].quantity", "total"}

    # Another customer change waits for this one.
    assert hub.patch(f"/orders/{oid}", {"due_date": "2026-03-30T00:00:00Z"}).status_code == 409
    # A change that does not reach production is applied at once.
    assert hub.patch(f"/orders/{oid}", {"notes": "call first"}).json()["version"] == 3

    # The departments are told by e-mail and by the signed webhook.
    with connect(pg_settings) as conn:
        assert world.notifier.round(conn, lambda: NOW) == (1, 0)
        assert world.notifier.round(conn, lambda: NOW) == (0, 0)  # told once
    recipients = sorted(r for rcpts, _ in world.mailbox.messages for r in rcpts)  # type: ignore[attr-defined]
    assert recipients == sorted(f"{d}@demo-plant.local" for d in pending["pending_departments"])
    [notice] = world.inbox.received
    assert (notice["order_id"], notice["departments"]) == (oid, pending["pending_departments"])

    change_id = pending["change_id"]
    sign = f"/orders/{oid}/changes/{change_id}/signoff"
    assert hub.post(sign, {}, token=PLANNER).json()["pending_changes"][0]["pending_departments"] == [
        "production", "purchasing", "finance", "sales"
    ]  # fmt: skip
    assert hub.post(sign, {}, token=PLANNER).status_code == 403  # nothing left for a planner
    for token in (MANAGER, PURCHASING, FINANCE):
        still = hub.post(sign, {}, token=token).json()
        assert still["version"] == 3 and still["lines"][0]["quantity"] == 1000
    done = hub.post(sign, {}, token=SALES).json()
    assert done["pending_changes"] == []
    assert (done["version"], done["lines"][0]["quantity"], done["notes"]) == (4, 3000, "call first")
    [closed] = hub.get(f"/orders/{oid}/changes", token=PLANNER).json()
    assert (closed["status"], closed["applied_version"]) == ("applied", 4)
    assert {s["department"]: s["signed_by"] for s in closed["signoffs"]} == {
        "planning": "pia (planner)", "production": "max (manager)", "purchasing": "paula (purchasing)",
        "finance": "fred (finance)", "sales": "sam (sales)",
    }  # fmt: skip
    diff = hub.get(f"/orders/{oid}/versions/2/diff/4").json()
    assert {c["field"] for c in diff["changes"]} == {"version", "lines[1].quantity", "total", "notes"}
    # The work order follows, its progress kept.
    assert db_conn.execute(
        "SELECT quantity, status FROM work_order WHERE work_order_id = %s", (f"WO-{oid}-1",)
    ).fetchone() == (3000, "started")


def test_a_hold_in_production_waits_too_and_a_rejection_changes_nothing(world: World) -> None:
    hub = world.hub
    oid = "SO-2026-000001"
    held = hub.post(f"/orders/{oid}/hold", {"reason": "customer credit stop"})
    assert held.status_code == 202 and held.json()["status"] == "approved"
    [pending] = held.json()["pending_changes"]
    assert pending["kind"] == "hold"
    [report] = hub.get(f"/orders/{oid}/changes", token=PLANNER).json()
    assert report["impact"]["projection_note"].startswith("on hold")
    assert {d["order_id"] for d in report["impact"]["project_deliveries_at_risk"]} == {oid, "SO-2026-000002"}
    rejected = hub.post(f"/orders/{oid}/changes/{pending['change_id']}/reject", token=MANAGER).json()
    assert (rejected["status"], rejected["pending_changes"], rejected["version"]) == ("approved", [], 2)
