"""The approval rule engine: each rule looks at a proposed order and may ask for one approval step.

Rules are declared in the hub's YAML (``approval_rules``), each with a ``kind`` and the ``step`` and
``role`` it asks for; their requirements combine (an order needs every step any rule asked for). A new
kind of rule (credit limit, special price, two confirmers) is one more model with an ``evaluate`` method
added to :data:`ApprovalRule`; the engine, the tables and the API stay as they are.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field

from shopfloor.auth import Role
from shopfloor.events import Model

StepName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,47}$")]


@dataclass(frozen=True, slots=True)
class ProposedLine:
    product_id: str
    quantity: int
    unit_price: Decimal


@dataclass(frozen=True, slots=True)
class Proposal:
    """What the rules see of an order, and the facts they may need beyond it."""

    customer_id: str
    lines: Sequence[ProposedLine]
    total: Decimal
    rush: bool
    # Products of the order the plant has never made (declared new and no work order of it done yet).
    new_products: frozenset[str]


@dataclass(frozen=True, slots=True)
class Requirement:
    step: str
    rule: str
    role: Role
    reason: str


class _Rule(Model):
    step: StepName
    role: Role

    def evaluate(self, proposal: Proposal) -> Requirement | None:
        raise NotImplementedError


class AlwaysRule(_Rule):
    """Every order needs this step (e.g. the planner accepting it into the plan)."""

    kind: Literal["always"]

    def evaluate(self, proposal: Proposal) -> Requirement | None:
        return Requirement(self.step, self.kind, self.role, "every order")


class TotalOverRule(_Rule):
    """The order's total amount is over a threshold (finance review)."""

    kind: Literal["total_over"]
    threshold: Annotated[Decimal, Field(ge=0)]

    def evaluate(self, proposal: Proposal) -> Requirement | None:
        if proposal.total <= self.threshold:
            return None
        return Requirement(self.step, self.kind, self.role, f"total {proposal.total:,.2f} over {self.threshold:,.2f}")


class NewProductRule(_Rule):
    """A product of the order has never been made before (technical countersign)."""

    kind: Literal["new_product"]

    def evaluate(self, proposal: Proposal) -> Requirement | None:
        if not proposal.new_products:
            return None
        names = ", ".join(sorted(proposal.new_products))
        return Requirement(self.step, self.kind, self.role, f"never made before: {names}")


ApprovalRule = Annotated[AlwaysRule | TotalOverRule | NewProductRule, Field(discriminator="kind")]


def requirements(rules: Sequence[_Rule], proposal: Proposal) -> list[Requirement]:
    """Every step the rules ask of this order, in the rules' order (one step per name)."""
    found: dict[str, Requirement] = {}
    for rule in rules:
        req = rule.evaluate(proposal)
        if req is not None and req.step not in found:
            found[req.step] = req
    return list(found.values())
