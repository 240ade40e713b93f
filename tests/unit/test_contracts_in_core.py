"""Header names, event-type lists and machine states are defined once, in the core package, and the
copies that must exist (SQL CHECK lists in migrations) agree with it."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from shopfloor.db import state as db_state
from shopfloor.events import (
    BOTTLENECK_EVENT_TYPES,
    BREAKDOWN_STATES,
    EVENT_CLASSES,
    EVENT_TYPES,
    MACHINE_EVENT_TYPES,
    MES_EVENT_TYPES,
    NODE_EVENT_TYPES,
    ORDER_EVENT_TYPES,
    MachineState,
    MachineStateEvent,
    MachineStatePayload,
    WoReleasedEvent,
    event_type,
    new_event_id,
    utcnow,
)
from shopfloor.headers import (
    DEADLETTER_HEADERS,
    EVENT_HEADERS,
    HEADER_EVENT_ID,
    HEADER_SOURCE,
    HEADER_TYPE,
    event_headers,
    header_value,
)
from shopfloor.settings import PROJECT_ROOT
from shopfloor.topics import KIND_EVENT_TYPES, MqttKind

pytestmark = pytest.mark.unit

CORE_EVENTS = PROJECT_ROOT / "shopfloor" / "events"
MIGRATIONS = PROJECT_ROOT / "shopfloor" / "db" / "migrations"
# Fault injection writes raw, partly malformed JSON on purpose: it spells types out to break them.
LITERAL_TYPES_ALLOWED = {PROJECT_ROOT / "edge" / "sim" / "faults.py"}


def sources(*tops: str) -> list[Path]:
    return sorted(p for top in tops for p in (PROJECT_ROOT / top).rglob("*.py") if "__pycache__" not in p.parts)


def string_constants(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)]


def test_header_names_are_defined_only_in_the_core() -> None:
    defines = re.compile(r"^\s*HEADER_[A-Z_]+\s*(:[^=]*)?=\s*[\"']", re.MULTILINE)
    offenders = [
        str(p.relative_to(PROJECT_ROOT))
        for p in sources("shopfloor", "edge", "rescheduler", "streams", "orders", "dashboards", "benchmarks")
        if p != PROJECT_ROOT / "shopfloor" / "headers.py" and defines.search(p.read_text(encoding="utf-8"))
    ]
    assert not offenders, f"header names defined outside shopfloor/headers.py: {offenders}"


def test_no_module_copies_a_list_of_event_types() -> None:
    offenders = {}
    for path in sources("shopfloor", "edge", "rescheduler", "streams", "orders", "dashboards"):
        if path.is_relative_to(CORE_EVENTS) or path in LITERAL_TYPES_ALLOWED:
            continue
        spelled = {c for c in string_constants(path) if c in EVENT_TYPES}
        if len(spelled) >= 2:
            offenders[str(path.relative_to(PROJECT_ROOT))] = sorted(spelled)
    assert not offenders, f"event types spelled out instead of taken from shopfloor.events: {offenders}"


def test_the_rescheduler_uses_the_core_machine_states() -> None:
    states = {s.value for s in MachineState}
    offenders = {
        str(p.relative_to(PROJECT_ROOT)): sorted(spelled)
        for p in sources("rescheduler")
        if (spelled := {c for c in string_constants(p) if c in states})
    }
    assert not offenders, f"machine states as plain strings (use shopfloor.events.MachineState): {offenders}"
    assert {MachineState.FAULT, MachineState.MAINTENANCE, MachineState.OFFLINE} == BREAKDOWN_STATES
    assert "FAULT" in BREAKDOWN_STATES and "IDLE" not in BREAKDOWN_STATES  # the database holds plain text


def test_type_groups_partition_what_they_name() -> None:
    assert frozenset(EVENT_CLASSES) == EVENT_TYPES
    assert {"machine.state", "machine.counter", "machine.process"} == MACHINE_EVENT_TYPES
    assert {"wo.started", "wo.reported", "wo.paused", "wo.resumed", "wo.finished"} == MES_EVENT_TYPES
    assert {"order.created", "order.approved", "order.changed", "order.cancelled"} == ORDER_EVENT_TYPES
    assert {"bottleneck.detected", "bottleneck.cleared"} == BOTTLENECK_EVENT_TYPES
    assert {"node.birth", "node.death"} == NODE_EVENT_TYPES
    assert event_type(WoReleasedEvent) == "wo.released" and "wo.released" not in MES_EVENT_TYPES
    assert KIND_EVENT_TYPES[MqttKind.WO] == MES_EVENT_TYPES
    assert set(db_state._STATUS_AFTER) == MES_EVENT_TYPES


def check_list(sql: str, column: str) -> set[str]:
    match = re.search(rf"\b{column}\s+text\s+NOT NULL\s+CHECK\s*\(\s*{column}\s+IN\s*\(([^)]*)\)", sql, re.S)
    assert match, f"no CHECK list for {column}"
    return set(re.findall(r"'([^']*)'", match.group(1)))


def test_migration_check_lists_equal_the_core() -> None:
    sql = (MIGRATIONS / "002_raw_events.sql").read_text(encoding="utf-8")
    assert check_list(sql, "state") == {s.value for s in MachineState}
    assert check_list(sql, "type") == MES_EVENT_TYPES


def test_event_headers_and_reading_them_back() -> None:
    event = MachineStateEvent(
        event_id=new_event_id(),
        source="gw-1",
        seq=1,
        ts=utcnow(),
        payload=MachineStatePayload(machine_id="H2", state=MachineState.FAULT),
    )
    headers = event_headers(event)
    assert [name for name, _ in headers] == list(EVENT_HEADERS)
    assert header_value(headers, HEADER_TYPE) == "machine.state"
    assert header_value(headers, HEADER_SOURCE) == "gw-1"
    assert header_value(dict(headers), HEADER_EVENT_ID) == str(event.event_id)
    assert header_value(None, HEADER_TYPE) is None
    assert header_value([(HEADER_TYPE, None)], HEADER_TYPE) is None
    assert DEADLETTER_HEADERS == ("reason_kind", "mqtt_topic")
