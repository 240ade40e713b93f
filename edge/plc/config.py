"""The PLC gateway's configuration: one YAML file, validated by pydantic.

Example::

    node_id: plc-heading-1
    area: heading
    line: L1
    machines:
      - machine_id: H1
        modbus:
          host: 10.0.0.21
          port: 502
          unit_id: 1
          poll_interval_s: 1.0
          state: {address: 0, map: {0: STOPPED, 1: RUNNING, 2: IDLE, 3: SETUP, 4: FAULT}}
          counters:
            good: {address: 10, type: uint32, word_order: little}
            scrap: {address: 12, type: uint32}
          process:
            - {name: oil_temp, address: 20, type: int16, scale: 0.1, unit: degC}
            - {name: force, address: 22, type: float32, unit: kN}
      - machine_id: H2
        opcua:
          endpoint: opc.tcp://10.0.0.22:4840/
          state: {node_id: "ns=2;s=H2.State", map: {1: RUNNING, 2: IDLE}}
          counters: {good: {node_id: "ns=2;s=H2.Good"}, scrap: {node_id: "ns=2;s=H2.Scrap"}}
          process:
            - {name: speed, node_id: "ns=2;s=H2.Speed", unit: spm}
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import Field, model_validator

from shopfloor.events import Ident, MachineState, Model, Unit


class RegisterType(StrEnum):
    INT16 = "int16"
    UINT16 = "uint16"
    INT32 = "int32"
    UINT32 = "uint32"
    FLOAT32 = "float32"


Order = Literal["big", "little"]
Seconds = Annotated[float, Field(gt=0, le=86_400)]


class RegisterSpec(Model):
    """One value in Modbus registers. 32-bit values span two registers.

    ``byte_order`` is the order of the two bytes inside each register, ``word_order`` the order of the
    two registers of a 32-bit value ("big": high word first, as Modbus itself; many PLCs use "little").
    """

    address: Annotated[int, Field(ge=0, le=65_534)]
    type: RegisterType = RegisterType.UINT16
    word_order: Order = "big"
    byte_order: Order = "big"
    table: Literal["holding", "input"] = "holding"

    @property
    def count(self) -> int:
        return 1 if self.type in (RegisterType.INT16, RegisterType.UINT16) else 2


class ScaledSpec(Model):
    """value = raw * scale + offset."""

    scale: float = 1.0
    offset: float = 0.0


class ModbusProcessValue(RegisterSpec, ScaledSpec):
    name: Annotated[str, Field(min_length=1, max_length=64)]
    unit: Unit
    # Publish on change only when the value moved by more than this (noise on analog inputs).
    deadband: Annotated[float, Field(ge=0)] = 0.0


class StateMap(Model):
    """Raw state word -> machine state. A value not in the map is published as ``unmapped``."""

    map: Annotated[dict[int, MachineState], Field(min_length=1)]
    unmapped: MachineState = MachineState.FAULT


class ModbusState(StateMap):
    address: Annotated[int, Field(ge=0, le=65_535)]
    table: Literal["holding", "input"] = "holding"


class ModbusCounters(Model):
    good: RegisterSpec
    scrap: RegisterSpec

    @model_validator(mode="after")
    def _unsigned(self) -> ModbusCounters:
        for spec in (self.good, self.scrap):
            if spec.type not in (RegisterType.UINT16, RegisterType.UINT32):
                raise ValueError("counters must be uint16 or uint32")
        return self


class ModbusSource(Model):
    host: str
    port: Annotated[int, Field(ge=1, le=65_535)] = 502
    unit_id: Annotated[int, Field(ge=0, le=255)] = 1
    poll_interval_s: Seconds = 1.0
    timeout_s: Seconds = 3.0
    state: ModbusState | None = None
    counters: ModbusCounters | None = None
    process: list[ModbusProcessValue] = Field(default_factory=list)


class OpcUaNode(ScaledSpec):
    node_id: Annotated[str, Field(min_length=1)]


class OpcUaState(StateMap):
    node_id: Annotated[str, Field(min_length=1)]


class OpcUaCounters(Model):
    good: OpcUaNode
    scrap: OpcUaNode


class OpcUaProcessValue(OpcUaNode):
    name: Annotated[str, Field(min_length=1, max_length=64)]
    unit: Unit
    deadband: Annotated[float, Field(ge=0)] = 0.0


class OpcUaSource(Model):
    endpoint: Annotated[str, Field(pattern=r"^opc\.tcp://")]
    # How often the server sends data changes (its publishing interval).
    publishing_interval_ms: Annotated[int, Field(ge=10, le=60_000)] = 500
    reconnect_s: Seconds = 5.0
    state: OpcUaState | None = None
    counters: OpcUaCounters | None = None
    process: list[OpcUaProcessValue] = Field(default_factory=list)


class MachineConfig(Model):
    machine_id: Ident
    # Counters and process values are also published unchanged this often (consumers see liveness).
    heartbeat_s: Seconds = 60.0
    modbus: ModbusSource | None = None
    opcua: OpcUaSource | None = None

    @model_validator(mode="after")
    def _one_source(self) -> MachineConfig:
        if (self.modbus is None) == (self.opcua is None):
            raise ValueError("a machine needs exactly one of modbus or opcua")
        return self


class GatewayConfig(Model):
    node_id: Ident
    area: Ident
    line: Ident
    queue: Path | None = None
    machines: Annotated[list[MachineConfig], Field(min_length=1)]

    @model_validator(mode="after")
    def _unique_machines(self) -> GatewayConfig:
        ids = [m.machine_id for m in self.machines]
        if len(ids) != len(set(ids)):
            raise ValueError("machine ids must be unique")
        return self


def load_config(path: Path) -> GatewayConfig:
    return GatewayConfig.model_validate(yaml.safe_load(path.read_text()))
