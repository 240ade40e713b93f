"""The order hub's operations, each one database transaction: the order, its version, its approval
steps, its work orders and its outbox events are written together or not at all."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import psycopg.errors
from psycopg_pool import ConnectionPool

from orders import intake_store, store
from orders.approval import Proposal, ProposedLine, requirements
from orders.changes import ChangeDesk
from orders.config import HubConfig
from orders.ctp_client import CtpClient
from orders.emit import Emitter
from orders.errors import HubError, field_error
from orders.impact import ImpactAnalyst
from orders.intake_store import Delivery
from orders.models import (
    LineIn,
    OrderIn,
    OrderOut,
    OrderPage,
    OrderPatch,
    OrderSnapshot,
    total_of,
)
from orders.settings import OrdersSettings
from orders.versions import diff
from shopfloor.auth import Principal, Role
from shopfloor.db.pool import Connection
from shopfloor.events import (
    OrderApprovedEvent,
    OrderCancelledEvent,
    OrderChangedEvent,
    OrderCreatedEvent,
    OrderLine,
    event_type,
)
from shopfloor.plant import Plant

FINAL = ("done", "cancelled")

__all__ = ["HubError", "OrderHub", "field_error", "total_of"]


class OrderHub:
    def __init__(
        self,
        plant: Plant,
        config: HubConfig,
        settings: OrdersSettings,
        pool: ConnectionPool[Connection],
        clock: Callable[[], datetime],
    ) -> None:
        self.plant = plant
        self.config = config
        self.settings = settings
        self.pool = pool
        self.clock = clock
        self.emit = Emitter(plant, clock)
        self.ctp = CtpClient(
            settings.rescheduler_url, settings.rescheduler_token.get_secret_value(), settings.rescheduler_timeout_s
        )
        self.changes = ChangeDesk(config, ImpactAnalyst(plant, config, self.ctp))

    # --- checks -----------------------------------------------------------------------------------------

    def _lines(self, lines: Sequence[LineIn], errors: list[dict[str, Any]]) -> list[OrderLine]:
        out: list[OrderLine] = []
        for i, line in enumerate(lines):
            try:
                product = self.plant.product(line.product_id)
            except KeyError:
                errors.append(
                    field_error(["lines", i, "product_id"], f"unknown product {line.product_id!r}", "unknown_product")
                )
                continue
            price = (line.unit_price if line.unit_price is not None else Decimal(str(product.unit_price))).quantize(
                Decimal("0.0001")
            )
            out.append(OrderLine(line_no=i + 1, product_id=line.product_id, quantity=line.quantity, unit_price=price))
        return out

    def check(self, customer_id: str, lines: Sequence[LineIn], custom: dict[str, Any]) -> list[OrderLine]:
        errors: list[dict[str, Any]] = []
        try:
            self.plant.customer(customer_id)
        except KeyError:
            errors.append(field_error(["customer_id"], f"unknown customer {customer_id!r}", "unknown_customer"))
        checked = self._lines(lines, errors)
        errors += [
            field_error(["custom_fields", name], f"{name} {why}", "custom_field")
            for name, why in self.config.check_custom_fields(custom)
        ]
        if errors:
            raise HubError(422, errors)
        return checked

    def _new_products(self, conn: Connection, lines: Sequence[OrderLine]) -> frozenset[str]:
        declared = {ln.product_id for ln in lines if self.plant.product(ln.product_id).new}
        if not declared:
            return frozenset()
        made = conn.execute(
            "SELECT DISTINCT product_id FROM work_order WHERE product_id = ANY(%s) AND status = 'done'",
            (list(declared),),
        ).fetchall()
        return frozenset(declared - {r[0] for r in made})

    def _proposal(self, conn: Connection, customer_id: str, lines: Sequence[OrderLine], rush: bool) -> Proposal:
        return Proposal(
            customer_id=customer_id,
            lines=[ProposedLine(ln.product_id, ln.quantity, ln.unit_price) for ln in lines],
            total=total_of(lines),
            rush=rush,
            new_products=self._new_products(conn, lines),
        )

    def _locked(self, conn: Connection, order_id: str) -> OrderSnapshot:
        snap = store.current(conn, order_id, lock=True)
        if snap is None:
            raise HubError(404, f"no order {order_id!r}")
        return snap

    def _read(self, conn: Connection, order_id: str) -> OrderOut:
        out = store.read(conn, order_id)
        if out is None:
            raise HubError(404, f"no order {order_id!r}")
        return out

    # --- operations -------------------------------------------------------------------------------------

    def create(self, order: OrderIn, by: str, tags: Sequence[str] = (), delivery: Delivery | None = None) -> OrderOut:
        """A new order; with a channel ``delivery``, a retried delivery answers with the order it made
        (``OrderOut`` with ``created_now`` false) and a replayed signed request is refused (409)."""
        lines = self.check(order.customer_id, order.lines, order.custom_fields)
        try:
            with self.pool.connection() as conn:
                # Pipeline mode around the transaction: the inserts after the serial and the COMMIT go to
                # the server together, so the counter row is locked for two round trips, not one per statement.
                with conn.pipeline(), conn.transaction():
                    out = self._create(conn, order, lines, by, list(tags), delivery)
                # Read back after the commit, so the serial counter's lock is held only for the inserts.
                return out if isinstance(out, OrderOut) else self._read(conn, out)
        except psycopg.errors.UniqueViolation:
            if delivery is not None:  # the same delivery, twice at once: the other one made the order
                with self.pool.connection() as conn:
                    prior = intake_store.delivered(conn, delivery)
                    if prior is not None:
                        return self._read(conn, prior).model_copy(update={"created_now": False})
            raise HubError(409, f"channel {order.channel!r} already has an order {order.external_id!r}") from None

    def _create(
        self,
        conn: Connection,
        order: OrderIn,
        lines: list[OrderLine],
        by: str,
        tags: list[str],
        delivery: Delivery | None,
    ) -> OrderOut | str:
        """The new order's id (or, for a retried delivery, the order the first one made)."""
        if delivery is not None:
            intake_store.forget_old_signatures(conn, self.settings.channel_tolerance_s)
            if not intake_store.first_sight(conn, delivery):
                raise HubError(409, "replayed request: this signed request was received before")
            prior = intake_store.delivered(conn, delivery)
            if prior is None and order.external_id is not None:
                prior = store.by_external_id(conn, order.channel, order.external_id)
            if prior is not None:
                return self._read(conn, prior).model_copy(update={"created_now": False})
        elif order.external_id is not None:
            existing = store.by_external_id(conn, order.channel, order.external_id)
            if existing is not None:
                raise HubError(409, f"channel {order.channel!r} already has order {existing} as {order.external_id!r}")
        proposal = self._proposal(conn, order.customer_id, lines, order.rush)
        steps = requirements(self.config.approval_rules, proposal)
        year = self.clock().astimezone(self.plant.zone).year
        seq = store.next_outbox_id(conn)
        # Last before the inserts: the counter row is locked from here to the commit.
        serial = store.next_serial(conn, self.plant.site_id, year)
        snap = OrderSnapshot(
            order_id=f"{self.settings.serial_prefix}-{year}-{serial:0{self.settings.serial_digits}d}",
            serial=serial,
            version=1,
            status="pending_approval" if steps else "approved",
            customer_id=order.customer_id,
            lines=lines,
            total=proposal.total,
            due_date=order.due_date,
            priority=order.priority,
            rush=order.rush,
            project=order.project,
            channel=order.channel,
            external_id=order.external_id,
            notes=order.notes,
            custom_fields=order.custom_fields,
            tags=tags,
            margin_pct=order.margin_pct,
        )
        store.save(conn, self.plant.site_id, snap, event_type(OrderCreatedEvent), by)
        store.add_steps(conn, snap.order_id, [(s.step, s.rule, s.reason, str(s.role)) for s in steps], first=0)
        self.emit.created(conn, snap, seq)
        if delivery is not None:
            intake_store.record_delivery(conn, delivery, snap.order_id)
        if not steps:
            self.emit.release(conn, snap)
        return snap.order_id

    def get(self, order_id: str) -> OrderOut:
        with self.pool.connection() as conn:
            return self._read(conn, order_id)

    def list_orders(self, filters: store.Filters, limit: int, offset: int) -> OrderPage:
        with self.pool.connection() as conn, conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            ids, total = store.page(conn, filters, limit, offset)
            return OrderPage(items=[self._read(conn, i) for i in ids], total=total, limit=limit, offset=offset)

    def _next(self, snap: OrderSnapshot, **changes: Any) -> OrderSnapshot:
        return OrderSnapshot.model_validate({**snap.model_dump(), **changes, "version": snap.version + 1})

    def _patched(self, snap: OrderSnapshot, patch: OrderPatch) -> tuple[OrderSnapshot, list[str]]:
        """The next version with ``patch`` applied (checked), and the fields that differ."""
        given = patch.model_dump(exclude_unset=True)
        customer = patch.customer_id or snap.customer_id
        lines_in = (
            patch.lines
            if patch.lines is not None
            else [LineIn(product_id=ln.product_id, quantity=ln.quantity, unit_price=ln.unit_price) for ln in snap.lines]
        )
        custom = {**snap.custom_fields, **(patch.custom_fields or {})}
        lines = self.check(customer, lines_in, custom)
        changes: dict[str, Any] = {k: v for k, v in given.items() if k not in ("lines", "custom_fields")}
        changes |= {"customer_id": customer, "lines": lines, "total": total_of(lines), "custom_fields": custom}
        new = self._next(snap, **changes)
        return new, [f.field for f in diff(snap, new, ignore=("version",)).changes]

    def update(self, order_id: str, patch: OrderPatch, by: str) -> tuple[OrderOut, bool]:
        """Apply a change, or, for a customer change to an order in production, open it for sign-off
        (then the second value is True: the order is unchanged until every department signed off)."""
        with self.pool.connection() as conn:
            with conn.transaction():
                snap = self._locked(conn, order_id)
                if snap.status in FINAL:
                    raise HubError(409, f"order {order_id} is {snap.status}")
                new, fields = self._patched(snap, patch)
                deferred = bool(fields) and self.changes.needs_signoff(conn, order_id, fields)
                if deferred:
                    request = patch.model_dump(mode="json", exclude_unset=True)
                    self.changes.request(conn, snap, new, "change", request, by)
                elif fields:
                    self._apply_change(conn, new, fields, by)
            return self._read(conn, order_id), deferred

    def _apply_change(self, conn: Connection, new: OrderSnapshot, fields: list[str], by: str) -> None:
        store.save(conn, self.plant.site_id, new, event_type(OrderChangedEvent), by)
        if new.status == "pending_approval":
            # A changed order may now need more steps (a bigger total, a new product); signed ones stay.
            proposal = self._proposal(conn, new.customer_id, new.lines, new.rush)
            have = {s.step for s in store.steps_of(conn, new.order_id)}
            store.add_steps(
                conn,
                new.order_id,
                [
                    (s.step, s.rule, s.reason, str(s.role))
                    for s in requirements(self.config.approval_rules, proposal)
                    if s.step not in have
                ],
            )
        self.emit.changed(conn, new, fields)
        if new.status in ("approved", "in_production"):
            self.emit.release(conn, new)

    def hold(self, order_id: str, reason: str, by: str) -> tuple[OrderOut, bool]:
        with self.pool.connection() as conn:
            with conn.transaction():
                snap = self._locked(conn, order_id)
                if snap.status in (*FINAL, "on_hold"):
                    raise HubError(409, f"order {order_id} is {snap.status}")
                deferred = self.changes.needs_signoff(conn, order_id, None)
                if deferred:
                    new = self._next(snap, status="on_hold", held_from=snap.status)
                    self.changes.request(conn, snap, new, "hold", {"reason": reason}, by)
                else:
                    self._hold(conn, snap, reason, by)
            return self._read(conn, order_id), deferred

    def _hold(self, conn: Connection, snap: OrderSnapshot, reason: str, by: str) -> OrderSnapshot:
        new = self._next(snap, status="on_hold", held_from=snap.status, notes=_note(snap.notes, "held", reason))
        store.save(conn, self.plant.site_id, new, event_type(OrderChangedEvent), by)
        self.emit.changed(conn, new, ["hold"])
        return new

    def sign_change(
        self, order_id: str, change_id: int, principal: Principal, departments: Sequence[str] | None
    ) -> OrderOut:
        """Sign off a pending change for the caller's departments; the last signature applies it."""
        with self.pool.connection() as conn:
            with conn.transaction():
                snap = self._locked(conn, order_id)
                if self.changes.pending_id(conn, order_id) != change_id:
                    raise HubError(409, f"change {change_id} of order {order_id} is not waiting for sign-off")
                pending = self.changes.pending_departments(conn, change_id)
                mine, complete = self.changes.sign(
                    conn, change_id, principal, list(departments) if departments is not None else None, self.clock()
                )
                if not mine:
                    raise HubError(403, f"none of the pending departments is yours to sign: {', '.join(pending)}")
                if complete:
                    change = self.changes.load(conn, order_id, change_id)[0]
                    if change.kind == "hold":
                        applied = self._hold(conn, snap, str(change.request.get("reason", "")), change.requested_by)
                    else:
                        applied, fields = self._patched(snap, OrderPatch.model_validate(change.request))
                        if fields:
                            self._apply_change(conn, applied, fields, change.requested_by)
                        else:
                            applied = snap
                    self.changes.close(conn, change_id, "applied", applied.version, self.clock())
            return self._read(conn, order_id)

    def reject_change(self, order_id: str, change_id: int, principal: Principal) -> OrderOut:
        with self.pool.connection() as conn:
            with conn.transaction():
                self._locked(conn, order_id)
                if self.changes.pending_id(conn, order_id) != change_id:
                    raise HubError(409, f"change {change_id} of order {order_id} is not waiting for sign-off")
                pending = self.changes.pending_departments(conn, change_id)
                roles = {d.department: d.role for d in self.config.change_signoff}
                if not any(principal.has_any(frozenset({roles[d]})) for d in pending if d in roles):
                    raise HubError(403, f"only a pending department may reject: {', '.join(pending)}")
                conn.execute(
                    "UPDATE order_change_signoff SET status = 'rejected', signed_by = %s, signed_at = %s "
                    "WHERE change_id = %s AND status = 'pending'",
                    (principal.name, self.clock(), change_id),
                )
                self.changes.close(conn, change_id, "rejected", None, self.clock())
            return self._read(conn, order_id)

    def release_hold(self, order_id: str, by: str) -> OrderOut:
        with self.pool.connection() as conn:
            with conn.transaction():
                snap = self._locked(conn, order_id)
                if snap.status != "on_hold":
                    raise HubError(409, f"order {order_id} is not on hold")
                new = self._next(snap, status=snap.held_from or "pending_approval", held_from=None)
                store.save(conn, self.plant.site_id, new, event_type(OrderChangedEvent), by)
                self.emit.changed(conn, new, ["hold"])
            return self._read(conn, order_id)

    def cancel(self, order_id: str, reason: str, by: str) -> OrderOut:
        with self.pool.connection() as conn:
            with conn.transaction():
                snap = self._locked(conn, order_id)
                if snap.status in FINAL:
                    raise HubError(409, f"order {order_id} is {snap.status}")
                new = self._next(snap, status="cancelled", held_from=None, notes=_note(snap.notes, "cancelled", reason))
                store.save(conn, self.plant.site_id, new, event_type(OrderCancelledEvent), by)
                conn.execute(
                    "UPDATE work_order SET status = 'cancelled', updated_at = now() "
                    "WHERE order_id = %s AND status <> 'done'",
                    (order_id,),
                )
                self.emit.cancelled(conn, new, reason)
            return self._read(conn, order_id)

    def approve(self, order_id: str, principal: Principal, only: Sequence[str] | None) -> OrderOut:
        with self.pool.connection() as conn:
            with conn.transaction():
                snap = self._locked(conn, order_id)
                if snap.status != "pending_approval":
                    raise HubError(409, f"order {order_id} is {snap.status}, not pending approval")
                pending = [s for s in store.steps_of(conn, order_id) if s.status == "pending"]
                if only is not None:
                    unknown = set(only) - {s.step for s in pending}
                    if unknown:
                        raise HubError(409, f"no pending step {', '.join(sorted(unknown))} on order {order_id}")
                    pending = [s for s in pending if s.step in only]
                mine = [s.step for s in pending if principal.has_any(frozenset({Role(s.required_role)}))]
                if not mine:
                    needs = ", ".join(f"{s.step} ({s.required_role})" for s in pending)
                    raise HubError(403, f"none of the pending steps is yours to sign: {needs}")
                store.sign_steps(conn, order_id, mine, principal.name, self.clock())
                if not any(s.status == "pending" for s in store.steps_of(conn, order_id)):
                    new = self._next(snap, status="approved")
                    store.save(conn, self.plant.site_id, new, event_type(OrderApprovedEvent), principal.name)
                    self.emit.approved(conn, new)
                    self.emit.release(conn, new)
            return self._read(conn, order_id)


def _note(notes: str, what: str, reason: str) -> str:
    return notes if not reason else (f"{notes}\n{what}: {reason}" if notes else f"{what}: {reason}")[:4000]
