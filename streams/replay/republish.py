"""Re-publish: send a recorded range again, to another Kafka topic or back over MQTT, at ×N speed.

Records are merged across partitions by timestamp (each partition in offset order, so order per key is
kept) and each is sent at ``send_at = t0_wall + (ts − ts0) / N`` (:mod:`.pacing`). Events keep their
``event_id``: a range sent back into the live pipeline de-duplicates there, a range sent to another topic
is a faithful copy. How late each send was against its ``send_at`` is measured (pacing accuracy).

Over MQTT the events go through the edge's own code (:class:`edge.agent.EdgeAgent`, with its outbox), one
agent per plant line named ``replay-<line>``, on the topic their machine has in the plant model.
"""

from __future__ import annotations

import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Protocol, Self

from confluent_kafka import Producer

from edge.agent import EdgeAgent
from shopfloor.events import EventError, NodeKind, parse_event
from shopfloor.kafka.producer import flush, make_producer, raise_on_error
from shopfloor.plant import Plant
from shopfloor.settings import KafkaSettings, MqttSettings
from streams.replay.pacing import Pacing, merge_by_time
from streams.replay.reader import Record

Progress = Callable[[int], None]
Clock = Callable[[], float]
Sleep = Callable[[float], None]


class Target(Protocol):
    """Where re-published records go; ``send`` returns None once sent, or why it skipped the record."""

    description: str

    def send(self, record: Record) -> str | None: ...

    def close(self) -> None: ...


@dataclass
class RepublishSummary:
    sent: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    lateness_s: list[float] = field(default_factory=list)
    span_s: float = 0.0
    wall_s: float = 0.0

    def percentile(self, q: float) -> float:
        if not self.lateness_s:
            return 0.0
        if len(self.lateness_s) == 1:
            return self.lateness_s[0]
        return statistics.quantiles(self.lateness_s, n=100, method="inclusive")[round(q * 100) - 1]

    def lines(self) -> list[str]:
        out = [f"sent {self.sent} records in {self.wall_s:.1f} s (recorded span {self.span_s:.1f} s)"]
        if self.lateness_s:
            out.append(
                f"pacing: late against send_at p50 {self.percentile(0.5) * 1000:.1f} ms, "
                f"p99 {self.percentile(0.99) * 1000:.1f} ms, max {max(self.lateness_s) * 1000:.1f} ms"
            )
        if self.skipped:
            out.append("skipped: " + ", ".join(f"{k}={v}" for k, v in sorted(self.skipped.items())))
        return out


def republish(
    streams: dict[int, Iterator[Record]],
    target: Target,
    speed: float,
    *,
    clock: Clock = time.monotonic,
    sleep: Sleep = time.sleep,
    progress: Progress | None = None,
) -> RepublishSummary:
    """Send every record of ``streams`` (partition -> records in offset order) paced at ×``speed``."""
    summary = RepublishSummary()
    pacing: Pacing | None = None
    started = clock()
    last_ts = 0
    for record in merge_by_time(streams):
        if pacing is None:
            pacing = Pacing(record.timestamp_ms, clock(), speed)
        wait = pacing.wait(record.timestamp_ms, clock())
        if wait > 0:
            sleep(wait)
        sent_at = clock()
        skipped = target.send(record)
        if skipped is None:
            summary.sent += 1
            summary.lateness_s.append(max(0.0, sent_at - pacing.send_at(record.timestamp_ms)))
        else:
            summary.skipped[skipped] += 1
        last_ts = max(last_ts, record.timestamp_ms)
        if progress is not None:
            progress(1)
    target.close()
    if pacing is not None:
        summary.span_s = (last_ts - pacing.ts0_ms) / 1000.0
    summary.wall_s = clock() - started
    return summary


class KafkaTarget:
    """Produce each record to ``topic`` with its key, value and headers (idempotent producer)."""

    def __init__(self, settings: KafkaSettings, topic: str) -> None:
        self.topic = topic
        self.description = f"Kafka topic {topic}"
        self._producer: Producer = make_producer(settings)

    def send(self, record: Record) -> str | None:
        while True:
            try:
                self._producer.produce(
                    self.topic, record.value, record.key, headers=record.headers, on_delivery=raise_on_error
                )
                break
            except BufferError:
                self._producer.poll(0.1)
        self._producer.poll(0)
        return None

    def close(self) -> None:
        flush(self._producer)


class MqttTarget:
    """Publish each event back over MQTT through one edge agent per plant line.

    Node lifecycle events (``node.*``) are skipped: births and deaths belong to the agents that send them.
    So are events of a machine the plant model does not know (they have no topic to go to).
    """

    def __init__(self, plant: Plant, mqtt: MqttSettings, queue_dir: Path, *, connect_timeout_s: float = 10.0) -> None:
        self.plant = plant
        self.mqtt = mqtt
        self.queue_dir = queue_dir
        self.description = f"MQTT {mqtt.host}:{mqtt.port} under shopfloor/v1/{mqtt.enterprise}/{mqtt.site}"
        self.connect_timeout_s = connect_timeout_s
        self.agents: dict[str, EdgeAgent] = {}
        self._machines = {machine.id for machine in plant.all_machines()}

    def _agent(self, machine_id: str) -> EdgeAgent:
        where = self.plant.location(machine_id)
        agent = self.agents.get(where.line_id)
        if agent is None:
            self.queue_dir.mkdir(parents=True, exist_ok=True)
            node_id = f"replay-{where.line_id}"
            agent = EdgeAgent(
                node_id,
                NodeKind.SIMULATOR,
                where.workshop_id,
                where.line_id,
                self.mqtt,
                self.queue_dir / f"{node_id}.sqlite",
            )
            agent.start()
            # Not fatal: the outbox keeps the events until the broker answers.
            agent.wait_connected(self.connect_timeout_s)
            self.agents[where.line_id] = agent
        return agent

    def send(self, record: Record) -> str | None:
        try:
            event = parse_event(record.value)
        except EventError as exc:
            return f"invalid ({exc.kind.value})"
        if str(getattr(event, "type")).startswith("node."):  # noqa: B009 - every concrete event has a type
            return "node lifecycle"
        # The topic cell of a machine or work-order event is its machine.
        machine_id = getattr(getattr(event, "payload", None), "machine_id", None)
        if machine_id is None or machine_id not in self._machines:
            return "machine not in the plant"
        self._agent(machine_id).publish_many([(event, machine_id)])
        return None

    def close(self, flush_timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + flush_timeout_s
        for agent in self.agents.values():
            agent.close(flush_timeout=max(0.0, deadline - time.monotonic()))
        self.agents.clear()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
