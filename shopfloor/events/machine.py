"""Machine telemetry events, published by PLC gateways and the simulator."""

from __future__ import annotations

import math
from enum import StrEnum
from typing import Annotated, ClassVar, Final, Literal

from pydantic import AfterValidator, Field

from shopfloor.events._base import Count, EventBase, Ident, Model


class MachineState(StrEnum):
    RUNNING = "RUNNING"
    IDLE = "IDLE"
    SETUP = "SETUP"
    STOPPED = "STOPPED"
    MAINTENANCE = "MAINTENANCE"
    FAULT = "FAULT"
    OFFLINE = "OFFLINE"


BREAKDOWN_STATES: Final = frozenset({MachineState.FAULT, MachineState.MAINTENANCE, MachineState.OFFLINE})
"""States that take a machine out of production until it is repaired (the rescheduler plans around them)."""


class Unit(StrEnum):
    """Units a process value may carry; anything else is a wrong unit and is rejected."""

    CELSIUS = "degC"
    BAR = "bar"
    MPA = "MPa"
    MILLIMETRE = "mm"
    MICROMETRE = "um"
    RPM = "rpm"
    AMPERE = "A"
    VOLT = "V"
    KILOWATT = "kW"
    KILOWATT_HOUR = "kWh"
    PERCENT = "%"
    SECOND = "s"
    MILLIMETRE_PER_SECOND = "mm/s"
    KILONEWTON = "kN"
    HERTZ = "Hz"
    LITRE_PER_MINUTE = "l/min"
    PH = "pH"
    STROKES_PER_MINUTE = "spm"
    COUNT = "count"


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError("must be a finite number")
    return value


class MachineStatePayload(Model):
    machine_id: Ident
    state: MachineState
    reason_code: Annotated[str, Field(max_length=64)] | None = None


class MachineCounterPayload(Model):
    """Cumulative counters as the PLC holds them; a drop means the counter was reset."""

    machine_id: Ident
    good: Count
    scrap: Count


class ProcessValue(Model):
    name: Annotated[str, Field(min_length=1, max_length=64)]
    value: Annotated[float, AfterValidator(_finite)]
    unit: Unit


class MachineProcessPayload(Model):
    machine_id: Ident
    values: Annotated[list[ProcessValue], Field(min_length=1, max_length=64)]


class MachineStateEvent(EventBase):
    key_field: ClassVar[str] = "machine_id"
    type: Literal["machine.state"] = "machine.state"
    payload: MachineStatePayload


class MachineCounterEvent(EventBase):
    key_field: ClassVar[str] = "machine_id"
    type: Literal["machine.counter"] = "machine.counter"
    payload: MachineCounterPayload


class MachineProcessEvent(EventBase):
    key_field: ClassVar[str] = "machine_id"
    type: Literal["machine.process"] = "machine.process"
    payload: MachineProcessPayload
