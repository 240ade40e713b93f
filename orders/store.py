"""The hub's SQL: serial numbers, the current order, its versions and approval steps.

Every function runs inside the caller's transaction; the hub (``orders.hub``) opens one per request so an
order, its version, its approval steps and its outbox events are written together or not at all.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from psycopg.types.json import Jsonb

from orders.models import ApprovalStepOut, OrderOut, OrderSnapshot, PendingChange, VersionOut
from shopfloor.db.pool import Connection


def next_serial(conn: Connection, site_id: str, year: int) -> int:
    """The next number of the site's year. The counter row stays locked until the caller's transaction
    ends, so concurrent creations take consecutive numbers and a rollback gives its number back."""
    row = conn.execute(
        "INSERT INTO order_serial (site_id, year, last_value) VALUES (%s, %s, 1) "
        "ON CONFLICT (site_id, year) DO UPDATE SET last_value = order_serial.last_value + 1 RETURNING last_value",
        (site_id, year),
    ).fetchone()
    assert row is not None
    return int(row[0])


def save(conn: Connection, site_id: str, snap: OrderSnapshot, event_type: str, by: str) -> None:
    """Make ``snap`` the current state of its order and record it as a new immutable version."""
    conn.execute(
        """
        INSERT INTO customer_order (order_id, version, customer_id, due_date, priority, rush, status, project,
                                    channel, margin_pct, site_id, serial, external_id, notes, custom_fields,
                                    tags, held_from, total_amount, created_by)
        VALUES (%(order_id)s, %(version)s, %(customer_id)s, %(due_date)s, %(priority)s, %(rush)s, %(status)s,
                %(project)s, %(channel)s, %(margin_pct)s, %(site_id)s, %(serial)s, %(external_id)s, %(notes)s,
                %(custom_fields)s, %(tags)s, %(held_from)s, %(total)s, %(by)s)
        ON CONFLICT (order_id) DO UPDATE SET
            version = EXCLUDED.version, customer_id = EXCLUDED.customer_id, due_date = EXCLUDED.due_date,
            priority = EXCLUDED.priority, rush = EXCLUDED.rush, status = EXCLUDED.status,
            project = EXCLUDED.project, margin_pct = EXCLUDED.margin_pct, notes = EXCLUDED.notes,
            custom_fields = EXCLUDED.custom_fields, tags = EXCLUDED.tags, held_from = EXCLUDED.held_from,
            total_amount = EXCLUDED.total_amount, updated_at = now(),
            approved_at = CASE WHEN EXCLUDED.status = 'approved' AND customer_order.approved_at IS NULL
                               THEN now() ELSE customer_order.approved_at END
        """,
        {
            **snap.model_dump(exclude={"lines", "custom_fields"}),
            "custom_fields": Jsonb(snap.custom_fields),
            "site_id": site_id,
            "by": by,
        },
    )
    conn.execute("DELETE FROM order_line WHERE order_id = %s", (snap.order_id,))
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO order_line (order_id, line_no, product_id, quantity, unit_price) VALUES (%s, %s, %s, %s, %s)",
            [(snap.order_id, ln.line_no, ln.product_id, ln.quantity, ln.unit_price) for ln in snap.lines],
        )
    conn.execute(
        "INSERT INTO order_version (order_id, version, event_type, snapshot, recorded_by) VALUES (%s, %s, %s, %s, %s)",
        (snap.order_id, snap.version, event_type, Jsonb(snap.model_dump(mode="json")), by),
    )


def next_outbox_id(conn: Connection) -> int:
    row = conn.execute("SELECT nextval(pg_get_serial_sequence('order_outbox', 'id'))").fetchone()
    assert row is not None
    return int(row[0])


def add_steps(
    conn: Connection, order_id: str, steps: list[tuple[str, str, str, str]], first: int | None = None
) -> None:
    """Approval steps (step, rule, reason, role), pending, after the ``first`` the order already has."""
    if not steps:
        return
    if first is None:
        row = conn.execute("SELECT count(*) FROM order_approval_step WHERE order_id = %s", (order_id,)).fetchone()
        first = int(row[0]) if row else 0
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO order_approval_step (order_id, step, ordinal, rule, reason, required_role)"
            " VALUES (%s, %s, %s, %s, %s, %s)",
            [(order_id, s[0], first + i, *s[1:]) for i, s in enumerate(steps)],
        )


def sign_steps(conn: Connection, order_id: str, steps: list[str], by: str, at: datetime) -> list[str]:
    rows = conn.execute(
        "UPDATE order_approval_step SET status = 'approved', decided_by = %s, decided_at = %s "
        "WHERE order_id = %s AND step = ANY(%s) AND status = 'pending' RETURNING step",
        (by, at, order_id, steps),
    ).fetchall()
    return [r[0] for r in rows]


def steps_of(conn: Connection, order_id: str) -> list[ApprovalStepOut]:
    rows = conn.execute(
        "SELECT step, rule, reason, required_role, status, decided_by, decided_at FROM order_approval_step "
        "WHERE order_id = %s ORDER BY ordinal, step",
        (order_id,),
    ).fetchall()
    return [
        ApprovalStepOut(
            step=r[0], rule=r[1], reason=r[2], required_role=r[3], status=r[4], decided_by=r[5], decided_at=r[6]
        )
        for r in rows
    ]


def current(conn: Connection, order_id: str, *, lock: bool = False) -> OrderSnapshot | None:
    """The current version's snapshot (locked against concurrent changes with ``lock``)."""
    row = conn.execute(
        "SELECT v.snapshot FROM customer_order o JOIN order_version v ON v.order_id = o.order_id "
        "AND v.version = o.version WHERE o.order_id = %s" + (" FOR UPDATE OF o" if lock else ""),
        (order_id,),
    ).fetchone()
    return OrderSnapshot.model_validate(row[0]) if row else None


def by_external_id(conn: Connection, channel: str, external_id: str) -> str | None:
    row = conn.execute(
        "SELECT order_id FROM customer_order WHERE channel = %s AND external_id = %s", (channel, external_id)
    ).fetchone()
    return str(row[0]) if row else None


@dataclass(frozen=True, slots=True)
class Filters:
    status: str | None = None
    customer_id: str | None = None
    channel: str | None = None
    project: str | None = None
    rush: bool | None = None
    due_after: datetime | None = None
    due_before: datetime | None = None
    external_id: str | None = None


def _where(f: Filters) -> tuple[str, dict[str, Any]]:
    clauses = [
        clause
        for clause, value in (
            ("o.status = %(status)s", f.status),
            ("o.customer_id = %(customer_id)s", f.customer_id),
            ("o.channel = %(channel)s", f.channel),
            ("o.project = %(project)s", f.project),
            ("o.rush = %(rush)s", f.rush),
            ("o.due_date >= %(due_after)s", f.due_after),
            ("o.due_date < %(due_before)s", f.due_before),
            ("o.external_id = %(external_id)s", f.external_id),
        )
        if value is not None
    ]
    params = asdict(f)
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def page(conn: Connection, f: Filters, limit: int, offset: int) -> tuple[list[str], int]:
    """Order ids of one page (newest serial first) and how many match in all."""
    where, params = _where(f)
    total_row = conn.execute(f"SELECT count(*) FROM customer_order o{where}", params).fetchone()
    rows = conn.execute(
        f"SELECT o.order_id FROM customer_order o{where} ORDER BY o.created_at DESC, o.order_id DESC "
        "LIMIT %(limit)s OFFSET %(offset)s",
        {**params, "limit": limit, "offset": offset},
    ).fetchall()
    return [r[0] for r in rows], int(total_row[0]) if total_row else 0


def read(conn: Connection, order_id: str) -> OrderOut | None:
    snap = current(conn, order_id)
    if snap is None:
        return None
    meta = conn.execute(
        "SELECT created_at, updated_at, created_by, approved_at FROM customer_order WHERE order_id = %s", (order_id,)
    ).fetchone()
    assert meta is not None
    steps = steps_of(conn, order_id)
    wos = conn.execute(
        "SELECT work_order_id FROM work_order WHERE order_id = %s ORDER BY work_order_id", (order_id,)
    ).fetchall()
    changes = conn.execute(
        "SELECT c.change_id, c.kind, coalesce(array_agg(s.department ORDER BY s.ordinal) "
        "FILTER (WHERE s.status = 'pending'), '{}') FROM order_change c "
        "LEFT JOIN order_change_signoff s USING (change_id) WHERE c.order_id = %s AND c.status = 'pending' "
        "GROUP BY c.change_id, c.kind",
        (order_id,),
    ).fetchall()
    return OrderOut(
        **snap.model_dump(),
        pending_changes=[PendingChange(change_id=c[0], kind=c[1], pending_departments=list(c[2])) for c in changes],
        created_at=meta[0],
        updated_at=meta[1],
        created_by=meta[2],
        approved_at=meta[3],
        approvals=steps,
        pending_approvals=[s.step for s in steps if s.status == "pending"],
        work_orders=[r[0] for r in wos],
    )


def versions(conn: Connection, order_id: str) -> list[VersionOut]:
    rows = conn.execute(
        "SELECT version, event_type, recorded_at, recorded_by, snapshot FROM order_version WHERE order_id = %s "
        "ORDER BY version",
        (order_id,),
    ).fetchall()
    return [VersionOut(version=r[0], event_type=r[1], recorded_at=r[2], recorded_by=r[3], snapshot=r[4]) for r in rows]
