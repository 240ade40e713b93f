"""Channel mappings: paths, value maps, defaults, and the two shipped mappings' required parts."""

from __future__ import annotations

from pathlib import Path

import pytest

from orders.channels import CHANNELS_DIR, FieldRule, load_mapping, lookup
from orders.config import ConfigError
from orders.models import OrderIn

pytestmark = pytest.mark.unit


def test_paths_walk_dicts_and_list_indexes() -> None:
    doc = {"a": {"b": [{"c": 1}, {"c": 2}]}}
    assert lookup(doc, "a.b.1.c") == 2
    rule = FieldRule(path="a.b.5.c", default=9)
    assert rule.value(doc) == 9


def test_value_maps_with_a_default_key() -> None:
    rule = FieldRule(path="code", map={"express": 5, "default": 3})
    assert (rule.value({"code": "express"}), rule.value({"code": "slow"})) == (5, 3)
    assert FieldRule(path="flag", map={"true": "yes"}).value({"flag": True}) == "yes"


def test_both_shipped_mappings_load_and_make_valid_orders() -> None:
    assert sorted(p.name for p in CHANNELS_DIR.glob("*.yaml")) == ["generic.yaml", "marketplace.yaml"]
    market = load_mapping("marketplace.yaml").apply(
        {
            "id": 5,
            "customer": {"b2b_account": "CUST-001"},
            "shipping_lines": [{"code": "economy", "promised_by": "2026-03-09T17:00:00+08:00"}],
            "line_items": [{"sku": "HB-M6x20", "quantity": 10, "price": "0.1"}],
        },
        "marketplace",
    )
    order = OrderIn.model_validate(market)
    assert (order.external_id, order.priority, order.rush, order.channel) == ("5", 2, False, "marketplace")
    generic = load_mapping("generic.yaml").apply({"order_ref": "X", "customer": "C", "items": []}, "d")
    assert generic["lines"] == [] and "due_date" not in generic


def test_a_broken_mapping_is_an_error_naming_the_field(tmp_path: Path) -> None:
    bad = tmp_path / "m.yaml"
    bad.write_text("external_id: {path: id}\nfields: {}\n")
    with pytest.raises(ConfigError, match="lines"):
        load_mapping(str(bad))
