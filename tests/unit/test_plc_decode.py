"""PLC gateway pure logic: register decoding, read planning, config validation, change/heartbeat rules."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError

from edge.agent import EdgeAgent
from edge.plc.channel import MachineChannel, ProcessSpec
from edge.plc.config import GatewayConfig, RegisterSpec, RegisterType, StateMap
from edge.plc.decode import decode, encode
from edge.plc.modbus import read_plan
from shopfloor.events import MachineState, NodeKind, Unit, parse_event
from shopfloor.settings import MqttSettings

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("registers", "type_", "word", "byte", "value"),
    [
        ([0xFFFE], "int16", "big", "big", -2),
        ([0xFFFE], "uint16", "big", "big", 65534),
        ([0xFEFF], "int16", "big", "little", -2),
        ([0x0001, 0x0002], "uint32", "big", "big", 0x0001_0002),
        ([0x0002, 0x0001], "uint32", "little", "big", 0x0001_0002),
        ([0x0100, 0x0200], "uint32", "big", "little", 0x0001_0002),
        ([0x0200, 0x0100], "uint32", "little", "little", 0x0001_0002),
        ([0xFFFF, 0xFF85], "int32", "big", "big", -123),
        ([0x4049, 0x0FDB], "float32", "big", "big", 3.1415927),
        ([0x0FDB, 0x4049], "float32", "little", "big", 3.1415927),
        ([0xDB0F, 0x4940], "float32", "little", "little", 3.1415927),
    ],
)
def test_registers_decode_in_every_byte_and_word_order(
    registers: list[int], type_: str, word: str, byte: str, value: float
) -> None:
    spec = RegisterSpec.model_validate({"address": 0, "type": type_, "word_order": word, "byte_order": byte})
    assert decode(registers, spec) == pytest.approx(value, rel=1e-7)
    assert encode(value, spec) == registers


def test_decode_refuses_the_wrong_register_count() -> None:
    with pytest.raises(ValueError, match="needs 2 registers"):
        decode([1], RegisterSpec(address=0, type=RegisterType.INT32))


def test_reads_are_merged_up_to_the_modbus_limit_per_table() -> None:
    plan = read_plan([("holding", 0, 1), ("holding", 10, 2), ("holding", 12, 2), ("input", 5, 1), ("holding", 200, 2)])
    assert plan == [("holding", 0, 14), ("holding", 200, 2), ("input", 5, 1)]
    assert read_plan([("holding", 0, 2), ("holding", 124, 2)]) == [("holding", 0, 2), ("holding", 124, 2)]


def _config(machine: dict[str, object]) -> GatewayConfig:
    return GatewayConfig.model_validate({"node_id": "gw", "area": "a", "line": "l", "machines": [machine]})


def test_config_needs_exactly_one_source_and_unsigned_counters() -> None:
    modbus = {"host": "127.0.0.1", "state": {"address": 0, "map": {1: "RUNNING"}}}
    assert _config({"machine_id": "M1", "modbus": modbus}).machines[0].modbus is not None
    with pytest.raises(ValidationError, match="exactly one of modbus or opcua"):
        _config({"machine_id": "M1"})
    with pytest.raises(ValidationError, match="exactly one"):
        _config({"machine_id": "M1", "modbus": modbus, "opcua": {"endpoint": "opc.tcp://x:4840"}})
    counters = {"good": {"address": 1, "type": "int32"}, "scrap": {"address": 3}}
    with pytest.raises(ValidationError, match="uint16 or uint32"):
        _config({"machine_id": "M1", "modbus": {**modbus, "counters": counters}})
    with pytest.raises(ValidationError, match="unit"):
        _config({"machine_id": "M1", "modbus": {**modbus, "process": [{"name": "t", "address": 5, "unit": "F"}]}})
    with pytest.raises(ValidationError):
        _config({"machine_id": "M1", "modbus": {"host": "h", "state": {"address": 0, "map": {1: "SLEEPING"}}}})


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def agent(tmp_path: Path) -> Iterator[EdgeAgent]:
    agent = EdgeAgent("gw", NodeKind.PLC_GATEWAY, "a", "l", MqttSettings(), tmp_path / "q.db")  # never started
    yield agent
    agent.close()


def _published(agent: EdgeAgent) -> list[tuple[str, dict[str, object]]]:
    events = [parse_event(row.payload) for row in agent.queue.read_after(0, 1000)]
    return [(str(getattr(e, "type")), getattr(e, "payload").model_dump(mode="json")) for e in events]  # noqa: B009


def test_channel_publishes_changes_only_plus_heartbeats(agent: EdgeAgent) -> None:
    clock = Clock()
    states = StateMap(map={1: MachineState.RUNNING, 2: MachineState.IDLE})
    channel = MachineChannel(
        agent,
        "M1",
        heartbeat_s=10,
        state_map=states,
        process={"t": ProcessSpec(Unit.CELSIUS, deadband=0.5)},
        clock=clock,
    )
    channel.state_raw(1)
    channel.state_raw(1)
    channel.counters(100, 1)
    channel.counters(100, 1)
    channel.process({"t": 40.0})
    channel.process({"t": 40.4})  # inside the deadband
    clock.now = 5
    channel.heartbeat()  # too early
    assert [t for t, _ in _published(agent)] == ["machine.state", "machine.counter", "machine.process"]
    channel.state_raw(9)  # not in the map
    channel.counters(5, 0)  # a reset goes out as it is
    channel.process({"t": 41.0})
    clock.now = 15.1
    channel.heartbeat()  # counters last at 5 s: due; process last at 5 s: due
    channel.offline("plc unreachable")
    channel.offline("plc unreachable")
    assert _published(agent)[3:] == [
        ("machine.state", {"machine_id": "M1", "state": "FAULT", "reason_code": "unmapped:9"}),
        ("machine.counter", {"machine_id": "M1", "good": 5, "scrap": 0}),
        ("machine.process", {"machine_id": "M1", "values": [{"name": "t", "value": 41.0, "unit": "degC"}]}),
        ("machine.counter", {"machine_id": "M1", "good": 5, "scrap": 0}),
        ("machine.process", {"machine_id": "M1", "values": [{"name": "t", "value": 41.0, "unit": "degC"}]}),
        ("machine.state", {"machine_id": "M1", "state": "OFFLINE", "reason_code": "plc unreachable"}),
    ]
    assert (channel.stats.state, channel.stats.counter, channel.stats.process) == (3, 3, 3)
    assert math.isclose(clock.now, 15.1)
