"""End to end on the real stack: a heading press breaks down, the rescheduler replans and tells sales,
exactly for the orders that became late, by e-mail (real SMTP) and signed webhook; when the press runs
again the alerts are cleared. Capable-to-promise and the API answer over real HTTP meanwhile."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

import httpx
import pytest
from pydantic import SecretStr

from rescheduler.service import ReschedulerService, ReschedulerSettings
from rescheduler.service.replan import Replanner
from shopfloor.auth import Role, create_token
from shopfloor.db.pool import Connection, connect
from shopfloor.events import (
    BottleneckDetectedEvent,
    BottleneckDetectedPayload,
    EventBase,
    MachineState,
    MachineStateEvent,
    MachineStatePayload,
    SchedulePublishedEvent,
    new_event_id,
    parse_event,
    utcnow,
)
from shopfloor.kafka.consumer import BatchConsumer
from shopfloor.kafka.producer import flush, make_producer, produce_event
from shopfloor.plant import Plant, load_plant
from shopfloor.settings import KafkaSettings, PostgresSettings
from shopfloor.topics import KafkaTopic
from tests.fixtures.stack import StackEndpoints, unique_name
from tests.rescheduler_support.receivers import WebhookInbox, free_port, smtp_server, webhook_server
from tests.rescheduler_support.running import running, wait_for
from tests.rescheduler_support.seed import DEMO_PLANT, OrderSpec, late_orders, seed_order

pytestmark = pytest.mark.e2e

SECRET = "e2e-secret"
# Heading of HB-M16x60 runs only on presses H7 and H8: a breakdown of one of them hurts.
TIGHT = [OrderSpec(f"E2E-A{i}", "HB-M16x60", 40_000, utcnow() + timedelta(days=30)) for i in range(1, 5)]
LOOSE = [OrderSpec(f"E2E-B{i}", "HB-M8x30", 30_000, utcnow() + timedelta(days=30)) for i in range(1, 3)]
SLACK = timedelta(hours=6)
_seq = itertools.count(1)


def calibrate_due_dates(conn: Connection, plant: Plant, settings: ReschedulerSettings) -> None:
    """Seed the order book, then give the tight orders due dates a few hours after their completion in a
    plan with every machine up: on time as things stand, late if a press they need stops for days."""
    for spec in TIGHT + LOOSE:
        seed_order(conn, plant, spec)
    result = Replanner(plant, settings).replan(conn, "calibration")
    projected = {p.order_id: p.projected for p in result.projections}
    for spec in TIGHT:
        seed_order(
            conn,
            plant,
            OrderSpec(spec.order_id, spec.product_id, spec.quantity, projected[spec.order_id] + SLACK),
            version=2,
        )
    # The calibration plan is not part of the story: the service starts from an empty plan history.
    with conn.transaction():
        conn.execute("DELETE FROM alert")
        conn.execute("DELETE FROM schedule_plan")


def send(kafka: KafkaSettings, *events: EventBase) -> None:
    producer = make_producer(kafka)
    for event in events:
        produce_event(producer, event, kafka)
    flush(producer, 30.0)


def machine_state(machine: str, state: MachineState) -> MachineStateEvent:
    return MachineStateEvent(
        event_id=new_event_id(),
        source="gw-heading",
        seq=next(_seq),
        ts=utcnow(),
        payload=MachineStatePayload(machine_id=machine, state=state, reason_code="E-DIE" if state == "FAULT" else None),
    )


def keep_current_state(conn: Connection, event: MachineStateEvent) -> None:
    """What the streams' current-state processor does with the event: the rescheduler reads the table."""
    with conn.transaction():
        conn.execute(
            "INSERT INTO machine_current_state (machine_id, state, since, event_id) VALUES (%s, %s, %s, %s)"
            " ON CONFLICT (machine_id) DO UPDATE SET state = EXCLUDED.state, since = EXCLUDED.since,"
            " event_id = EXCLUDED.event_id",
            (event.payload.machine_id, event.payload.state.value, event.ts, event.event_id),
        )


def bottleneck(machine: str) -> BottleneckDetectedEvent:
    return BottleneckDetectedEvent(
        event_id=new_event_id(),
        source="streams-load",
        seq=next(_seq),
        ts=utcnow(),
        payload=BottleneckDetectedPayload(
            workcenter_id="WC-HEAD",
            machine_id=machine,
            load_hours=150,
            capacity_hours=140,
            horizon_hours=72,
            full_for_hours=72,
            cause=f"heading press {machine} in FAULT",
        ),
    )


def schedule_events(kafka: KafkaSettings, count: int) -> list[SchedulePublishedEvent]:
    events: list[SchedulePublishedEvent] = []
    with BatchConsumer(kafka, unique_name("check"), [KafkaTopic.SCHEDULE]) as consumer:
        for _ in range(30):
            for message in consumer.poll_batch(max_messages=10, timeout=1.0):
                event = parse_event(message.value() or b"")
                assert isinstance(event, SchedulePublishedEvent)
                events.append(event)
            if len(events) >= count:
                break
    return sorted(events, key=lambda e: e.payload.version)


def current_plan(conn: Connection) -> tuple[str, int] | None:
    row = conn.execute("SELECT plan_id, version FROM schedule_plan WHERE is_current").fetchone()
    conn.commit()
    return (row[0], int(row[1])) if row else None


def sales_alerts(conn: Connection, state: str) -> set[str]:
    rows = conn.execute("SELECT order_id FROM alert WHERE kind = 'order_late' AND state = %s", (state,)).fetchall()
    conn.commit()
    return {r[0] for r in rows}


def undelivered(conn: Connection) -> int:
    row = conn.execute("SELECT count(*) FROM alert_delivery WHERE delivered_at IS NULL").fetchone()
    conn.commit()
    return int(row[0]) if row else -1


def test_breakdown_replans_and_alerts_exactly_the_orders_made_late(
    stack: StackEndpoints, kafka_settings: KafkaSettings, pg_settings: PostgresSettings
) -> None:
    plant = load_plant(DEMO_PLANT)
    min_slip = plant.rules.late_alert.min_slip_hours
    inbox = WebhookInbox(secret=SECRET.encode())
    http_port = free_port()
    with smtp_server() as (smtp_port, mailbox), webhook_server(inbox) as url, connect(pg_settings) as conn:
        settings = ReschedulerSettings(
            site_id=plant.site_id,
            consumer_group=unique_name("resched"),
            debounce_quiet_s=1.0,
            debounce_max_s=5.0,
            time_limit_s=5.0,
            repair_h=72.0,  # the press is out for three days
            webhook_url=url,
            webhook_secret=SecretStr(SECRET),
            smtp_host="127.0.0.1",
            smtp_port=smtp_port,
            smtp_to_sales=["sales@example.com"],
            smtp_to_purchasing=["purchasing@example.com"],
        )
        calibrate_due_dates(conn, plant, settings)
        service = ReschedulerService(plant, settings, kafka_settings, pg_settings, http_port=http_port)
        token = create_token(conn, "sales desk", [Role.SALES])
        conn.commit()
        auth = {"Authorization": f"Bearer {token}"}
        with running(service), httpx.Client(base_url=f"http://127.0.0.1:{http_port}", timeout=10, headers=auth) as api:
            # 1. The first plan: everything on time, nobody alerted.
            wait_for(lambda: current_plan(conn) is not None, "the first plan")
            first = current_plan(conn)
            assert first is not None and first[1] == 1
            assert late_orders(conn, first[0], min_slip) == set()
            assert sales_alerts(conn, "raised") == set()

            # 2. The press carrying most HB-M16x60 heading work breaks down; the streams flag heading.
            rows = conn.execute(
                "SELECT machine_id FROM scheduled_operation WHERE plan_id = %s AND machine_id IN ('H7', 'H8')"
                " GROUP BY machine_id ORDER BY sum(extract(epoch FROM end_ts - start_ts)) DESC",
                (first[0],),
            ).fetchall()
            conn.commit()
            broken = rows[0][0]
            fault = machine_state(broken, MachineState.FAULT)
            fault_at = fault.ts
            send(kafka_settings, fault, bottleneck(broken))
            keep_current_state(conn, fault)
            wait_for(lambda: (current_plan(conn) or ("", 0))[1] >= 2, "the replan after the breakdown")
            second = current_plan(conn)
            assert second is not None
            became_late = late_orders(conn, second[0], min_slip) - late_orders(conn, first[0], min_slip)
            assert became_late, "a three-day breakdown of the press should make some tight order late"
            assert became_late <= {s.order_id for s in TIGHT}
            wait_for(lambda: undelivered(conn) == 0 and len(inbox.received) >= len(became_late), "alert deliveries")

            # Exactly those orders, once each, on every channel, with the new date and the cause.
            assert sales_alerts(conn, "raised") == became_late
            raised = [m for m in inbox.received if m["type"] == "alert.raised" and m["payload"]["kind"] == "order_late"]
            assert sorted(m["payload"]["order_id"] for m in raised) == sorted(became_late)
            assert all(broken in m["payload"]["cause"] for m in raised)
            mails = [msg for rcpt, msg in mailbox.messages if rcpt == ["sales@example.com"]]
            assert sorted(msg["Subject"].split()[2] for msg in mails) == sorted(became_late)
            assert inbox.rejected == 0

            # The API answers from the current plan.
            health = api.get("/health").json()
            assert health["plan_version"] == second[1]
            plan = api.get("/plan/current").json()
            assert set(plan["late_orders"]) >= became_late and plan["operations"]
            promise = api.post("/ctp", json={"product_id": "HB-M16x60", "quantity": 10_000, "customer_id": "CUST-002"})
            assert promise.status_code == 200, promise.text
            body = promise.json()
            heading = body["operations"][1]
            assert heading["machine_id"] in ("H7", "H8")
            if heading["machine_id"] == broken:  # only once it is repaired, three days after the fault
                assert datetime.fromisoformat(heading["start"]) >= fault_at + timedelta(hours=72) - timedelta(minutes=1)
            assert datetime.fromisoformat(body["completion"]) == datetime.fromisoformat(body["operations"][-1]["end"])
            assert (
                api.post("/ctp", json={"product_id": "NOPE", "quantity": 1, "customer_id": "CUST-002"}).status_code
                == 404
            )
            assert (
                api.post("/ctp", json={"product_id": "HB-M16x60", "quantity": 0, "customer_id": "CUST-002"}).status_code
                == 422
            )
            assert "shopfloor_rescheduler_replans_total" in api.get("/metrics/").text

            # 3. The press runs again: a new plan, and the orders back on time are cleared, once.
            mails_before = len(mailbox.messages)
            repaired = machine_state(broken, MachineState.RUNNING)
            send(kafka_settings, repaired)
            keep_current_state(conn, repaired)
            wait_for(lambda: (current_plan(conn) or ("", 0))[1] >= 3, "the replan after the repair")
            third = current_plan(conn)
            assert third is not None
            still_late = late_orders(conn, third[0], min_slip)
            wait_for(lambda: undelivered(conn) == 0, "clearing deliveries")
            assert sales_alerts(conn, "raised") == became_late & still_late
            cleared = {m["payload"]["order_id"] for m in inbox.received if m["type"] == "alert.cleared"}
            assert cleared == became_late - still_late
            assert len(mailbox.messages) == mails_before + len(cleared)

    # Every plan went out on the bus, the breakdown's with its trigger, the late orders and the moves.
    published = schedule_events(kafka_settings, 3)
    assert [e.payload.version for e in published] == [1, 2, 3]
    after_fault = published[1].payload
    assert f"{broken} FAULT" in after_fault.trigger and "bottleneck detected on WC-HEAD" in after_fault.trigger
    assert set(after_fault.late_orders) >= became_late
    back = fault_at + timedelta(hours=72) - timedelta(minutes=1)
    assert after_fault.moved and all(m.to_machine != broken or m.to_start >= back for m in after_fault.moved)
