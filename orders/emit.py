"""Order and work-order events from snapshots, stored in the outbox, and the release of work orders."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from orders.models import OrderSnapshot
from orders.outbox import SOURCE, record
from shopfloor.db.pool import Connection
from shopfloor.db.state import upsert_work_order
from shopfloor.events import (
    EventBase,
    Model,
    OrderApprovedEvent,
    OrderCancelledEvent,
    OrderCancelledPayload,
    OrderChangedEvent,
    OrderChangedPayload,
    OrderCreatedEvent,
    OrderPayload,
    OrderStatus,
    WoReleasedEvent,
    WoReleasedPayload,
    new_event_id,
)
from shopfloor.plant import Plant


def payload_of(snap: OrderSnapshot) -> OrderPayload:
    # The contract has no 'on_hold' status: a held order travels with the status it is held from (the
    # change event names "hold" in its changed fields).
    status = snap.held_from if snap.status == "on_hold" and snap.held_from else snap.status
    return OrderPayload(
        order_id=snap.order_id,
        version=snap.version,
        customer_id=snap.customer_id,
        lines=snap.lines,
        due_date=snap.due_date,
        priority=snap.priority,
        rush=snap.rush,
        status=OrderStatus(status),
        project=snap.project,
        channel=snap.channel,
        margin_pct=snap.margin_pct,
    )


class Emitter:
    def __init__(self, plant: Plant, clock: Callable[[], datetime]) -> None:
        self._plant = plant
        self._clock = clock

    def _put(self, conn: Connection, kind: type[EventBase], payload: Model, seq: int | None = None) -> None:
        now = self._clock()

        def make(seq: int) -> EventBase:
            return kind.model_validate(
                {"event_id": new_event_id(), "source": SOURCE, "seq": seq, "ts": now, "payload": payload}
            )

        record(conn, make, seq)

    def created(self, conn: Connection, snap: OrderSnapshot, seq: int | None = None) -> None:
        self._put(conn, OrderCreatedEvent, payload_of(snap), seq)

    def approved(self, conn: Connection, snap: OrderSnapshot) -> None:
        self._put(conn, OrderApprovedEvent, payload_of(snap))

    def changed(self, conn: Connection, snap: OrderSnapshot, fields: list[str]) -> None:
        self._put(conn, OrderChangedEvent, OrderChangedPayload(**payload_of(snap).model_dump(), changed_fields=fields))

    def cancelled(self, conn: Connection, snap: OrderSnapshot, reason: str) -> None:
        self._put(
            conn,
            OrderCancelledEvent,
            OrderCancelledPayload(order_id=snap.order_id, version=snap.version, reason=reason),
        )

    def release(self, conn: Connection, snap: OrderSnapshot) -> list[str]:
        """Turn each line of an approved order into a work order by its product's routing (operations with
        their eligible machines and standard times), write them, and emit ``wo.released`` for each.

        Lines that are gone cancel their work orders if those have not begun. Returns the work order ids.
        """
        ids: list[str] = []
        for line in snap.lines:
            wo = WoReleasedPayload(
                work_order_id=f"WO-{snap.order_id}-{line.line_no}",
                order_id=snap.order_id,
                product_id=line.product_id,
                quantity=line.quantity,
                due_date=snap.due_date,
                priority=snap.priority,
                rush=snap.rush,
                operations=self._plant.routing(line.product_id),
            )
            upsert_work_order(conn, wo)
            self._put(conn, WoReleasedEvent, wo)
            ids.append(wo.work_order_id)
        conn.execute(
            "UPDATE work_order SET status = 'cancelled', updated_at = now() "
            "WHERE order_id = %s AND status = 'released' AND NOT (work_order_id = ANY(%s))",
            (snap.order_id, ids),
        )
        return ids
