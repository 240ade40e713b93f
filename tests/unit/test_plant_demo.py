"""The demo plant loads, has the shape docs/architecture.md describes, and its lookups answer consistently."""

from __future__ import annotations

from datetime import datetime

import pytest
from pydantic import ValidationError

from shopfloor.plant import Plant, load_plant
from shopfloor.settings import PROJECT_ROOT

pytestmark = pytest.mark.unit

DEMO = PROJECT_ROOT / "infra" / "plants" / "demo.yaml"


@pytest.fixture(scope="module")
def plant() -> Plant:
    return load_plant(DEMO)


def test_demo_plant_counts(plant: Plant) -> None:
    counts = plant.counts()
    assert counts["workshops"] == 6
    assert 36 <= counts["machines"] <= 44
    assert 18 <= counts["products"] <= 24
    assert counts["customers"] == 120
    assert 12 <= sum(c.strategic for c in plant.customers) <= 18
    assert {ws.id for ws in plant.workshops} == {"cutting", "heading", "threading", "heat-treat", "surface", "packing"}
    assert all(ws.name_zh for ws in plant.workshops)


def test_heading_is_the_bottleneck_and_the_furnace_batches(plant: Plant) -> None:
    assert [wc.id for wc in plant.bottleneck_workcenters()] == ["WC-HEAD"]
    assert [m.id for m in plant.machines_of("WC-HEAD")] == [f"H{i}" for i in range(1, 9)]
    assert plant.machine("H2").name == "Heading press H2"
    furnace = plant.workcenter("WC-FURNACE")
    assert furnace.batch and furnace.batch_max_pcs


def test_routings_have_3_to_6_operations_with_realistic_times(plant: Plant) -> None:
    for product in plant.products:
        assert 3 <= len(product.routing) <= 6, product.id
        for op in product.routing:
            assert 0 < op.unit_min < 0.1, (product.id, op.name)
            if op.workcenter_id == "WC-HEAD":
                assert 0.01 <= op.unit_min <= 0.03 and 30 <= op.setup_min <= 90, product.id


def test_standard_times_are_not_faster_than_ideal_cycles(plant: Plant) -> None:
    # OEE performance above 100% would mean the standard time is impossible.
    for product in plant.products:
        for op in plant.routing(product.id):
            for machine_id in op.eligible_machines:
                assert plant.machine(machine_id).ideal_cycle_s / 60 <= op.unit_min, (product.id, op.seq, machine_id)


def test_routing_fills_in_eligible_machines(plant: Plant) -> None:
    ops = plant.routing("HB-M8x30")
    by_wc = {op.workcenter_id: op for op in ops}
    # Plating names no machines in the YAML: every plating line is eligible.
    assert by_wc["WC-PLATE"].eligible_machines == [m.id for m in plant.machines_of("WC-PLATE")]
    # Heading narrows to the presses that take M8.
    assert set(by_wc["WC-HEAD"].eligible_machines) < {m.id for m in plant.machines_of("WC-HEAD")}
    assert [op.seq for op in ops] == list(range(1, len(ops) + 1))


def test_lookups(plant: Plant) -> None:
    assert plant.workcenter_of("F2").id == "WC-FURNACE"
    location = plant.location("H2")
    assert (location.workshop_id, location.line_id) == ("heading", "HEAD-L1")
    product = plant.product("HB-M8x30")
    assert plant.material(product.material_id).unit == "kg"
    assert plant.customer("CUST-001").name
    with pytest.raises(KeyError):
        plant.machine("H99")


def test_plc_addresses(plant: Plant) -> None:
    h1 = plant.machine("H1")
    assert h1.modbus is not None and h1.modbus.register_map["good"].words == 2
    f1 = plant.machine("F1")
    assert f1.opcua is not None and f1.opcua.endpoint.startswith("opc.tcp://")


def test_rules(plant: Plant) -> None:
    assert plant.rules.rush_reserve.share == pytest.approx(0.15)
    assert plant.rules.rush_reserve.open_to_strategic
    assert plant.rules.rush_reserve.min_margin_pct == 25
    assert plant.rules.approval.finance_review_over == 50_000
    assert plant.rules.approval.new_product_countersign
    assert any(p.new for p in plant.products)


def test_capacity_of_heading_in_a_week_with_maintenance(plant: Plant) -> None:
    # Mon 30 Nov - Mon 7 Dec 2026: 6 days x 3 shifts x 8 h x 8 presses, less H2's 8 h on Sat 5 Dec.
    start = datetime(2026, 11, 30, tzinfo=plant.zone)
    end = datetime(2026, 12, 7, tzinfo=plant.zone)
    assert plant.capacity_hours("WC-HEAD", start, end) == pytest.approx(6 * 24 * 8 - 8)


def test_plant_is_frozen(plant: Plant) -> None:
    with pytest.raises(ValidationError):
        plant.site_id = "other"  # type: ignore[misc]
