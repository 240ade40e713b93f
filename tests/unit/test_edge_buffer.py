"""The SQLite outbox: order, persistence, seq, the shedding policy; historical re-serialization."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from edge.agent import EdgeAgent, as_historical, mqtt_kind_of
from edge.buffer import MessageClass, OutboxQueue, QueueFullError
from edge.buffer.queue import SEQ_BLOCK, OutboxItem
from shopfloor.events import (
    MachineCounterEvent,
    MachineCounterPayload,
    MachineProcessEvent,
    MachineProcessPayload,
    NodeKind,
    ProcessValue,
    Unit,
    WoReportedEvent,
    WoReportedPayload,
    parse_event,
    utcnow,
)
from shopfloor.settings import MqttSettings
from shopfloor.topics import MqttKind

pytestmark = pytest.mark.unit

P, T, S = MessageClass.PROCESS, MessageClass.TELEMETRY, MessageClass.SCAN


def _queue(tmp_path: Path, **kwargs: int) -> OutboxQueue:
    return OutboxQueue(tmp_path / "outbox.db", **kwargs)  # type: ignore[arg-type]


def _topics(queue: OutboxQueue) -> list[str]:
    return [row.topic for row in queue.read_after(0, 10_000)]


def test_rows_come_back_in_order_and_leave_on_delete(tmp_path: Path) -> None:
    queue = _queue(tmp_path)
    for i in range(5):
        assert queue.put(f"t/{i}", f"payload {i}".encode(), T)
    rows = queue.read_after(0, 3)
    assert [r.payload for r in rows] == [b"payload 0", b"payload 1", b"payload 2"]
    assert [r.topic for r in queue.read_after(rows[-1].id, 10)] == ["t/3", "t/4"]
    assert queue.delete([rows[0].id, rows[1].id, 999_999]) == 2
    assert queue.rows == 3
    assert queue.total_bytes == sum(len(f"t/{i}") + len(f"payload {i}") for i in (2, 3, 4))
    queue.close()


def test_rows_and_seq_survive_reopen_and_ids_are_never_reused(tmp_path: Path) -> None:
    queue = _queue(tmp_path)
    seqs = [queue.next_seq() for _ in range(3)]
    queue.put_many([OutboxItem(f"t/{i}", b"x", S) for i in range(4)])
    last = queue.read_after(0, 10)[-1].id
    queue.delete([last])
    queue.close()

    reopened = _queue(tmp_path)
    assert _topics(reopened) == ["t/0", "t/1", "t/2"]
    assert reopened.max_id_at_open == last  # the deleted row's id still counts
    assert reopened.put("t/new", b"y", S)
    assert reopened.read_after(0, 10)[-1].id == last + 1
    # A restart skips the rest of the reserved block: monotonic, never repeated.
    assert reopened.next_seq() == SEQ_BLOCK > seqs[-1]
    reopened.close()


def test_process_values_are_shed_first_oldest_first_then_telemetry(tmp_path: Path) -> None:
    queue = _queue(tmp_path, max_rows=6)
    queue.put_many([OutboxItem(f"p{i}", b"x", P) for i in range(3)] + [OutboxItem(f"t{i}", b"x", T) for i in range(3)])
    assert queue.put("s0", b"x", S)
    assert queue.put("t3", b"x", T)
    assert _topics(queue) == ["p2", "t0", "t1", "t2", "s0", "t3"]
    assert queue.put_many([OutboxItem("s1", b"x", S), OutboxItem("s2", b"x", S)]) == 2
    assert _topics(queue) == ["t1", "t2", "s0", "t3", "s1", "s2"]
    assert queue.stats().shed == 4
    queue.close()


def test_process_value_never_evicts_telemetry_and_is_shed_itself(tmp_path: Path) -> None:
    queue = _queue(tmp_path, max_rows=3)
    queue.put_many([OutboxItem("t0", b"x", T), OutboxItem("s0", b"x", S), OutboxItem("p0", b"x", P)])
    assert queue.put("p1", b"x", P)  # evicts the older process value
    assert _topics(queue) == ["t0", "s0", "p1"]
    queue.put("s1", b"x", S)
    queue.put("s2", b"x", S)
    assert _topics(queue) == ["s0", "s1", "s2"]
    assert not queue.put("p2", b"x", P)
    assert not queue.put("t1", b"x", T)
    assert queue.stats().shed == 5
    queue.close()


def test_scan_that_cannot_fit_is_refused_and_its_batch_kept_out(tmp_path: Path) -> None:
    queue = _queue(tmp_path, max_rows=3)
    queue.put_many([OutboxItem("s0", b"x", S), OutboxItem("s1", b"x", S), OutboxItem("p0", b"x", P)])
    with pytest.raises(QueueFullError):
        queue.put_many([OutboxItem("s2", b"x", S), OutboxItem("s3", b"x", S)])
    assert _topics(queue) == ["s0", "s1", "p0"]  # rolled back, eviction of p0 included
    assert queue.stats().refused == 1
    assert queue.stats().rows_by_class == {"process": 1, "telemetry": 0, "scan": 2}
    queue.close()


def test_byte_bound_sheds_until_the_newcomer_fits(tmp_path: Path) -> None:
    queue = _queue(tmp_path, max_bytes=100)
    queue.put_many([OutboxItem(f"p{i}", b"x" * 18, P) for i in range(5)])  # 20 bytes each
    assert queue.total_bytes == 100
    assert queue.put("s", b"y" * 49, S)  # 50 bytes: three process rows must go
    assert _topics(queue) == ["p3", "p4", "s"]
    assert not queue.put("p9", b"z" * 200, P)  # larger than the whole bound
    with pytest.raises(QueueFullError):
        queue.put("s2", b"z" * 200, S)
    queue.close()


def test_mqtt_kind_decides_the_message_class() -> None:
    assert [MessageClass.for_kind(k) for k in (MqttKind.PROCESS, MqttKind.STATE, MqttKind.COUNTER, MqttKind.WO)] == [
        P,
        T,
        T,
        S,
    ]


def _events() -> tuple[MachineProcessEvent, WoReportedEvent]:
    process = MachineProcessEvent(
        event_id=uuid.uuid4(),
        source="n1",
        seq=7,
        ts=utcnow(),
        payload=MachineProcessPayload(machine_id="M1", values=[ProcessValue(name="t", value=1.5, unit=Unit.CELSIUS)]),
    )
    scan = WoReportedEvent(
        event_id=uuid.uuid4(), source="n1", seq=8, ts=utcnow(), payload=WoReportedPayload(work_order_id="WO1", good=3)
    )
    return process, scan


def test_historical_copy_keeps_identity_and_sets_the_flag() -> None:
    process, scan = _events()
    for event in (process, scan):
        replayed = parse_event(as_historical(event.to_json()))
        assert replayed.historical is True
        assert replayed.model_copy(update={"historical": False}) == event
    assert as_historical(b"not json at all") == b"not json at all"
    assert mqtt_kind_of(process) is MqttKind.PROCESS
    assert mqtt_kind_of(scan) is MqttKind.WO
    counter = MachineCounterEvent(
        event_id=uuid.uuid4(),
        source="n1",
        seq=1,
        ts=utcnow(),
        payload=MachineCounterPayload(machine_id="M", good=1, scrap=0),
    )
    assert mqtt_kind_of(counter) is MqttKind.COUNTER


def test_a_second_agent_cannot_open_the_same_outbox(tmp_path: Path) -> None:
    first = _queue(tmp_path)
    first.put("t", b"x", S)
    with pytest.raises(RuntimeError, match="in use by another agent"):
        _queue(tmp_path)
    first.close()
    again = _queue(tmp_path)  # free once the owner is gone
    assert again.rows == 1
    again.close()


def test_agent_refuses_a_machine_event_on_another_machines_topic(tmp_path: Path) -> None:
    agent = EdgeAgent("n1", NodeKind.SIMULATOR, "a", "l", MqttSettings(), tmp_path / "q.db")  # never started
    try:
        counter = agent.new_event(MachineCounterEvent, MachineCounterPayload(machine_id="M1", good=1, scrap=0))
        with pytest.raises(ValueError, match="cell 'M1', not 'M2'"):
            agent.publish(counter, "M2")
        agent.publish(counter, "M1")
        agent.publish_raw("M2", MqttKind.COUNTER, counter.to_json())  # fault injection may misplace
        assert [row.topic.split("/")[-2:] for row in agent.queue.read_after(0, 10)] == [
            ["M1", "counter"],
            ["M2", "counter"],
        ]
    finally:
        agent.close()
