"""Current-state writers: orders by version, work orders with operations, scans applied once each."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import psycopg
import pytest

from shopfloor.db.pool import Connection
from shopfloor.db.state import cancel_order, mark_operation, record_wo_event, upsert_order, upsert_work_order
from shopfloor.events import (
    OperationSpec,
    OrderCancelledPayload,
    OrderLine,
    OrderPayload,
    OrderStatus,
    WoFinishedEvent,
    WoFinishedPayload,
    WoReleasedPayload,
    WoReportedEvent,
    WoReportedPayload,
    WoStartedEvent,
    WoStartedPayload,
    new_event_id,
)

pytestmark = pytest.mark.integration

T0 = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)


def order(version: int, quantity: int, status: OrderStatus = OrderStatus.DRAFT) -> OrderPayload:
    return OrderPayload(
        order_id="SO-1",
        version=version,
        customer_id="C-7",
        lines=[OrderLine(line_no=1, product_id="M8x40", quantity=quantity, unit_price=Decimal("0.0125"))],
        due_date=T0 + timedelta(days=10 + version),
        priority=4,
        rush=version > 1,
        status=status,
        project="bridge",
        margin_pct=31.5,
    )


def released() -> WoReleasedPayload:
    return WoReleasedPayload(
        work_order_id="WO-1",
        order_id="SO-1",
        product_id="M8x40",
        quantity=1000,
        due_date=T0 + timedelta(days=10),
        priority=4,
        operations=[
            OperationSpec(seq=1, name="cut", workcenter_id="CUT", eligible_machines=["C1", "C2"], unit_min=0.01),
            OperationSpec(
                seq=2, name="head", workcenter_id="HEAD", eligible_machines=["H2"], setup_min=30, unit_min=0.02
            ),
        ],
    )


def test_newer_order_version_wins_and_every_version_is_kept(db_conn: Connection) -> None:
    assert upsert_order(db_conn, order(1, 5000))
    assert upsert_order(db_conn, order(2, 8000, OrderStatus.APPROVED), "order.changed")
    assert not upsert_order(db_conn, order(1, 5000))  # a stale redelivery
    current = db_conn.execute(
        "SELECT version, status, rush, priority, channel, margin_pct, due_date FROM customer_order"
    ).fetchone()
    assert current == (2, "approved", True, 4, "sales", 31.5, T0 + timedelta(days=12))
    assert db_conn.execute("SELECT line_no, quantity, unit_price FROM order_line").fetchall() == [
        (1, 8000, Decimal("0.0125"))
    ]
    versions = db_conn.execute(
        "SELECT version, event_type, snapshot->'lines'->0->>'quantity' FROM order_version ORDER BY 1"
    )
    assert versions.fetchall() == [(1, "order.created", "5000"), (2, "order.changed", "8000")]


def test_order_versions_are_immutable(db_conn: Connection) -> None:
    upsert_order(db_conn, order(1, 5000))
    with pytest.raises(psycopg.errors.RaiseException, match="immutable"):
        db_conn.execute("UPDATE order_version SET event_type = 'x'")
    db_conn.rollback()


def test_release_then_scans_roll_up_to_the_work_order(db_conn: Connection) -> None:
    upsert_work_order(db_conn, released())
    ops = db_conn.execute("SELECT seq, workcenter_id, eligible_machines, status FROM operation ORDER BY seq")
    assert ops.fetchall() == [(1, "CUT", ["C1", "C2"], "pending"), (2, "HEAD", ["H2"], "pending")]

    ref = {"work_order_id": "WO-1", "operation_seq": 1, "machine_id": "C2"}
    started = WoStartedEvent(event_id=new_event_id(), source="scan-1", seq=1, ts=T0, payload=WoStartedPayload(**ref))
    report = WoReportedEvent(
        event_id=new_event_id(),
        source="scan-1",
        seq=2,
        ts=T0 + timedelta(hours=1),
        payload=WoReportedPayload(**ref, good=600, scrap=4),
    )
    assert record_wo_event(db_conn, started)
    assert record_wo_event(db_conn, report)
    assert not record_wo_event(db_conn, report)  # redelivered scan: counted once
    wo = db_conn.execute("SELECT status, actual_start, good, scrap FROM work_order").fetchone()
    assert wo == ("started", T0, 0, 4)  # output counts at the last step, which has not run

    mark_operation(db_conn, "WO-1", 1, "done", T0 + timedelta(hours=2))
    mark_operation(db_conn, "WO-1", 2, "started", T0 + timedelta(hours=3), machine_id="H2")
    finish = WoFinishedEvent(
        event_id=new_event_id(),
        source="scan-2",
        seq=1,
        ts=T0 + timedelta(hours=5),
        payload=WoFinishedPayload(work_order_id="WO-1", operation_seq=2, machine_id="H2"),
    )
    mark_operation(db_conn, "WO-1", 2, "done", T0 + timedelta(hours=5), good=590, scrap=6)
    assert record_wo_event(db_conn, finish)
    mark_operation(db_conn, "WO-1", 2, "paused", T0 + timedelta(hours=6))  # late scan after the finish
    ops = db_conn.execute(
        "SELECT seq, status, machine_id, actual_start, actual_finish, good FROM operation ORDER BY seq"
    )
    assert ops.fetchall() == [
        (1, "done", "C2", T0, T0 + timedelta(hours=2), 600),
        (2, "done", "H2", T0 + timedelta(hours=3), T0 + timedelta(hours=5), 590),
    ]
    wo = db_conn.execute("SELECT status, actual_start, actual_finish, good, scrap FROM work_order").fetchone()
    assert wo == ("done", T0, T0 + timedelta(hours=5), 590, 10)
    assert db_conn.execute("SELECT count(*) FROM mes_event").fetchone() == (3,)


def test_re_release_keeps_progress_and_updates_the_plan_data(db_conn: Connection) -> None:
    upsert_work_order(db_conn, released())
    mark_operation(db_conn, "WO-1", 1, "started", T0, machine_id="C1")
    changed = released().model_copy(update={"quantity": 1500, "operations": released().operations[:1]})
    upsert_work_order(db_conn, changed)
    assert db_conn.execute("SELECT quantity, status FROM work_order").fetchone() == (1500, "started")
    assert db_conn.execute("SELECT seq, status, machine_id FROM operation").fetchall() == [(1, "started", "C1")]


def test_unknown_operation_is_an_error(db_conn: Connection) -> None:
    with pytest.raises(LookupError):
        mark_operation(db_conn, "WO-404", 1, "started", T0)


def test_cancel_applies_to_the_order_and_its_open_work_orders(db_conn: Connection) -> None:
    upsert_order(db_conn, order(1, 5000, OrderStatus.APPROVED))
    upsert_work_order(db_conn, released())
    assert not cancel_order(db_conn, OrderCancelledPayload(order_id="SO-404", version=1))
    assert cancel_order(db_conn, OrderCancelledPayload(order_id="SO-1", version=2, reason="customer"))
    assert db_conn.execute("SELECT status, version FROM customer_order").fetchone() == ("cancelled", 2)
    assert db_conn.execute("SELECT status FROM work_order").fetchone() == ("cancelled",)
