"""The plant model: one YAML file describing a site, validated into frozen pydantic models.

``load_plant(path)`` returns a :class:`Plant` or raises :class:`PlantError` whose message names the
file, line and column of each problem. The plant answers the lookups the simulator, the order hub and
the rescheduler need (machines, workcenters, routings, customers) and turns shift calendars into
working intervals.
"""

from shopfloor.plant.calendar import ShiftOccurrence
from shopfloor.plant.loader import PlantError, PlantProblem, load_plant, parse_plant
from shopfloor.plant.model import (
    WEEKDAYS,
    Approval,
    Customer,
    KpiTargets,
    LateAlert,
    Line,
    Machine,
    MaintenanceWindow,
    Material,
    ModbusAddress,
    ModbusRegister,
    OpcUaAddress,
    Operation,
    ProcessSignal,
    Product,
    Reliability,
    Rules,
    RushReserve,
    Shift,
    ShiftCalendar,
    Workcenter,
    Workshop,
)
from shopfloor.plant.plant import Issue, MachineLocation, Plant, PlantConsistencyError

__all__ = [
    "WEEKDAYS",
    "Approval",
    "Customer",
    "Issue",
    "KpiTargets",
    "LateAlert",
    "Line",
    "Machine",
    "MachineLocation",
    "MaintenanceWindow",
    "Material",
    "ModbusAddress",
    "ModbusRegister",
    "OpcUaAddress",
    "Operation",
    "Plant",
    "PlantConsistencyError",
    "PlantError",
    "PlantProblem",
    "ProcessSignal",
    "Product",
    "Reliability",
    "Rules",
    "RushReserve",
    "Shift",
    "ShiftCalendar",
    "ShiftOccurrence",
    "Workcenter",
    "Workshop",
    "load_plant",
    "parse_plant",
]
