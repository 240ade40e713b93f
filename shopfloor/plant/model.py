"""The parts of a plant model: site, workshops, lines, machines, workcenters, calendars, products, rules.

Every model is frozen and rejects unknown fields (``shopfloor.events.Model``), so a typo in the YAML
is an error, not a silently ignored key. Cross-references between these parts are checked by
:class:`shopfloor.plant.Plant`.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, Field, model_validator

from shopfloor.events import Ident, Model, Unit

Name = Annotated[str, Field(min_length=1, max_length=128)]
Positive = Annotated[float, Field(gt=0)]
NonNegative = Annotated[float, Field(ge=0)]
Share = Annotated[float, Field(ge=0, le=1)]
Weekday = Literal["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
WEEKDAYS: tuple[Weekday, ...] = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _iana_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown IANA timezone {name!r}") from None
    return name


TimezoneName = Annotated[str, AfterValidator(_iana_zone)]


# --- PLC addresses ---------------------------------------------------------------------------------


class ModbusRegister(Model):
    """One value the PLC gateway reads: register address, scaling and unit of the engineering value."""

    address: Annotated[int, Field(ge=0, le=65535)]
    kind: Literal["holding", "input", "coil", "discrete"] = "holding"
    # 32-bit values (cumulative counters) span two registers, high word first.
    words: Literal[1, 2] = 1
    scale: float = 1.0
    unit: Unit | None = None


class ModbusAddress(Model):
    host: Annotated[str, Field(min_length=1, max_length=253)]
    port: Annotated[int, Field(ge=1, le=65535)] = 502
    unit_id: Annotated[int, Field(ge=0, le=255)] = 1
    # Value name (state, good, scrap, or a process value name) -> register.
    register_map: dict[str, ModbusRegister]


class OpcUaAddress(Model):
    endpoint: Annotated[str, Field(pattern=r"^opc\.tcp://")]
    namespace: Annotated[str, Field(min_length=1)]
    # Value name (state, good, scrap, or a process value name) -> node id, e.g. "ns=2;s=H2.Good".
    nodes: dict[str, Annotated[str, Field(min_length=1)]]


# --- Machines, lines, workshops ---------------------------------------------------------------------


class ProcessSignal(Model):
    """A process value the machine reports, with its nominal value (the simulator varies around it)."""

    name: Annotated[str, Field(min_length=1, max_length=64)]
    unit: Unit
    nominal: float
    spread: NonNegative = 0.0


class Reliability(Model):
    """Failure and setup behaviour the simulator draws from."""

    mtbf_hours: Positive = 80.0
    mttr_hours: Positive = 1.5
    scrap_rate: Annotated[float, Field(ge=0, lt=1)] = 0.01
    setup_minutes: NonNegative = 45.0


class Machine(Model):
    id: Ident
    name: Name
    workcenter_id: Ident
    # Ideal (fastest sustainable) cycle time; OEE performance is measured against it.
    ideal_cycle_s: Positive
    reliability: Reliability = Reliability()
    process: list[ProcessSignal] = Field(default_factory=list)
    modbus: ModbusAddress | None = None
    opcua: OpcUaAddress | None = None

    @model_validator(mode="after")
    def _one_plc_address(self) -> Machine:
        if self.modbus is not None and self.opcua is not None:
            raise ValueError("a machine has either a modbus or an opcua address, not both")
        return self


class Line(Model):
    id: Ident
    name: Name
    machines: Annotated[list[Machine], Field(min_length=1)]


class Workshop(Model):
    id: Ident
    name: Name
    name_zh: Name
    lines: Annotated[list[Line], Field(min_length=1)]


class Workcenter(Model):
    """Machines that can stand in for one another; the unit of capacity and scheduling.

    Capacity is derived, not declared: each machine's working time from the workcenter's calendar,
    less that machine's planned maintenance (see ``Plant.capacity_hours``).
    """

    id: Ident
    name: Name
    workshop_id: Ident
    machine_ids: Annotated[list[Ident], Field(min_length=1)]
    calendar_id: Ident
    bottleneck: bool = False
    # A batch workcenter (the furnace) processes a load of pieces at once.
    batch: bool = False
    batch_max_pcs: Annotated[int, Field(gt=0)] | None = None
    # Long operations: the machines keep running a started operation through off-shift time (not
    # through maintenance), or an operation may stop at the end of working time and resume at the next.
    runs_unattended: bool = False
    may_pause: bool = False

    @model_validator(mode="after")
    def _batch_size_only_for_batch(self) -> Workcenter:
        if self.batch_max_pcs is not None and not self.batch:
            raise ValueError("batch_max_pcs is set but batch is false")
        return self


# --- Calendars -----------------------------------------------------------------------------------


def _mon_to_fri() -> list[Weekday]:
    return ["Mon", "Tue", "Wed", "Thu", "Fri"]


class Shift(Model):
    name: Annotated[str, Field(min_length=1, max_length=32)]
    start: time
    # An end at or before the start means the shift ends the next day (a night shift).
    end: time
    # Days on which the shift STARTS.
    weekdays: Annotated[list[Weekday], Field(min_length=1)] = Field(default_factory=_mon_to_fri)


class MaintenanceWindow(Model):
    """Planned maintenance of one machine; naive datetimes are in the plant's timezone."""

    machine_id: Ident
    start: datetime
    end: datetime
    reason: Annotated[str, Field(max_length=256)] = ""

    @model_validator(mode="after")
    def _ordered(self) -> MaintenanceWindow:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class ShiftCalendar(Model):
    id: Ident
    name: Name
    shifts: Annotated[list[Shift], Field(min_length=1)]
    # Shifts starting on a holiday do not run.
    holidays: list[date] = Field(default_factory=list)
    maintenance: list[MaintenanceWindow] = Field(default_factory=list)


# --- Products, customers, materials -----------------------------------------------------------------


class Operation(Model):
    seq: Annotated[int, Field(ge=1, le=99)]
    name: Annotated[str, Field(min_length=1, max_length=64)]
    workcenter_id: Ident
    # Empty means every machine of the workcenter.
    eligible_machine_ids: list[Ident] = Field(default_factory=list)
    setup_min: NonNegative = 0.0
    unit_min: Positive


class Product(Model):
    id: Ident
    name: Name
    material_id: Ident
    # Material consumed per piece, in the material's unit.
    material_per_pc: NonNegative = 0.0
    unit_price: NonNegative = 0.0
    # A product never made before: its orders need a technical countersign.
    new: bool = False
    routing: Annotated[list[Operation], Field(min_length=1, max_length=99)]

    @model_validator(mode="after")
    def _increasing_seq(self) -> Product:
        seqs = [op.seq for op in self.routing]
        if seqs != sorted(set(seqs)):
            raise ValueError(f"routing operation seq must be strictly increasing, got {seqs}")
        return self


class Customer(Model):
    id: Ident
    name: Name
    strategic: bool = False


class Material(Model):
    id: Ident
    name: Name
    unit: Annotated[str, Field(min_length=1, max_length=16)]
    lead_time_days: NonNegative
    safety_stock: NonNegative = 0.0


# --- Rules -------------------------------------------------------------------------------------------


class RushReserve(Model):
    """Share of each bottleneck workcenter's capacity held back for rush orders."""

    share: Share = 0.15
    open_to_strategic: bool = True
    # A rush order may use the reserve only if it also meets the release condition: a strategic customer
    # (when open_to_strategic) or a margin above min_margin_pct.
    min_margin_pct: float = 25.0
    # Reserve still unused this close to now is released to normal work.
    release_fence_h: NonNegative = 24.0


class Approval(Model):
    finance_review_over: NonNegative = 50_000.0
    new_product_countersign: bool = True


class LateAlert(Model):
    # An order projected to finish later than due by more than this raises an alert.
    min_slip_hours: NonNegative = 0.0
    # An open late alert clears once the projected slip is at most this (a lower threshold, so an order
    # near min_slip_hours is not alerted and cleared on alternate replans). Unset: half of min_slip_hours.
    clear_slip_hours: NonNegative | None = None
    # Purchasing hears when material is needed this many days earlier than its lead time allows.
    material_warning_days: NonNegative = 0.0

    @model_validator(mode="after")
    def _clear_below_raise(self) -> LateAlert:
        if self.clear_slip_hours is not None and self.clear_slip_hours > self.min_slip_hours:
            raise ValueError(
                f"clear_slip_hours ({self.clear_slip_hours}) must not exceed min_slip_hours ({self.min_slip_hours})"
            )
        return self

    @property
    def clear_hours(self) -> float:
        return self.min_slip_hours / 2 if self.clear_slip_hours is None else self.clear_slip_hours


class KpiTargets(Model):
    """Colours and targets of the load board: OEE below ``oee_red_below`` is red, above ``oee_green_above``
    green, yellow between (percent); on-time delivery is shown against ``on_time_target_pct``."""

    oee_red_below: Annotated[float, Field(ge=0, le=100)] = 65.0
    oee_green_above: Annotated[float, Field(ge=0, le=100)] = 85.0
    on_time_target_pct: Annotated[float, Field(ge=0, le=100)] = 89.0

    @model_validator(mode="after")
    def _ordered(self) -> KpiTargets:
        if self.oee_green_above < self.oee_red_below:
            raise ValueError("oee_green_above must not be below oee_red_below")
        return self


class Rules(Model):
    rush_reserve: RushReserve = RushReserve()
    approval: Approval = Approval()
    late_alert: LateAlert = LateAlert()
