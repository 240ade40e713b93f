"""Replanning from the real database: frozen started work, learned standard times, breakdowns, stable
replans, and the triggers recorded from real Kafka messages."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from confluent_kafka import Message

from rescheduler.model import ScheduledOp, build_solution, check
from rescheduler.model import SolveStatus as ModelStatus
from rescheduler.service.build import minutes
from rescheduler.service.replan import Replanner, ReplanResult
from rescheduler.service.triggers import record_batch
from rescheduler.settings import ReschedulerSettings
from shopfloor.db.pool import Connection, connect
from shopfloor.db.state import mark_operation
from shopfloor.events import (
    EventBase,
    MachineCounterEvent,
    MachineCounterPayload,
    MachineState,
    MachineStateEvent,
    MachineStatePayload,
    new_event_id,
    utcnow,
)
from shopfloor.kafka.consumer import BatchConsumer
from shopfloor.kafka.producer import flush, make_producer, produce_event
from shopfloor.plant import Plant, load_plant
from shopfloor.settings import KafkaSettings, PostgresSettings
from shopfloor.topics import KafkaTopic
from tests.fixtures.stack import unique_name
from tests.rescheduler_support.seed import DEMO_PLANT, OrderSpec, seed_order

pytestmark = pytest.mark.integration

_seq = itertools.count(1)


@pytest.fixture(scope="module")
def plant() -> Plant:
    return load_plant(DEMO_PLANT)


def assert_valid(result: ReplanResult) -> None:
    """The stored plan satisfies the model's own checker (precedence, machines, calendars, frozen work)."""
    origin = result.plan_input.origin
    ops = [
        ScheduledOp(
            job=o.work_order_id,
            seq=o.seq,
            machine=o.machine_id,
            start=minutes(o.start - origin),
            end=minutes(o.end - origin),
        )
        for o in result.ops
    ]
    problem = result.plan_input.problem
    solution = build_solution(problem, ops, solver="stored", status=ModelStatus.FEASIBLE)
    assert check(problem, solution) == []


def test_replan_freezes_started_work_and_uses_learned_times(pg_settings: PostgresSettings, plant: Plant) -> None:
    now = utcnow()
    with connect(pg_settings) as conn:
        seed_order(conn, plant, OrderSpec("O1", "HB-M8x30", 20_000, now + timedelta(days=10)))
        seed_order(conn, plant, OrderSpec("O2", "HB-M8x30", 20_000, now + timedelta(days=10)))
        # O1's wire drawing started an hour ago on D2 and has made 8,000 of 20,000 pieces.
        mark_operation(conn, "WO-O1", 1, "started", now - timedelta(hours=1), machine_id="D2", good=8_000)
        # Heading of the product was measured slower than the plant says: 0.05 min/pc, 100 min setup.
        conn.execute(
            "INSERT INTO standard_time (product_id, operation_seq, workcenter_id, unit_min, setup_min, samples)"
            " VALUES ('HB-M8x30', 2, 'WC-HEAD', 0.05, 100, 12)"
        )
        conn.commit()
        result = Replanner(plant, ReschedulerSettings(time_limit_s=5)).replan(conn, "test", now=now)
        stored = conn.execute(
            "SELECT work_order_id, seq, machine_id, start_ts, end_ts, frozen FROM scheduled_operation"
            " WHERE plan_id = %s ORDER BY work_order_id, seq",
            (result.plan_id,),
        ).fetchall()
    assert_valid(result)
    ops = {(r[0], r[1]): r for r in stored}
    assert len(ops) == 12
    drawing = ops[("WO-O1", 1)]
    assert drawing[2] == "D2" and drawing[5] is True
    # Frozen where it started (to the minute of the plan's clock).
    assert now - timedelta(hours=1, minutes=1) <= drawing[3] <= now - timedelta(hours=1)
    # Remaining 12,000 pieces at the plant's 0.006 min/pc = 72 min from the plan origin.
    origin = result.plan_input.origin
    assert drawing[4] == origin + timedelta(minutes=72)
    # Heading with the learned time: 100 + 0.05 x 20,000 = 1,100 min on whichever press.
    for wo in ("WO-O1", "WO-O2"):
        heading = ops[(wo, 2)]
        assert heading[4] - heading[3] == timedelta(minutes=1100)
        assert heading[3] >= ops[(wo, 1)][4]


def test_breakdown_makes_the_machine_unavailable_until_repair(pg_settings: PostgresSettings, plant: Plant) -> None:
    now = utcnow()
    with connect(pg_settings) as conn:
        seed_order(conn, plant, OrderSpec("O1", "HB-M16x60", 10_000, now + timedelta(days=10)))
        # H8 (one of the two presses for this product) is in FAULT since now; H7 is under maintenance.
        conn.execute(
            "INSERT INTO machine_current_state (machine_id, state, since, event_id) VALUES"
            " ('H8', 'FAULT', %s, gen_random_uuid()), ('H7', 'MAINTENANCE', %s, gen_random_uuid())",
            (now, now),
        )
        conn.commit()
        result = Replanner(plant, ReschedulerSettings(time_limit_s=5, repair_h=30)).replan(conn, "test", now=now)
    assert_valid(result)
    heading = next(o for o in result.ops if o.seq == 2)
    # Both presses are out for 30 h: heading cannot start before they are back.
    assert heading.start >= now + timedelta(hours=30) - timedelta(minutes=1)
    assert heading.machine_id in ("H7", "H8")


def test_unchanged_state_replans_to_the_same_plan(pg_settings: PostgresSettings, plant: Plant) -> None:
    now = utcnow()
    with connect(pg_settings) as conn:
        for i in range(3):
            seed_order(conn, plant, OrderSpec(f"O{i}", "HB-M6x20", 30_000, now + timedelta(days=2 + i)))
        replanner = Replanner(plant, ReschedulerSettings(time_limit_s=5))
        first = replanner.replan(conn, "first", now=now)
        # Same clock: a later minute would legitimately move operations planned to start right now.
        second = replanner.replan(conn, "second", now=now)
        versions = conn.execute("SELECT version, is_current FROM schedule_plan ORDER BY version").fetchall()
        # Only the newest versions are kept.
        Replanner(plant, ReschedulerSettings(time_limit_s=5, keep_plans=2)).replan(conn, "third", now=now)
        kept = conn.execute("SELECT version FROM schedule_plan ORDER BY version").fetchall()
        orphans = conn.execute(
            "SELECT count(*) FROM scheduled_operation WHERE plan_id NOT IN (SELECT plan_id FROM schedule_plan)"
        ).fetchone()
    assert (first.version, second.version) == (1, 2)
    assert versions == [(1, False), (2, True)]
    assert second.event.payload.moved == []
    assert len(first.event.payload.moved) == len(first.ops)  # all new against no plan
    assert kept == [(2,), (3,)] and orphans == (0,)


def produce(kafka: KafkaSettings, events: list[EventBase]) -> None:
    producer = make_producer(kafka)
    for event in events:
        produce_event(producer, event, kafka)
    flush(producer, 30.0)


def consume(kafka: KafkaSettings, count: int) -> list[Message]:
    got: list[Message] = []
    with BatchConsumer(kafka, unique_name("g"), [KafkaTopic.TELEMETRY]) as consumer:
        for _ in range(30):
            got += consumer.poll_batch(max_messages=100, timeout=1.0)
            if len(got) >= count:
                break
    return sorted(got, key=lambda m: m.offset() or 0)


def state(machine: str, value: MachineState, minutes_ago: float) -> MachineStateEvent:
    return MachineStateEvent(
        event_id=new_event_id(),
        source="gw",
        seq=next(_seq),
        ts=utcnow() - timedelta(minutes=minutes_ago),
        payload=MachineStatePayload(machine_id=machine, state=value),
    )


def current_states(conn: Connection) -> dict[str, str]:
    return dict(conn.execute("SELECT machine_id, state FROM machine_current_state").fetchall())


def test_machine_state_triggers(pg_settings: PostgresSettings, kafka_settings: KafkaSettings) -> None:
    counter = MachineCounterEvent(
        event_id=new_event_id(),
        source="gw",
        seq=0,
        ts=utcnow(),
        payload=MachineCounterPayload(machine_id="H2", good=5, scrap=0),
    )
    events: list[EventBase] = [
        state("H2", MachineState.RUNNING, 10),
        counter,
        state("H2", MachineState.FAULT, 5),  # breakdown: trigger
        state("H2", MachineState.RUNNING, 7),  # older than the FAULT (arrived late): ignored
        state("H3", MachineState.IDLE, 5),  # first news of H3, not a breakdown: no trigger
        state("H3", MachineState.RUNNING, 4),  # still available: no trigger
    ]
    # Same key -> same partition, so one machine's events arrive in the order produced.
    produce(kafka_settings, events)
    messages = consume(kafka_settings, len(events))
    assert len(messages) == len(events)
    with connect(pg_settings) as conn:
        with conn.transaction():
            reasons = record_batch(conn, messages)
        assert reasons == ["H2 FAULT"]
        assert current_states(conn) == {"H2": "FAULT", "H3": "RUNNING"}
        # Redelivery of the same batch (a crash before the offset commit) changes nothing.
        with conn.transaction():
            assert record_batch(conn, messages) == []
        produce(kafka_settings, [state("H2", MachineState.IDLE, 0)])
        more = consume(kafka_settings, len(events) + 1)
        repaired = [m for m in more if b'"IDLE"' in (m.value() or b"") and b'"H2"' in (m.value() or b"")]
        with conn.transaction():
            assert record_batch(conn, repaired) == ["H2 IDLE"]  # back from breakdown: trigger
        assert current_states(conn)["H2"] == "IDLE"


def test_material_needed_earlier_alerts_purchasing_once(pg_settings: PostgresSettings, plant: Plant) -> None:
    now = utcnow()
    spec = OrderSpec("O1", "HB-M8x30", 10_000, now + timedelta(days=10))
    with connect(pg_settings) as conn:
        seed_order(conn, plant, spec)
        # The material was expected in two days; the work order may not start before.
        conn.execute("UPDATE work_order SET release_time = %s", (now + timedelta(hours=48),))
        conn.commit()
        replanner = Replanner(plant, ReschedulerSettings(time_limit_s=5, material_earlier_min_h=4))
        first = replanner.replan(conn, "first", now=now)
        assert first.alerts.raise_ == []
        # The planner pulls the order forward: the material is now needed within hours.
        conn.execute("UPDATE work_order SET release_time = %s", (now + timedelta(hours=2),))
        conn.commit()
        second = replanner.replan(conn, "pulled forward", now=now)
        third = replanner.replan(conn, "unchanged", now=now)
        alerts = conn.execute("SELECT kind, audience, order_id, need, state FROM alert").fetchall()
    first_start = min(o.start for o in first.ops)
    second_start = min(o.start for o in second.ops)
    assert first_start >= now + timedelta(hours=48) - timedelta(minutes=1)
    assert second_start < first_start - timedelta(hours=4)
    assert [(a.kind.value, a.audience.value, a.order_id, a.need) for a in second.alerts.raise_] == [
        ("material_earlier", "purchasing", "O1", second_start)
    ]
    assert third.alerts.raise_ == [] and third.alerts.clear == []
    assert alerts == [("material_earlier", "purchasing", "O1", second_start, "raised")]
