"""The whole plant: its parts, the cross-checks between them, and the lookups every service needs."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import Field, model_validator

from shopfloor.events import Ident, Model, OperationSpec
from shopfloor.plant import calendar as cal
from shopfloor.plant.model import (
    Customer,
    KpiTargets,
    Machine,
    Material,
    Product,
    Rules,
    ShiftCalendar,
    TimezoneName,
    Workcenter,
    Workshop,
)

DocPath = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Issue:
    """One cross-check failure: where in the document (a pydantic-style location) and what."""

    path: DocPath
    message: str


class PlantConsistencyError(ValueError):
    """Raised by ``Plant`` validation; pydantic keeps it in the error's ``ctx['error']``."""

    def __init__(self, issues: list[Issue]) -> None:
        self.issues = issues
        super().__init__("; ".join(f"{format_path(i.path)}: {i.message}" for i in issues))


def format_path(path: Iterable[str | int]) -> str:
    """``('workshops', 2, 'lines', 0)`` -> ``workshops[2].lines[0]``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


@dataclass(frozen=True, slots=True)
class MachineLocation:
    """Where a machine sits: the ISA-95 area (workshop) and line of its MQTT topics."""

    workshop_id: str
    line_id: str
    machine_id: str


class Plant(Model):
    enterprise_id: Ident
    site_id: Ident
    site_name: Annotated[str, Field(max_length=128)] = ""
    timezone: TimezoneName
    workshops: Annotated[list[Workshop], Field(min_length=1)]
    workcenters: Annotated[list[Workcenter], Field(min_length=1)]
    calendars: Annotated[list[ShiftCalendar], Field(min_length=1)]
    products: list[Product] = Field(default_factory=list)
    customers: list[Customer] = Field(default_factory=list)
    materials: list[Material] = Field(default_factory=list)
    rules: Rules = Rules()
    kpi: KpiTargets = KpiTargets()

    @model_validator(mode="after")
    def _cross_check(self) -> Plant:
        from shopfloor.plant.checks import cross_check  # checks imports this module's types

        issues = cross_check(self)
        if issues:
            raise PlantConsistencyError(issues)
        return self

    # --- indexes, built on first use ---------------------------------------------------------------

    @cached_property
    def _machines(self) -> dict[str, Machine]:
        return {m.id: m for ws in self.workshops for line in ws.lines for m in line.machines}

    @cached_property
    def _locations(self) -> dict[str, MachineLocation]:
        return {
            m.id: MachineLocation(ws.id, line.id, m.id)
            for ws in self.workshops
            for line in ws.lines
            for m in line.machines
        }

    @cached_property
    def _workcenters(self) -> dict[str, Workcenter]:
        return {wc.id: wc for wc in self.workcenters}

    @cached_property
    def _products(self) -> dict[str, Product]:
        return {p.id: p for p in self.products}

    @cached_property
    def _customers(self) -> dict[str, Customer]:
        return {c.id: c for c in self.customers}

    @cached_property
    def _materials(self) -> dict[str, Material]:
        return {m.id: m for m in self.materials}

    @cached_property
    def _calendars(self) -> dict[str, ShiftCalendar]:
        return {c.id: c for c in self.calendars}

    @cached_property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    # --- lookups (KeyError for an unknown id) --------------------------------------------------------

    def all_machines(self) -> list[Machine]:
        return list(self._machines.values())

    def machine(self, machine_id: str) -> Machine:
        return self._machines[machine_id]

    def location(self, machine_id: str) -> MachineLocation:
        return self._locations[machine_id]

    def workcenter(self, workcenter_id: str) -> Workcenter:
        return self._workcenters[workcenter_id]

    def workcenter_of(self, machine_id: str) -> Workcenter:
        return self._workcenters[self._machines[machine_id].workcenter_id]

    def machines_of(self, workcenter_id: str) -> list[Machine]:
        return [self._machines[m] for m in self._workcenters[workcenter_id].machine_ids]

    def bottleneck_workcenters(self) -> list[Workcenter]:
        return [wc for wc in self.workcenters if wc.bottleneck]

    def product(self, product_id: str) -> Product:
        return self._products[product_id]

    def routing(self, product_id: str) -> list[OperationSpec]:
        """The product's routing as work-order operations, eligible machines filled in."""
        return [
            OperationSpec(
                seq=op.seq,
                name=op.name,
                workcenter_id=op.workcenter_id,
                eligible_machines=op.eligible_machine_ids or list(self._workcenters[op.workcenter_id].machine_ids),
                setup_min=op.setup_min,
                unit_min=op.unit_min,
            )
            for op in self._products[product_id].routing
        ]

    def customer(self, customer_id: str) -> Customer:
        return self._customers[customer_id]

    def material(self, material_id: str) -> Material:
        return self._materials[material_id]

    def calendar(self, calendar_id: str) -> ShiftCalendar:
        return self._calendars[calendar_id]

    # --- working time ---------------------------------------------------------------------------------

    def working_intervals(
        self, calendar_id: str, start: datetime, end: datetime, machine_id: str | None = None
    ) -> list[tuple[datetime, datetime]]:
        """Working time of a calendar in ``[start, end)`` as UTC intervals (aware inputs required).

        With ``machine_id``, that machine's planned maintenance windows are cut out.
        """
        return cal.working_intervals(self._calendars[calendar_id], self.zone, start, end, machine_id)

    def machine_intervals(self, machine_id: str, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        """Working time of one machine: its workcenter's calendar less its maintenance."""
        return self.working_intervals(self.workcenter_of(machine_id).calendar_id, start, end, machine_id)

    def shifts(self, calendar_id: str, start: datetime, end: datetime) -> list[cal.ShiftOccurrence]:
        """Each shift occurrence overlapping ``[start, end)`` (for shift-change behaviour)."""
        return cal.shift_occurrences(self._calendars[calendar_id], self.zone, start, end)

    def capacity_hours(self, workcenter_id: str, start: datetime, end: datetime) -> float:
        """Machine-hours a workcenter offers in ``[start, end)``: sum over its machines of working time."""
        return sum(
            cal.hours(self.machine_intervals(m, start, end)) for m in self._workcenters[workcenter_id].machine_ids
        )

    def counts(self) -> dict[str, int]:
        return {
            "workshops": len(self.workshops),
            "lines": sum(len(ws.lines) for ws in self.workshops),
            "machines": len(self._machines),
            "workcenters": len(self.workcenters),
            "calendars": len(self.calendars),
            "products": len(self.products),
            "customers": len(self.customers),
            "materials": len(self.materials),
        }
