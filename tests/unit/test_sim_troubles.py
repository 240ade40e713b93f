"""Each trouble switch does what it says, and never changes what the plant itself does."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from functools import cache

import pytest

from edge.sim.config import Flood, SimConfig, Troubles
from edge.sim.faults import TOPIC_REASON, MalformedKind
from edge.sim.model import simulate
from edge.sim.stream import Emission, Trouble
from shopfloor.events import EventError, parse_event
from shopfloor.plant import Plant, load_plant
from shopfloor.settings import PROJECT_ROOT
from shopfloor.topics import TopicError, mqtt_topic, route

pytestmark = pytest.mark.unit

START = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)
QUIET = {"process_every": timedelta(minutes=5), "counter_every": timedelta(minutes=5)}


@cache
def plant() -> Plant:
    return load_plant(PROJECT_ROOT / "infra" / "plants" / "demo.yaml")


def run(**troubles: object) -> list[Emission]:
    config = SimConfig(start=START, duration=timedelta(hours=2), behaviour=QUIET, troubles=troubles)  # type: ignore[arg-type]
    return list(simulate(plant(), config))


@cache
def clean() -> tuple[Emission, ...]:
    return tuple(run())


def test_troubles_leave_the_plant_alone() -> None:
    troubled = run(duplicate_rate=0.1, late_rate=0.1, out_of_order_rate=0.1, malformed_rate=0.1)
    clean_ids = Counter(str(e.event.event_id) for e in clean() if e.event is not None)
    delivered = {str(e.event.event_id) for e in troubled if e.event is not None}
    # Every clean event is delivered (some late, some twice) and nothing else valid is invented.
    assert delivered == set(clean_ids)
    assert [e.at for e in troubled] == sorted(e.at for e in troubled)


def test_duplicates_share_the_event_id_of_an_earlier_delivery() -> None:
    troubled = run(duplicate_rate=0.2)
    seen: dict[str, Emission] = {}
    duplicates = 0
    for emission in troubled:
        assert emission.event is not None
        key = str(emission.event.event_id)
        if emission.trouble is Trouble.DUPLICATE:
            duplicates += 1
            assert seen[key].event == emission.event
        else:
            assert key not in seen
            seen[key] = emission
    assert duplicates > 0.1 * len(seen)


def test_late_events_keep_their_old_ts_and_arrive_later() -> None:
    late_by = timedelta(minutes=20)
    troubled = run(late_rate=0.1, late_by=late_by)
    late = [e for e in troubled if e.trouble is Trouble.LATE]
    assert len(late) > 20
    for emission in late:
        assert emission.event is not None
        assert emission.at - emission.event.ts == late_by


def test_out_of_order_events_arrive_after_a_later_seq_of_their_node() -> None:
    troubled = run(out_of_order_rate=0.1)
    last_seq: dict[str, int] = {}
    swapped = 0
    for emission in troubled:
        assert emission.event is not None
        node, seq = emission.node_id, emission.event.seq
        if emission.trouble is Trouble.OUT_OF_ORDER:
            swapped += 1
            assert seq < last_seq[node]
        else:
            assert seq > last_seq.get(node, -1)
        last_seq[node] = max(seq, last_seq.get(node, -1))
    assert swapped > 20


def test_clock_skew_shifts_each_node_by_its_own_offset() -> None:
    troubled = run(clock_skew_max=timedelta(seconds=30), clock_skew={"sim-HEAD-L1": timedelta(seconds=-45)})
    offsets: dict[str, set[timedelta]] = {}
    for emission in troubled:
        assert emission.event is not None
        offsets.setdefault(emission.node_id, set()).add(emission.event.ts - emission.at)
    assert all(len(found) == 1 for found in offsets.values())
    assert offsets["sim-HEAD-L1"] == {timedelta(seconds=-45)}
    drawn = [next(iter(found)) for node, found in offsets.items() if node != "sim-HEAD-L1"]
    assert all(abs(offset) <= timedelta(seconds=30) for offset in drawn)
    assert len(set(drawn)) > 1


@pytest.mark.parametrize("kinds", [list(MalformedKind), [MalformedKind.SPOOFED_MACHINE]])
def test_malformed_messages_are_rejected_for_their_expected_reason(kinds: list[MalformedKind]) -> None:
    troubled = run(malformed_rate=0.05, malformed_kinds=kinds)
    bad = [e for e in troubled if e.trouble is Trouble.MALFORMED]
    assert len(bad) > 20
    assert {e.malformed.fault for e in bad if e.malformed} == set(kinds)
    for emission in bad:
        message = emission.malformed
        assert message is not None and emission.event is None
        topic = mqtt_topic("acme", "plant1", "area", "line", emission.cell, emission.mqtt_kind)
        try:
            route(topic, parse_event(message.payload))
        except EventError as exc:
            assert exc.kind.value == message.expected_reason
        except TopicError:
            assert message.expected_reason == TOPIC_REASON
        else:
            pytest.fail(f"{message.fault} was accepted: {message.payload[:200]!r}")


def test_a_flood_sends_its_rate_in_real_time_from_one_machine() -> None:
    # At speed 60 a sim minute is a real second: 300 msg/s for 2 sim minutes is 600 messages.
    flood = Flood.parse("H2@30m:2m:300")
    troubles = Troubles(floods=[flood])
    config = SimConfig(start=START, duration=timedelta(hours=1), speed=60, behaviour=QUIET, troubles=troubles)
    flooded = [e for e in simulate(plant(), config) if e.trouble is Trouble.FLOOD]
    assert len(flooded) == 600
    assert {e.cell for e in flooded} == {"H2"}
    assert flooded[0].at == START + timedelta(minutes=30)
    assert flooded[-1].at < START + timedelta(minutes=32)
    assert all(e.event is not None and e.mqtt_kind == "process" for e in flooded)
