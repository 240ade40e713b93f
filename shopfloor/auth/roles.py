"""Who may do what: the roles every HTTP service of shopfloor checks, and the scope a principal is bound to."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Role(StrEnum):
    """Audiences of the web services. ``ADMIN`` passes every role check; no other role implies another."""

    VIEWER = "viewer"  # read-only pages, e.g. a TV in kiosk mode
    OPERATOR = "operator"
    SALES = "sales"
    PLANNER = "planner"
    MANAGER = "manager"
    FINANCE = "finance"
    ENGINEERING = "engineering"
    PURCHASING = "purchasing"
    DEVICE = "device"  # machines and gateways calling an API
    CUSTOMER = "customer"  # a portal user: sees only the orders of its scope's customer
    SUPPLIER = "supplier"  # a portal user: sees only the purchase orders of its scope's supplier
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class Scope:
    """What a principal is limited to; ``None`` is no limit on that axis. Portals filter their queries by it."""

    customer_id: str | None = None
    supplier_id: str | None = None
    line: str | None = None


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller of a request, as its token says: a name for audit trails, roles, and a scope."""

    name: str
    roles: frozenset[Role]
    scope: Scope = field(default_factory=Scope)
    token_id: str = ""

    def has_any(self, roles: frozenset[Role]) -> bool:
        return Role.ADMIN in self.roles or bool(self.roles & roles)
