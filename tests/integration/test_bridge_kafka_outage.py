"""Kafka SIGKILLed mid-stream under the bridge: backpressure instead of loss, nothing lost or reordered.

The bridge's producer retries forever (``message.timeout.ms=0``) and acknowledges MQTT only after Kafka
confirmed, so while Kafka is away the broker's window (MQTT 5 Receive Maximum) fills up and the rest of
the stream waits in Mosquitto. The broker is our own; MQTT is the shared one, under an enterprise of this
test's own.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import defaultdict
from types import TracebackType

import pytest

from edge.bridge.bridge import Bridge, producer_overrides
from edge.bridge.config import BridgeConfig
from edge.bridge.metrics import BridgeMetrics
from edge.bridge.routing import HEADER_EVENT_ID
from edge.bridge.testing import PacedPublisher, Record, event_plan, first_occurrences, forget_session, read_topics
from shopfloor.kafka.admin import ensure_topics
from shopfloor.settings import MqttSettings
from shopfloor.stack.kafka import KafkaServer
from shopfloor.stack.process import kill
from shopfloor.topics import KafkaTopic, topic_name
from tests.fixtures.stack import StackEndpoints, unique_name

pytestmark = pytest.mark.integration

EVENTS = 4_000
MACHINES = [f"M{i:02d}" for i in range(12)]
WORK_ORDERS = [f"WO-{i}" for i in range(4)]
BATCH, PAUSE_S = 20, 0.1  # about 200 msg/s: publishing goes on through the whole outage
KILL_AT = 1_000  # published count at which Kafka is SIGKILLed
OUTAGE_S = 10.0  # Kafka process down this long; more than Receive Maximum messages are published meanwhile
SAMPLE_EVERY_S = 0.02


class InFlightSampler:
    """Samples the bridge's unacknowledged count (taken, not yet finished) in a thread of its own."""

    def __init__(self, metrics: BridgeMetrics) -> None:
        self.metrics = metrics
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="in-flight-sampler", daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            # taken before finished: a delivery between the two reads can only lower the figure, never
            # invent messages in flight.
            taken = self.metrics.taken
            self.peak = max(self.peak, taken - self.metrics.finished)
            self._stop.wait(SAMPLE_EVERY_S)

    def __enter__(self) -> InFlightSampler:
        self._thread.start()
        return self

    def __exit__(self, _t: type[BaseException] | None, _e: BaseException | None, _tb: TracebackType | None) -> None:
        self._stop.set()
        self._thread.join()


def test_kafka_sigkill_mid_stream_holds_back_and_loses_nothing(
    stack: StackEndpoints, mqtt_settings: MqttSettings, private_kafka: KafkaServer
) -> None:
    kafka = stack.kafka.model_copy(
        update={
            "bootstrap_servers": f"127.0.0.1:{private_kafka.port}",
            "topic_prefix": unique_name("t") + ".",
            "partitions": 3,
        }
    )
    ensure_topics(kafka)
    plan = event_plan(mqtt_settings, EVENTS, MACHINES, WORK_ORDERS)
    expected: dict[str, list[str]] = defaultdict(list)
    for planned in plan:
        expected[planned.key].append(planned.event_id)
    wanted = {planned.event_id for planned in plan}

    config = BridgeConfig(bridge_id=f"kafka-outage-{uuid.uuid4().hex[:8]}")
    bridge = Bridge(config, mqtt_settings, kafka)
    bridge.start()
    try:
        publisher = PacedPublisher(mqtt_settings, [(p.topic, p.payload) for p in plan], BATCH, PAUSE_S)
        with InFlightSampler(bridge.metrics) as sampler:
            publisher.start()
            publisher.wait_published(KILL_AT)
            pid = private_kafka.pid
            assert pid is not None
            kill(pid, marker=str(private_kafka.properties))  # SIGKILL: no controlled shutdown, no flush
            time.sleep(OUTAGE_S / 2)
            finished_mid_outage = bridge.metrics.finished
            time.sleep(OUTAGE_S / 2)
        finished_end_outage = bridge.metrics.finished
        in_flight_end_outage = bridge.metrics.taken - finished_end_outage
        # Accepted by the broker from the publisher, not yet handed to the bridge: held back in Mosquitto.
        held_in_broker = publisher.acknowledged - bridge.metrics.taken

        # Same ports, same data dir: the broker recovers its unclean logs, then waits out the old
        # registration's session (broker.session.timeout.ms, 9 s) before it serves (KAFKA-19130).
        # From here the broker's window is not a bound: on its first PUBACKs Mosquitto 2.0 moves up to a
        # whole window of queued messages into flight per PUBACK (db__message_delete_outgoing). The
        # bridge's own bound holds instead: its producer queue, which stops it reading MQTT when full.
        topics = [topic_name(t, kafka.topic_prefix) for t in (KafkaTopic.TELEMETRY, KafkaTopic.MES)]

        def complete(records: list[Record]) -> bool:
            return {r.headers[HEADER_EVENT_ID].decode() for r in records} >= wanted

        with InFlightSampler(bridge.metrics) as recovery:
            private_kafka.start(timeout=90)
            publisher.finish(timeout=120)
            records = read_topics(kafka, topics, complete, timeout=120)
    finally:
        bridge.stop()
        forget_session(mqtt_settings, config.client_id)

    assert not bridge.failed.is_set()
    # Kafka was really away: nothing was confirmed during the second half of the outage.
    assert finished_end_outage == finished_mid_outage
    # Backpressure instead of loss: the bridge held at most a window of messages, the broker the rest.
    assert sampler.peak <= config.receive_maximum
    assert 0 < in_flight_end_outage <= config.receive_maximum
    assert held_in_broker > 0
    # ... and after it, at most the producer queue (plus the one message waiting for room in it).
    assert recovery.peak <= producer_overrides(kafka, config)["queue.buffering.max.messages"] + 1
    assert {r.headers[HEADER_EVENT_ID].decode() for r in records} == wanted
    assert first_occurrences(records) == expected
    assert bridge.metrics.dead_lettered == {}
