"""A webhook receiver that hangs does not hold up replanning: alerts are delivered from a worker thread."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import SecretStr

from rescheduler.service import ReschedulerService, ReschedulerSettings
from shopfloor.db.pool import Connection, connect
from shopfloor.events import MachineState, new_event_id, utcnow
from shopfloor.plant import load_plant
from shopfloor.settings import KafkaSettings, PostgresSettings
from tests.fixtures.stack import unique_name
from tests.rescheduler_support.receivers import WebhookInbox, webhook_server
from tests.rescheduler_support.running import running, wait_for
from tests.rescheduler_support.seed import DEMO_PLANT, OrderSpec, seed_order

pytestmark = pytest.mark.integration

SECRET = "worker-secret"


def plan_version(conn: Connection) -> int:
    row = conn.execute("SELECT max(version) FROM schedule_plan").fetchone()
    conn.commit()
    return int(row[0]) if row and row[0] is not None else 0


def test_replans_go_on_while_the_webhook_hangs(kafka_settings: KafkaSettings, pg_settings: PostgresSettings) -> None:
    plant = load_plant(DEMO_PLANT)
    inbox = WebhookInbox(secret=SECRET.encode())
    inbox.hold.set()  # every webhook request waits until released (up to 60 s)
    with webhook_server(inbox) as url, connect(pg_settings) as conn:
        # Due in an hour, 40,000 pieces: late in any plan, so the first plan raises an alert at once.
        seed_order(conn, plant, OrderSpec("W-LATE", "HB-M8x30", 40_000, utcnow() + timedelta(hours=1)))
        settings = ReschedulerSettings(
            consumer_group=unique_name("resched-"),
            debounce_quiet_s=0.2,
            debounce_max_s=1.0,
            time_limit_s=2.0,
            webhook_url=url,
            webhook_secret=SecretStr(SECRET),
            # The old loop sent webhooks itself: 4 attempts of up to 30 s each stalled it for minutes.
            webhook_timeout_s=30.0,
            webhook_attempts=4,
        )
        service = ReschedulerService(plant, settings, kafka_settings, pg_settings)
        with running(service):
            wait_for(lambda: plan_version(conn) >= 1, "the first plan")
            wait_for(lambda: inbox.waiting > 0, "the alert's webhook request (held by the receiver)")
            # The breakdown as the raw sink records it: the rescheduler learns machine states from this table.
            conn.execute(
                "INSERT INTO machine_current_state (machine_id, state, since, event_id) VALUES ('H2', %s, %s, %s)"
                " ON CONFLICT (machine_id) DO UPDATE SET state = EXCLUDED.state, since = EXCLUDED.since,"
                " event_id = EXCLUDED.event_id",
                (MachineState.FAULT.value, utcnow(), new_event_id()),
            )
            conn.commit()
            # The breakdown is replanned while the webhook request is still hanging.
            wait_for(lambda: plan_version(conn) >= 2, "the replan after the breakdown", timeout_s=40)
            assert not inbox.released.is_set() and inbox.received == []
            inbox.released.set()
            wait_for(lambda: len(inbox.received) >= 1, "the alert reaching the webhook once released")
    assert inbox.received[0]["type"] == "alert.raised"
    assert inbox.received[0]["payload"]["order_id"] == "W-LATE"
