"""Delivery confirmations: exact seq ranges per node, on its line's confirmation topic, and the outbox
deleting exactly the confirmed rows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edge.bridge.acks import AckSlot
from edge.bridge.confirm import confirm_tag, rejected_tag, seq_ranges
from edge.bridge.routing import Forward, decide
from edge.buffer import MessageClass, OutboxQueue
from edge.buffer.queue import OutboxItem
from shopfloor.stack.mqtt_accounts import EdgeNodeAccount, mqtt_acl
from shopfloor.topics import CONFIRM_ROOT, MQTT_ROOT, SeqConfirmation, confirm_topic

pytestmark = pytest.mark.unit

TOPIC = f"{MQTT_ROOT}/acme/plant1/heading/L1/H1/counter"


def test_seq_ranges_merge_and_sort() -> None:
    assert seq_ranges([5, 3, 4, 9, 1, 9]) == [(1, 1), (3, 5), (9, 9)]
    assert seq_ranges([]) == []


def test_confirmations_go_to_the_line_the_message_came_on() -> None:
    assert confirm_tag(TOPIC, "gw-1", 7) == (f"{CONFIRM_ROOT}/acme/plant1/heading/L1/gw-1", "gw-1", 7)
    assert confirm_topic("acme", "plant1", "heading", "L1", "gw-1") == f"{CONFIRM_ROOT}/acme/plant1/heading/L1/gw-1"
    assert not confirm_topic("a", "b", "c", "d", "e").startswith(MQTT_ROOT + "/")  # no bridge subscribes to it
    assert confirm_tag("elsewhere/x", "gw-1", 7) is None
    assert confirm_tag(TOPIC, "gw/+", 7) is None


def test_a_forwarded_event_carries_its_source_and_seq() -> None:
    raw = json.dumps(
        {
            "event_id": "6f1c8c1e-9d1f-4a59-9a57-1c0a3d7f0e11",
            "type": "machine.counter",
            "source": "gw-1",
            "seq": 42,
            "ts": "2026-12-02T10:00:00+00:00",
            "payload": {"machine_id": "H1", "good": 1, "scrap": 0},
        }
    ).encode()
    decision = decide(TOPIC, raw)
    assert isinstance(decision, Forward)
    assert (decision.source, decision.seq) == ("gw-1", 42)


def test_a_dead_letter_is_confirmed_when_it_still_names_source_and_seq() -> None:
    assert rejected_tag(TOPIC, b'{"source": "gw-1", "seq": 3, "ts": 0}') == confirm_tag(TOPIC, "gw-1", 3)
    assert rejected_tag(TOPIC, b"not json") is None
    assert rejected_tag(TOPIC, b'{"source": "gw-1", "seq": "3"}') is None
    assert rejected_tag(TOPIC, b'{"source": "gw-1", "seq": true}') is None
    assert rejected_tag(TOPIC, b"[1]") is None


def test_outbox_deletes_exactly_the_confirmed_seqs(tmp_path: Path) -> None:
    queue = OutboxQueue(tmp_path / "q.db")
    try:
        items = [OutboxItem("t", b"x", MessageClass.TELEMETRY, seq=seq) for seq in range(10)]
        queue.put_many([*items, OutboxItem("t", b"raw", MessageClass.TELEMETRY, False)])
        message = SeqConfirmation.model_validate_json(b'{"source": "gw-1", "ranges": [[0, 2], [5, 5], [8, 20]]}')
        assert queue.delete_seq_ranges(message.ranges) == 6
        assert [row.seq for row in queue.read_after(0, 100)] == [3, 4, 6, 7, None]
        assert queue.rows == 5
    finally:
        queue.close()


def test_acl_lets_a_node_read_only_its_own_lines_confirmations() -> None:
    node = EdgeNodeAccount.model_validate(
        {
            "username": "edge-l1",
            "password": "p",
            "enterprise": "acme",
            "site": "plant1",
            "area": "heading",
            "line": "L1",
        }
    )
    acl = mqtt_acl("shopfloor", [node])
    service, node_block = acl.split("\n\n")[1:]
    assert f"topic readwrite {CONFIRM_ROOT}/#" in service.splitlines()
    assert f"topic read {CONFIRM_ROOT}/acme/plant1/heading/L1/#" in node_block.splitlines()
    assert not any(
        line.startswith(("topic write", "topic readwrite")) and CONFIRM_ROOT in line for line in node_block.splitlines()
    )


def test_ack_slot_tags_survive_to_the_confirmer() -> None:
    slot = AckSlot(1, confirm_tag(TOPIC, "gw-1", 7))
    assert slot.tag == (f"{CONFIRM_ROOT}/acme/plant1/heading/L1/gw-1", "gw-1", 7)
