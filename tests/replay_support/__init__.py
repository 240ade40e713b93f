"""Helpers of the replay tests: events written to Kafka with chosen record timestamps."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from shopfloor.events import (
    EventBase,
    MachineCounterEvent,
    MachineCounterPayload,
    MachineState,
    MachineStateEvent,
    MachineStatePayload,
    new_event_id,
)
from shopfloor.kafka.producer import flush, make_producer, raise_on_error
from shopfloor.settings import KafkaSettings
from shopfloor.topics import route_event, topic_name
from streams.replay.ranges import to_millis

T0 = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
STATES = [MachineState.RUNNING, MachineState.IDLE, MachineState.FAULT, MachineState.SETUP]


def machine_events(machines: list[str], count: int, start: datetime, step: timedelta) -> list[EventBase]:
    """``count`` events per machine, alternating state and counter, ``step`` apart in event time."""
    events: list[EventBase] = []
    for i in range(count):
        ts = start + i * step
        for machine in machines:
            envelope = {"event_id": new_event_id(), "source": "gw-1", "seq": len(events), "ts": ts}
            if i % 2 == 0:
                payload = MachineStatePayload(machine_id=machine, state=STATES[(i // 2) % len(STATES)])
                events.append(MachineStateEvent.model_validate({**envelope, "payload": payload}))
            else:
                payload_c = MachineCounterPayload(machine_id=machine, good=i * 10, scrap=i)
                events.append(MachineCounterEvent.model_validate({**envelope, "payload": payload_c}))
    return events


def produce_at(settings: KafkaSettings, events: Iterable[EventBase], record_time: datetime | None = None) -> None:
    """Produce events keyed as the bridge does, each with record timestamp ``record_time`` (default: its ts)."""
    producer = make_producer(settings)
    for event in events:
        route = route_event(event)
        producer.produce(
            topic_name(route.topic, settings.topic_prefix),
            value=event.to_json(),
            key=route.key.encode(),
            timestamp=to_millis(record_time or event.ts),
            on_delivery=raise_on_error,
        )
        producer.poll(0)
    flush(producer)
