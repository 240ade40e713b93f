"""The schedule.published outbox on the real stack: a plan made while Kafka cannot be reached is stored with
its event pending, and published, with the same event id and exactly once, when the service runs again
against a reachable Kafka; pending plans go out oldest first, a failed one holding back the newer ones."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from rescheduler.service import ReschedulerService, ReschedulerSettings
from rescheduler.service.publication import PublishEvent, publish_pending
from rescheduler.service.replan import Replanner
from shopfloor.db.pool import Connection, connect
from shopfloor.events import EventBase, SchedulePublishedEvent, parse_event, utcnow
from shopfloor.kafka.consumer import BatchConsumer
from shopfloor.kafka.producer import flush, make_producer, produce_event
from shopfloor.plant import load_plant
from shopfloor.settings import KafkaSettings, PostgresSettings
from shopfloor.topics import KafkaTopic, topic_name
from tests.fixtures.stack import StackEndpoints, unique_name
from tests.rescheduler_support.receivers import free_port
from tests.rescheduler_support.running import running, wait_for
from tests.rescheduler_support.seed import DEMO_PLANT, OrderSpec, seed_order

pytestmark = pytest.mark.integration

Publication = tuple[str, int, uuid.UUID, str, bool, int, str]


def publications(conn: Connection) -> list[Publication]:
    rows = conn.execute(
        "SELECT plan_id, version, event_id, event, published_at IS NOT NULL, attempt, last_error"
        " FROM plan_publication ORDER BY version"
    ).fetchall()
    conn.commit()
    return [(r[0], int(r[1]), r[2], r[3], bool(r[4]), int(r[5]), r[6]) for r in rows]


def messages_on_topic(kafka: KafkaSettings, topic: KafkaTopic) -> int:
    """How many messages the topic holds, from its partitions' watermarks (independent of any consumer)."""
    name = topic_name(topic, kafka.topic_prefix)
    consumer = Consumer({"bootstrap.servers": kafka.bootstrap_servers, "group.id": unique_name("wm")})
    try:
        partitions = consumer.list_topics(name, timeout=10).topics[name].partitions
        total = 0
        for partition in partitions:
            low, high = consumer.get_watermark_offsets(TopicPartition(name, partition), timeout=10)
            total += high - low
        return total
    finally:
        consumer.close()


def read_schedule(kafka: KafkaSettings, count: int) -> list[SchedulePublishedEvent]:
    events: list[SchedulePublishedEvent] = []
    with BatchConsumer(kafka, unique_name("check"), [KafkaTopic.SCHEDULE]) as consumer:
        for _ in range(30):
            for message in consumer.poll_batch(max_messages=10, timeout=1.0):
                event = parse_event(message.value() or b"")
                assert isinstance(event, SchedulePublishedEvent)
                events.append(event)
            if len(events) >= count:
                break
    return events


def test_plan_made_while_kafka_is_unreachable_is_published_once_with_its_event_id_later(
    stack: StackEndpoints, kafka_settings: KafkaSettings, pg_settings: PostgresSettings
) -> None:
    plant = load_plant(DEMO_PLANT)
    settings = ReschedulerSettings(
        site_id=plant.site_id,
        consumer_group=unique_name("resched"),
        time_limit_s=2.0,
        publish_timeout_s=2.0,
    )
    # Nothing listens there: every produce times out in the producer, as in a Kafka outage.
    unreachable = kafka_settings.model_copy(update={"bootstrap_servers": f"127.0.0.1:{free_port()}"})
    with connect(pg_settings) as conn:
        seed_order(conn, plant, OrderSpec("PUB-1", "HB-M8x30", 10_000, utcnow() + timedelta(days=20)))

        # 1. Kafka unreachable: the start-up plan is stored, its event stays pending after a failed attempt.
        with running(ReschedulerService(plant, settings, unreachable, pg_settings)):
            wait_for(lambda: any(p[5] >= 1 for p in publications(conn)), "a failed publication attempt")
        [(plan_id, version, event_id, stored, published, attempt, error)] = publications(conn)
        assert version == 1 and not published and attempt >= 1
        assert "DeliveryError" in error and "timed out" in error
        current = conn.execute("SELECT plan_id FROM schedule_plan WHERE is_current").fetchone()
        conn.commit()
        assert current == (plan_id,)
        assert messages_on_topic(kafka_settings, KafkaTopic.SCHEDULE) == 0

        # 2. Kafka reachable: at start-up the pending plan goes out first, then the start-up replan's own.
        with running(ReschedulerService(plant, settings, kafka_settings, pg_settings)):
            wait_for(
                lambda: [(p[1], p[4]) for p in publications(conn)] == [(1, True), (2, True)],
                "both plans published",
            )
        after = publications(conn)

    assert after[0][:4] == (plan_id, 1, event_id, stored)  # the same stored event, not a new one
    assert after[0][5] == attempt + 1 and after[0][6] == ""
    # Exactly once each: the topic holds two messages, the first plan's with its stored event id, in order.
    assert messages_on_topic(kafka_settings, KafkaTopic.SCHEDULE) == 2
    events = read_schedule(kafka_settings, 2)
    assert [(e.payload.version, e.event_id) for e in events] == [(1, event_id), (2, after[1][2])]
    assert events[0] == parse_event(stored)
    assert events[0].payload.plan_id == plan_id and events[0].payload.trigger == "startup"


def publisher(producer: Producer, kafka: KafkaSettings) -> PublishEvent:
    def publish(event: EventBase) -> None:
        produce_event(producer, event, kafka)
        flush(producer, 10.0)

    return publish


def test_pending_plans_go_out_oldest_first_and_a_failure_holds_back_the_later_ones(
    kafka_settings: KafkaSettings, pg_settings: PostgresSettings
) -> None:
    plant = load_plant(DEMO_PLANT)
    settings = ReschedulerSettings(site_id=plant.site_id, time_limit_s=2.0)
    unreachable = kafka_settings.model_copy(update={"bootstrap_servers": f"127.0.0.1:{free_port()}"})
    dead = make_producer(unreachable, **{"message.timeout.ms": 1000})
    live = make_producer(kafka_settings)

    try:
        with connect(pg_settings) as conn:
            seed_order(conn, plant, OrderSpec("PUB-2", "HB-M8x30", 10_000, utcnow() + timedelta(days=20)))
            # Two plans committed and never published: the process stopped right after each commit.
            replanner = Replanner(plant, settings)
            replanner.replan(conn, "first")
            replanner.replan(conn, "second")
            assert publish_pending(conn, plant.site_id, publisher(dead, unreachable)) == (0, 1)
            # Only the oldest was tried: the newer one must not overtake it.
            assert [(p[1], p[4], p[5]) for p in publications(conn)] == [(1, False, 1), (2, False, 0)]
            assert publish_pending(conn, plant.site_id, publisher(live, kafka_settings)) == (2, 0)
            assert publish_pending(conn, plant.site_id, publisher(live, kafka_settings)) == (0, 0)
            stored = publications(conn)
    finally:
        dead.close()
        live.close()
    assert [(p[1], p[4], p[5]) for p in stored] == [(1, True, 2), (2, True, 1)]
    events = read_schedule(kafka_settings, 2)
    assert [(e.payload.version, e.event_id) for e in events] == [(1, stored[0][2]), (2, stored[1][2])]
    assert messages_on_topic(kafka_settings, KafkaTopic.SCHEDULE) == 2
