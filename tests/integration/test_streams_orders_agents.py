"""The order processor's agents in process (faust ``test_context``) against the real PostgreSQL.

Events go in through ``agent.put`` as the bytes Kafka would carry; what comes out is read from the
tables: current state of orders and work orders, merged progress, learned standard times, load.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from psycopg_pool import ConnectionPool

from shopfloor.db.pool import Connection
from shopfloor.events import (
    EventBase,
    OperationSpec,
    OrderApprovedEvent,
    OrderCreatedEvent,
    OrderLine,
    OrderPayload,
    OrderStatus,
    PauseReason,
    WoFinishedEvent,
    WoFinishedPayload,
    WoPausedEvent,
    WoPausedPayload,
    WoReleasedEvent,
    WoReleasedPayload,
    WoReportedEvent,
    WoReportedPayload,
    WoResumedEvent,
    WoResumedPayload,
    WoStartedEvent,
    WoStartedPayload,
)
from shopfloor.plant import load_plant
from shopfloor.settings import PROJECT_ROOT, KafkaSettings, PostgresSettings
from streams.bottleneck.detect import Detected
from streams.orders.app import OrdersProcessor, make_processor
from streams.orders.settings import OrdersStreamSettings

pytestmark = pytest.mark.integration

PLANT = load_plant(PROJECT_ROOT / "infra" / "plants" / "demo.yaml")
T0 = datetime(2026, 3, 3, 2, 0, tzinfo=UTC)  # a Tuesday, 10:00 in the plant


def envelope(cls: type[EventBase], payload: Any, ts: datetime) -> EventBase:
    return cls(event_id=uuid.uuid4(), source="test", seq=1, ts=ts, payload=payload)


def order(order_id: str, status: OrderStatus, due: datetime, qty: int = 1000) -> OrderPayload:
    return OrderPayload(
        order_id=order_id,
        version=1,
        customer_id="C-1",
        lines=[OrderLine(line_no=1, product_id="P-1", quantity=qty)],
        due_date=due,
        status=status,
        channel="web",
        priority=4,
    )


def release(wo: str, order_id: str, qty: int = 1000, head_unit_min: float = 0.5) -> WoReleasedPayload:
    return WoReleasedPayload(
        work_order_id=wo,
        order_id=order_id,
        product_id="P-1",
        quantity=qty,
        due_date=T0 + timedelta(days=5),
        operations=[
            OperationSpec(seq=1, name="cut", workcenter_id="WC-CUT", eligible_machines=["C1"], unit_min=0.1),
            OperationSpec(
                seq=2,
                name="head",
                workcenter_id="WC-HEAD",
                eligible_machines=["H2"],
                setup_min=30,
                unit_min=head_unit_min,
            ),
        ],
    )


def scans(wo: str, seq: int, start: datetime, active_min: float, qty: int, pause_min: float = 0) -> list[EventBase]:
    """Start, half the quantity, a pause, the rest, finish: ``active_min`` minutes of work."""
    half = active_min / 2
    ref: dict[str, Any] = {"work_order_id": wo, "operation_seq": seq, "machine_id": "H2" if seq == 2 else "C1"}
    t_pause = start + timedelta(minutes=half)
    t_resume = t_pause + timedelta(minutes=pause_min)
    t_end = t_resume + timedelta(minutes=half)
    return [
        envelope(WoStartedEvent, WoStartedPayload(**ref), start),
        envelope(WoReportedEvent, WoReportedPayload(**ref, good=qty // 2, scrap=0), t_pause),
        envelope(WoPausedEvent, WoPausedPayload(**ref, reason=PauseReason.MATERIAL), t_pause),
        envelope(WoResumedEvent, WoResumedPayload(**ref), t_resume),
        envelope(WoReportedEvent, WoReportedPayload(**ref, good=qty - qty // 2, scrap=0), t_end),
        envelope(WoFinishedEvent, WoFinishedPayload(**ref), t_end),
    ]


@pytest.fixture(autouse=True)
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    """One event loop per test, set before faust's app takes it, closed after (no stray loop left)."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        yield loop
    finally:
        while CREATED:
            app = CREATED.pop().app
            # The consumer's thread, never started under test_context, made an event loop of its own.
            thread = getattr(app.consumer, "_thread", None)
            if thread is not None and not thread.thread_loop.is_closed():
                thread.thread_loop.close()
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
        asyncio.set_event_loop(None)


def run(coro: Any) -> None:
    asyncio.get_event_loop().run_until_complete(coro)


@pytest.fixture
def pool(pg_settings: PostgresSettings) -> Iterator[ConnectionPool[Connection]]:
    with ConnectionPool(pg_settings.conninfo(), min_size=1, max_size=4, open=True) as p:
        yield p


CREATED: list[OrdersProcessor] = []


def processor(pool: ConnectionPool[Connection], **overrides: Any) -> OrdersProcessor:
    settings = OrdersStreamSettings(store="memory://", batch_within_s=0.05, min_samples=3, **overrides)
    proc = make_processor(
        settings, KafkaSettings(topic_prefix=f"t{uuid.uuid4().hex[:8]}."), PLANT, pool, clock=lambda: T0
    )
    proc.app.finalize()
    proc.app.conf.store = "memory://"
    proc.app.flow_control.resume()
    CREATED.append(proc)
    return proc


async def feed(proc: OrdersProcessor, orders: list[EventBase], mes: list[EventBase]) -> None:
    """Put the events through both agents and wait until every one is written."""
    want = proc.stats.events + len(orders) + len(mes)
    async with proc.app.agents["orders"].test_context() as o_agent, proc.app.agents["mes"].test_context() as m_agent:
        for event in orders:
            await o_agent.put(event.to_json(), key=event.key.encode())
        for event in mes:
            await m_agent.put(event.to_json(), key=event.key.encode())
        for _ in range(200):
            if proc.stats.events >= want:
                break
            await asyncio.sleep(0.05)
    assert proc.stats.events == want


def q(conn: Connection, query: str, *args: Any) -> list[tuple[Any, ...]]:
    return conn.execute(query, args).fetchall()


def test_orders_and_work_orders_reach_their_current_state(pool: ConnectionPool[Connection]) -> None:
    proc = processor(pool)
    due = T0 + timedelta(days=6)
    created = envelope(OrderCreatedEvent, order("SO-1", OrderStatus.PENDING_APPROVAL, due), T0)
    approved = envelope(OrderApprovedEvent, order("SO-1", OrderStatus.APPROVED, due), T0 + timedelta(minutes=1))
    released = envelope(WoReleasedEvent, release("WO-1", "SO-1"), T0 + timedelta(minutes=2))
    cut = scans("WO-1", 1, T0 + timedelta(hours=1), active_min=100, qty=1000, pause_min=20)
    report = envelope(
        WoReportedEvent,
        WoReportedPayload(work_order_id="WO-1", operation_seq=2, good=300, scrap=5),
        T0 + timedelta(hours=4),
    )
    head_start = envelope(
        WoStartedEvent,
        WoStartedPayload(work_order_id="WO-1", operation_seq=2, machine_id="H2"),
        T0 + timedelta(hours=3),
    )
    # The cut scans and a redelivered report; the heading's start arrives after its first report.
    run(feed(proc, [created, approved, released], [*cut, report, report, head_start]))
    with pool.connection() as conn:
        assert q(conn, "SELECT status, channel, priority FROM customer_order") == [("approved", "web", 4)]
        ops = q(
            conn, "SELECT seq, status, good, scrap, machine_id, actual_start, actual_finish FROM operation ORDER BY seq"
        )
        assert ops == [
            (1, "done", 1000, 0, "C1", T0 + timedelta(hours=1), T0 + timedelta(hours=1, minutes=120)),
            (2, "started", 300, 5, "H2", T0 + timedelta(hours=3), None),
        ]
        assert q(conn, "SELECT status, good, scrap, actual_start FROM work_order") == [
            ("started", 300, 5, T0 + timedelta(hours=1))
        ]
        [(active_s, paused_s)] = q(conn, "SELECT active_s, paused_s FROM operation_progress WHERE seq = 1")
        assert (active_s, paused_s) == (100 * 60, 20 * 60)


def test_scans_before_the_release_are_applied_when_it_arrives(pool: ConnectionPool[Connection]) -> None:
    proc = processor(pool)
    run(feed(proc, [], scans("WO-9", 1, T0, active_min=10, qty=50)))
    with pool.connection() as conn:
        assert q(conn, "SELECT count(*) FROM operation") == [(0,)]
        assert q(conn, "SELECT status, good FROM operation_progress") == [("done", 50)]
    run(feed(proc, [envelope(WoReleasedEvent, release("WO-9", "SO-9", qty=50), T0)], []))
    with pool.connection() as conn:
        assert q(conn, "SELECT seq, status, good FROM operation ORDER BY seq") == [(1, "done", 50), (2, "pending", 0)]


def test_standard_time_learned_with_outlier_rejected_and_used_for_load(pool: ConnectionPool[Connection]) -> None:
    proc = processor(pool)
    orders: list[EventBase] = []
    mes: list[EventBase] = []
    # Five heading runs of 100 pieces: 30 min setup + 0.2 min/pc = 50 min, one ran 8 hours (left open).
    for i, active in enumerate([50.0, 51.0, 49.0, 50.0, 480.0]):
        wo = f"WO-L{i}"
        orders.append(envelope(WoReleasedEvent, release(wo, f"SO-L{i}", qty=100), T0))
        mes += scans(wo, 2, T0 + timedelta(hours=i), active_min=active, qty=100, pause_min=60)
    orders.append(envelope(WoReleasedEvent, release("WO-OPEN", "SO-OPEN", qty=1000, head_unit_min=0.5), T0))
    run(feed(proc, orders, mes))
    with pool.connection() as conn:
        [(unit, setup, samples, rejected)] = q(
            conn, "SELECT unit_min, setup_min, samples, rejected FROM standard_time WHERE workcenter_id = 'WC-HEAD'"
        )
        assert (setup, samples, rejected) == (30.0, 4, 1)
        assert unit == pytest.approx(0.2)
    transitions = proc._load_sync(T0)
    with pool.connection() as conn:
        # The open work order queues 1000 x 0.2 (learned) + 30 setup = 230 minutes on heading, not 530.
        [(queued, capacity)] = q(
            conn,
            "SELECT queued_hours, capacity_hours FROM workcenter_horizon_load WHERE workcenter_id = 'WC-HEAD' "
            "AND horizon = '3d'",
        )
        assert queued == pytest.approx(230 / 60) and capacity == pytest.approx(8 * 72)
        assert q(conn, "SELECT pending_work_orders FROM workshop_pending WHERE workshop_id = 'cutting'") == [(6,)]
    assert transitions == []


def test_overloaded_heading_and_a_fault_are_bottlenecks(pool: ConnectionPool[Connection]) -> None:
    proc = processor(pool, clear_hold_s=0)
    # 600 machine-hours of heading against 576 in three days.
    releases = [
        envelope(WoReleasedEvent, release(f"WO-B{i}", f"SO-B{i}", qty=12_000, head_unit_min=0.5), T0) for i in range(6)
    ]
    run(feed(proc, releases, []))
    [detected] = proc._load_sync(T0)
    assert isinstance(detected, Detected) and detected.load.workcenter_id == "WC-HEAD"
    assert detected.load.queued_hours > detected.load.capacity_hours
    assert set(detected.orders) == {f"SO-B{i}" for i in range(6)}
    assert proc._load_sync(T0 + timedelta(seconds=1)) == []  # no repeat
    with pool.connection() as conn, conn.transaction():
        conn.execute("UPDATE work_order SET status = 'cancelled' WHERE work_order_id <> 'WO-B0'")
        conn.execute(
            "INSERT INTO machine_current_state (machine_id, state, since, event_id) VALUES ('H2', 'FAULT', %s, %s)",
            (T0, uuid.uuid4()),
        )
    # Load is low now, but H2 is in FAULT with work queued: still a bottleneck, now naming the press.
    [broken] = proc._load_sync(T0 + timedelta(seconds=2))
    assert isinstance(broken, Detected) and broken.machine_id == "H2"
    with pool.connection() as conn, conn.transaction():
        conn.execute("UPDATE machine_current_state SET state = 'RUNNING'")
    [cleared] = proc._load_sync(T0 + timedelta(seconds=3))
    assert cleared.machine_id == "H2" and not isinstance(cleared, Detected)


def test_order_pool_and_on_time_delivery(pool: ConnectionPool[Connection]) -> None:
    proc = processor(pool)
    due = T0 + timedelta(hours=3)
    orders: list[EventBase] = [
        envelope(OrderApprovedEvent, order("SO-A", OrderStatus.APPROVED, due, qty=100), T0),
        envelope(OrderApprovedEvent, order("SO-B", OrderStatus.APPROVED, due, qty=100), T0),
        envelope(WoReleasedEvent, release("WO-A", "SO-A", qty=100), T0),
        envelope(WoReleasedEvent, release("WO-B", "SO-B", qty=100), T0),
    ]
    mes = [
        *scans("WO-A", 1, T0, 10, 100),
        *scans("WO-A", 2, T0 + timedelta(minutes=20), 60, 100),  # done 80 min in: before the due date
        *scans("WO-B", 1, T0, 10, 100),
        *scans("WO-B", 2, T0 + timedelta(hours=4), 60, 100),  # after the due date
    ]
    run(feed(proc, orders, mes))
    proc._pool_sync(T0 + timedelta(seconds=30))
    with pool.connection() as conn:
        assert q(conn, "SELECT status, priority, orders, work_orders, quantity FROM order_pool_1m") == [
            ("approved", 4, 2, 2, 200)
        ]
        assert q(conn, "SELECT bucket, channel, orders FROM order_pool_channel_1m") == [(T0, "web", 2)]
        rows = q(
            conn, "SELECT period, period_start::text, delivered, on_time, on_time_pct FROM on_time_delivery ORDER BY 1"
        )
        assert rows == [("month", "2026-03-01", 2, 1, 50.0), ("week", "2026-03-02", 2, 1, 50.0)]
