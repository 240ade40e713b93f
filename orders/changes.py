"""Customer changes to orders in production: an impact report, sign-off by every department concerned,
and only then the change as the order's next version.

A change of lines (quantity, product) or due date, or a hold, to an order whose work has begun is not
applied: it is stored in ``order_change`` with its impact report and one ``order_change_signoff`` row per
department the report concerns (``change_signoff`` in the hub's YAML). The publisher loop tells those
departments (SMTP, signed webhook). Each signs with a token of its role; the last signature applies the
change in the same transaction. A rejection closes it unapplied.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from psycopg.types.json import Jsonb

from orders.config import HubConfig
from orders.errors import HubError
from orders.impact import ImpactAnalyst, ImpactReport, in_production
from orders.models import OrderSnapshot
from shopfloor.auth import Principal, Role
from shopfloor.db.pool import Connection
from shopfloor.events import Model, UtcDatetime

# Changes the customer makes that reach into production.
CUSTOMER_FIELDS = ("due_date", "lines[")


class SignoffOut(Model):
    department: str
    required_role: str
    status: str
    signed_by: str | None
    signed_at: UtcDatetime | None
    notified_at: UtcDatetime | None


class ChangeOut(Model):
    change_id: int
    order_id: str
    kind: str
    status: str
    request: dict[str, Any]
    from_version: int
    applied_version: int | None
    requested_by: str
    requested_at: UtcDatetime
    impact: ImpactReport
    signoffs: list[SignoffOut]
    pending_departments: list[str]


class SignIn(Model):
    """Sign for these departments; absent: every pending department the caller's roles may sign for."""

    departments: list[str] | None = None


def is_customer_change(fields: list[str]) -> bool:
    return any(f == "due_date" or f.startswith("lines[") for f in fields)


class ChangeDesk:
    def __init__(self, config: HubConfig, analyst: ImpactAnalyst) -> None:
        self._config = config
        self._analyst = analyst

    def needs_signoff(self, conn: Connection, order_id: str, fields: list[str] | None) -> bool:
        """``fields`` None: a hold."""
        return (fields is None or is_customer_change(fields)) and in_production(conn, order_id)

    def request(
        self,
        conn: Connection,
        old: OrderSnapshot,
        new: OrderSnapshot,
        kind: Literal["change", "hold"],
        request: dict[str, Any],
        by: str,
    ) -> int:
        if self.pending_id(conn, old.order_id) is not None:
            raise HubError(409, f"order {old.order_id} already has a change waiting for sign-off")
        report = self._analyst.report(conn, old, new, kind)
        row = conn.execute(
            "INSERT INTO order_change (order_id, kind, request, from_version, impact, requested_by) "
            "VALUES (%s, %s, %s, %s, %s, %s) RETURNING change_id",
            (old.order_id, kind, Jsonb(request), old.version, Jsonb(report.model_dump(mode="json")), by),
        ).fetchone()
        assert row is not None
        change_id = int(row[0])
        roles = {d.department: d.role for d in self._config.change_signoff}
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO order_change_signoff (change_id, department, ordinal, required_role)"
                " VALUES (%s, %s, %s, %s)",
                [(change_id, d, i, str(roles[d])) for i, d in enumerate(report.departments)],
            )
        return change_id

    def pending_id(self, conn: Connection, order_id: str) -> int | None:
        row = conn.execute(
            "SELECT change_id FROM order_change WHERE order_id = %s AND status = 'pending'", (order_id,)
        ).fetchone()
        return int(row[0]) if row else None

    def sign(
        self, conn: Connection, change_id: int, principal: Principal, only: list[str] | None, at: datetime
    ) -> tuple[list[str], bool]:
        """Sign the caller's pending departments; returns (signed now, whether none is pending any more)."""
        rows = conn.execute(
            "SELECT department, required_role FROM order_change_signoff WHERE change_id = %s AND status = 'pending' "
            "ORDER BY ordinal",
            (change_id,),
        ).fetchall()
        pending = [(d, r) for d, r in rows if only is None or d in only]
        mine = [d for d, r in pending if principal.has_any(frozenset({Role(r)}))]
        if mine:
            conn.execute(
                "UPDATE order_change_signoff SET status = 'signed', signed_by = %s, signed_at = %s "
                "WHERE change_id = %s AND department = ANY(%s)",
                (principal.name, at, change_id, mine),
            )
        return mine, not self.pending_departments(conn, change_id)

    def pending_departments(self, conn: Connection, change_id: int) -> list[str]:
        rows = conn.execute(
            "SELECT department FROM order_change_signoff WHERE change_id = %s AND status = 'pending' ORDER BY ordinal",
            (change_id,),
        ).fetchall()
        return [r[0] for r in rows]

    def close(self, conn: Connection, change_id: int, status: str, applied_version: int | None, at: datetime) -> None:
        conn.execute(
            "UPDATE order_change SET status = %s, applied_version = %s, decided_at = %s WHERE change_id = %s",
            (status, applied_version, at, change_id),
        )

    def load(self, conn: Connection, order_id: str, change_id: int | None = None) -> list[ChangeOut]:
        rows = conn.execute(
            "SELECT change_id, order_id, kind, status, request, from_version, applied_version, requested_by, "
            "requested_at, impact FROM order_change WHERE order_id = %s AND (%s::bigint IS NULL OR change_id = %s) "
            "ORDER BY change_id",
            (order_id, change_id, change_id),
        ).fetchall()
        out = []
        for r in rows:
            signoffs = [
                SignoffOut(
                    department=s[0], required_role=s[1], status=s[2], signed_by=s[3], signed_at=s[4], notified_at=s[5]
                )
                for s in conn.execute(
                    "SELECT department, required_role, status, signed_by, signed_at, notified_at "
                    "FROM order_change_signoff WHERE change_id = %s ORDER BY ordinal",
                    (r[0],),
                ).fetchall()
            ]
            out.append(
                ChangeOut(
                    change_id=r[0],
                    order_id=r[1],
                    kind=r[2],
                    status=r[3],
                    request=r[4],
                    from_version=r[5],
                    applied_version=r[6],
                    requested_by=r[7],
                    requested_at=r[8],
                    impact=ImpactReport.model_validate(r[9]),
                    signoffs=signoffs,
                    pending_departments=[s.department for s in signoffs if s.status == "pending" and r[3] == "pending"],
                )
            )
        return out
