"""The approval rule engine and the hub's YAML: each rule alone, their combination, config errors."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from orders.approval import Proposal, ProposedLine, requirements
from orders.config import ConfigError, HubConfig, load_config
from shopfloor.auth import Role
from shopfloor.settings import PROJECT_ROOT

pytestmark = pytest.mark.unit

DEMO = load_config(PROJECT_ROOT / "infra" / "plants" / "demo.orders.yaml")


def proposal(total: str, new: frozenset[str] = frozenset()) -> Proposal:
    return Proposal("CUST-001", [ProposedLine("HB-M6x20", 1, Decimal(total))], Decimal(total), False, new)


def steps(p: Proposal) -> list[tuple[str, Role]]:
    return [(r.step, r.role) for r in requirements(DEMO.approval_rules, p)]


def test_each_rule_alone_and_combined() -> None:
    assert steps(proposal("50000")) == [("planning_acceptance", Role.PLANNER)]  # not over
    assert steps(proposal("50000.01")) == [("planning_acceptance", Role.PLANNER), ("finance_review", Role.FINANCE)]
    assert steps(proposal("10", frozenset({"CB-M8x50"}))) == [
        ("planning_acceptance", Role.PLANNER),
        ("technical_countersign", Role.ENGINEERING),
    ]
    both = requirements(DEMO.approval_rules, proposal("61200", frozenset({"CB-M8x50"})))
    assert [r.step for r in both] == ["planning_acceptance", "finance_review", "technical_countersign"]
    assert both[1].reason == "total 61,200.00 over 50,000.00"
    assert both[2].reason == "never made before: CB-M8x50"


def test_a_config_without_rules_asks_for_nothing() -> None:
    assert requirements(HubConfig().approval_rules, proposal("1e9")) == []


def test_custom_fields_are_checked_by_their_declaration() -> None:
    problems = DEMO.check_custom_fields(
        {"packaging": "crate", "coating_thickness_um": "8", "certificate_required": 1, "drawing_no": "D-1", "x": 1}
    )
    assert problems == [
        ("packaging", "must be one of standard, export_carton, pallet_wrapped, customer_spec"),
        ("coating_thickness_um", "must be a number"),
        ("certificate_required", "must be true or false"),
        ("x", "is not a custom field of this plant"),
    ]


def test_config_errors_name_their_place(tmp_path: Path) -> None:
    bad = tmp_path / "hub.yaml"
    bad.write_text("approval_rules:\n  - {kind: total_over, step: finance_review, role: finance}\n")
    with pytest.raises(ConfigError, match=r"approval_rules\.0\.total_over\.threshold: Field required"):
        load_config(bad)
    bad.write_text("approval_rules:\n  - {kind: credit_limit, step: credit, role: finance}\n")
    with pytest.raises(ConfigError, match="credit_limit"):
        load_config(bad)
    bad.write_text("custom_fields:\n  - {name: a, type: choice}\n")
    with pytest.raises(ConfigError, match="choices are required"):
        load_config(bad)
