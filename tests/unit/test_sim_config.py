"""Scenario spellings (durations, --break, --flood, --faults) and the event log's round trip."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from edge.sim.config import Breakdown, Flood, SimConfig, Troubles, parse_duration
from edge.sim.eventlog import EventLog, read_event_log, topic_builder
from edge.sim.faults import MalformedKind
from edge.sim.model import PlantSim, simulate
from shopfloor.events import parse_event
from shopfloor.plant import load_plant
from shopfloor.settings import PROJECT_ROOT

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("10m", 600), ("1h30m", 5400), ("2d", 172800), ("250ms", 0.25), ("45", 45), ("1.5h", 5400)],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "10x", "m10", "1h 30m", "-5m"])
def test_bad_durations_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


def test_break_spec() -> None:
    assert Breakdown.parse("H2@10m:45m") == Breakdown(
        machine_id="H2", at=timedelta(minutes=10), duration=timedelta(minutes=45)
    )
    for bad in ("H2", "H2@10m", "@10m:5m", "H2@10m:0s"):
        with pytest.raises(ValueError):
            Breakdown.parse(bad)


def test_flood_spec() -> None:
    flood = Flood.parse("H2@5m:2m:500")
    assert (flood.at, flood.duration, flood.rate_per_s) == (timedelta(minutes=5), timedelta(minutes=2), 500.0)
    with pytest.raises(ValueError):
        Flood.parse("H2@5m:2m")


def test_faults_spec() -> None:
    troubles = Troubles.parse(
        "dup=0.01,late=0.02,late_by=20m,ooo=0.03,malformed=0.005,skew=30s,kinds=not_json+oversized"
    )
    assert troubles.duplicate_rate == 0.01
    assert troubles.late_rate == 0.02 and troubles.late_by == timedelta(minutes=20)
    assert troubles.out_of_order_rate == 0.03
    assert troubles.malformed_rate == 0.005
    assert troubles.clock_skew_max == timedelta(seconds=30)
    assert troubles.malformed_kinds == [MalformedKind.NOT_JSON, MalformedKind.OVERSIZED]
    assert Troubles.parse("") == Troubles()
    with pytest.raises(ValueError, match="unknown fault"):
        Troubles.parse("explode=1")
    with pytest.raises(ValidationError):
        Troubles.parse("dup=2")


def test_config_needs_an_aware_start() -> None:
    with pytest.raises(ValidationError):
        SimConfig(start=datetime(2026, 11, 23, 6, 0))


def test_event_log_round_trip(tmp_path: Path) -> None:
    plant = load_plant(PROJECT_ROOT / "infra" / "plants" / "demo.yaml")
    config = SimConfig(
        start=datetime(2026, 11, 23, 4, 0, tzinfo=UTC),
        duration=timedelta(minutes=20),
        troubles=Troubles(malformed_rate=0.05, duplicate_rate=0.05),
    )
    nodes = {n.node_id: (n.area, n.line) for n in PlantSim(plant, config).nodes.values()}
    topic_of = topic_builder("acme", "plant1", nodes)
    emissions = list(simulate(plant, config))
    with EventLog(tmp_path / "log.jsonl") as log:
        for emission in emissions:
            log.write(emission, topic_of(emission))
    records = list(read_event_log(tmp_path / "log.jsonl"))
    assert len(records) == len(emissions)
    for record, emission in zip(records, emissions, strict=True):
        assert record.at == emission.at
        assert record.topic.endswith(f"/{emission.cell}/{emission.mqtt_kind}")
        if emission.event is not None:
            assert parse_event(json.dumps(record.event)) == emission.event
            assert record.event_id == str(emission.event.event_id)
        else:
            assert emission.malformed is not None
            assert record.payload == emission.malformed.payload
            assert record.expected_reason == emission.malformed.expected_reason
    assert any(r.fault for r in records) and any(r.trouble == "duplicate" for r in records)
