"""Alerts reach a real SMTP server, a real signature-checking webhook and Kafka: once per change,
cleared when resolved, and a failed delivery stays pending until it succeeds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from confluent_kafka import Message
from pydantic import SecretStr

from rescheduler.alerts.decide import OrderProjection, decide_late
from rescheduler.alerts.dispatch import ALERT_ID_HEADER, AlertDispatcher, channels_for
from rescheduler.alerts.store import apply_decision, open_alerts
from rescheduler.settings import ReschedulerSettings
from shopfloor.db.pool import Connection, connect
from shopfloor.events import AlertClearedEvent, AlertRaisedEvent, parse_event
from shopfloor.kafka.consumer import BatchConsumer
from shopfloor.kafka.producer import flush, make_producer, produce_event
from shopfloor.settings import KafkaSettings, PostgresSettings
from shopfloor.topics import KafkaTopic
from tests.fixtures.stack import unique_name
from tests.rescheduler_support.receivers import WebhookInbox, free_port, smtp_server, webhook_server

pytestmark = pytest.mark.integration

SECRET = "whsec-test"
DUE = datetime(2026, 3, 10, 16, 0, tzinfo=UTC)


def projections(o1_slip_h: float) -> list[OrderProjection]:
    return [
        OrderProjection("O1", "CUST-A", DUE, DUE + timedelta(hours=o1_slip_h), "Heading press H2 in FAULT"),
        OrderProjection("O2", "CUST-B", DUE, DUE - timedelta(hours=8)),
    ]


def replan(conn: Connection, settings: ReschedulerSettings, plan_id: str, o1_slip_h: float) -> None:
    with conn.transaction():
        decision = decide_late(projections(o1_slip_h), open_alerts(conn), plan_id)
        apply_decision(conn, decision, plan_id, datetime.now(UTC), channels_for(settings))


def consume_all(consumer: BatchConsumer, count: int) -> list[Message]:
    got: list[Message] = []
    for _ in range(30):
        got += consumer.poll_batch(max_messages=10, timeout=1.0)
        if len(got) >= count:
            break
    return got


def test_alert_raised_once_cleared_when_resolved(pg_settings: PostgresSettings, kafka_settings: KafkaSettings) -> None:
    inbox = WebhookInbox(secret=SECRET.encode(), fail_first=1)
    producer = make_producer(kafka_settings)

    def publish(event: AlertRaisedEvent | AlertClearedEvent) -> None:
        produce_event(producer, event, kafka_settings)
        flush(producer, 10.0)

    with smtp_server() as (smtp_port, mailbox), webhook_server(inbox) as url, connect(pg_settings) as conn:
        settings = ReschedulerSettings(
            webhook_url=url,
            webhook_secret=SecretStr(SECRET),
            webhook_backoff_s=0.05,
            smtp_host="127.0.0.1",
            smtp_port=smtp_port,
            smtp_to_sales=["sales@example.com"],
        )
        with AlertDispatcher(settings, publish) as dispatcher:
            replan(conn, settings, "p1", o1_slip_h=5)
            assert dispatcher.deliver_pending(conn) == (3, 0)  # kafka, webhook, email
            # Still late (later still) in the next plan: the same change, nothing new to deliver.
            replan(conn, settings, "p2", o1_slip_h=9)
            assert dispatcher.deliver_pending(conn) == (0, 0)
            # Back on time: cleared on every channel.
            replan(conn, settings, "p3", o1_slip_h=-2)
            assert dispatcher.deliver_pending(conn) == (3, 0)
            # Slipping again later is news again: a new alert.
            replan(conn, settings, "p4", o1_slip_h=3)
            assert dispatcher.deliver_pending(conn) == (3, 0)

    # The webhook answered 503 once: the sender retried and every accepted request was signed right.
    assert inbox.requests == 4 and inbox.rejected == 0
    assert [(m["type"], m["payload"]["order_id"]) for m in inbox.received] == [
        ("alert.raised", "O1"),
        ("alert.cleared", "O1"),
        ("alert.raised", "O1"),
    ]
    assert inbox.received[2]["payload"]["alert_id"] != inbox.received[0]["payload"]["alert_id"]
    raised = inbox.received[0]["payload"]
    assert raised["audience"] == "sales" and raised["customer_id"] == "CUST-A"
    assert datetime.fromisoformat(raised["projected_date"]) == DUE + timedelta(hours=5)
    assert "H2 in FAULT" in raised["cause"]

    assert [rcpt for rcpt, _ in mailbox.messages] == [["sales@example.com"]] * 3
    first, second, _third = (msg for _, msg in mailbox.messages)
    assert first[ALERT_ID_HEADER] == raised["alert_id"] == second[ALERT_ID_HEADER]
    assert "O1 late" in first["Subject"] and "back on time" in second["Subject"]

    with BatchConsumer(kafka_settings, unique_name("g"), [KafkaTopic.ALERTS]) as consumer:
        events = [parse_event(m.value() or b"") for m in consume_all(consumer, 3)]
    assert sorted(e.type for e in events) == ["alert.cleared", "alert.raised", "alert.raised"]

    with connect(pg_settings) as conn:
        rows = conn.execute("SELECT state, clear_reason FROM alert ORDER BY raised_at").fetchall()
        undelivered = conn.execute("SELECT count(*) FROM alert_delivery WHERE delivered_at IS NULL").fetchone()
    assert rows == [("cleared", "back on time"), ("raised", "")]
    assert undelivered == (0,)


def test_failed_delivery_stays_pending_until_it_succeeds(
    pg_settings: PostgresSettings, kafka_settings: KafkaSettings
) -> None:
    # SMTP is configured on a port nobody listens on yet: the e-mail fails and stays pending.
    port = free_port()
    settings = ReschedulerSettings(smtp_host="127.0.0.1", smtp_port=port, smtp_to_sales=["sales@example.com"])
    producer = make_producer(kafka_settings)

    def publish(event: AlertRaisedEvent | AlertClearedEvent) -> None:
        produce_event(producer, event, kafka_settings)
        flush(producer, 10.0)

    with connect(pg_settings) as conn, AlertDispatcher(settings, publish) as dispatcher:
        replan(conn, settings, "p1", o1_slip_h=5)
        t0 = datetime.now(UTC)
        assert dispatcher.deliver_pending(conn, now=t0) == (1, 1)  # kafka went, e-mail failed
        with smtp_server(port) as (_, mailbox):
            # The failed e-mail waits out its pause (5 s after the first failure) before it is tried again.
            assert dispatcher.deliver_pending(conn, now=t0 + timedelta(seconds=4)) == (0, 0)
            assert dispatcher.deliver_pending(conn, now=t0 + timedelta(seconds=6)) == (1, 0)
            assert dispatcher.deliver_pending(conn, now=t0 + timedelta(hours=1)) == (0, 0)
        attempts = conn.execute("SELECT channel, attempt, delivered_at IS NOT NULL FROM alert_delivery").fetchall()
        state = conn.execute("SELECT delivery_state FROM alert").fetchall()
    assert len(mailbox.messages) == 1
    assert sorted(attempts) == [("email", 2, True), ("kafka", 1, True)]
    assert state == [("delivered",)]


def test_a_delivery_that_keeps_failing_is_visible_and_never_given_up(
    pg_settings: PostgresSettings, kafka_settings: KafkaSettings, caplog: pytest.LogCaptureFixture
) -> None:
    """60 failed attempts (the old code gave up silently at 50): the alert says failing, the count says so,
    the log said so once as an error, and the e-mail still goes once the server is back."""
    port = free_port()
    settings = ReschedulerSettings(
        smtp_host="127.0.0.1", smtp_port=port, smtp_to_sales=["sales@example.com"], alert_failing_after=5
    )
    producer = make_producer(kafka_settings)

    def publish(event: AlertRaisedEvent | AlertClearedEvent) -> None:
        produce_event(producer, event, kafka_settings)
        flush(producer, 10.0)

    with connect(pg_settings) as conn, AlertDispatcher(settings, publish) as dispatcher:
        replan(conn, settings, "p1", o1_slip_h=5)
        now = datetime.now(UTC)
        states = []
        for _ in range(60):
            dispatcher.deliver_pending(conn, now=now)
            states.append(conn.execute("SELECT delivery_state FROM alert").fetchone())
            now += timedelta(seconds=settings.alert_retry_max_s + 1)
        conn.commit()
        assert states[3] == ("pending",) and states[4] == ("failing",) and states[-1] == ("failing",)
        assert dispatcher.failing == 1
        errors = [r for r in caplog.records if r.levelname == "ERROR" and "failing" in r.getMessage()]
        assert len(errors) == 1
        with smtp_server(port) as (_, mailbox):
            assert dispatcher.deliver_pending(conn, now=now) == (1, 0)
        assert dispatcher.failing == 0
        assert conn.execute("SELECT delivery_state FROM alert").fetchone() == ("delivered",)
    assert len(mailbox.messages) == 1
