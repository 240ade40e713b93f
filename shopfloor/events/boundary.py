"""Validation at the boundary: what a receiver of raw messages (the bridge) accepts as an event.

:func:`shopfloor.events.parse_event` checks a message against the contract alone. A receiver also knows
its clock and the plant: :class:`EventValidator` refuses event times too far in the future
(``future_ts``) and process values whose unit is not the one the plant model declares for that
quantity (``wrong_unit``: a forming force in degC is wrong although degC is a known unit).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from shopfloor.events import (
    MAX_EVENT_BYTES,
    ErrorKind,
    Event,
    EventError,
    MachineProcessEvent,
    Unit,
    parse_event,
    utcnow,
)

if TYPE_CHECKING:
    from shopfloor.plant import Machine
    from shopfloor.settings import EventSettings


@dataclass(frozen=True, slots=True)
class QuantityUnits:
    """The unit of each process quantity, as the plant model declares it (``machine.process`` signals).

    A quantity a machine declares must come in its declared unit; a quantity declared on other machines
    only must come in one of the units the plant uses for it; a quantity the plant does not know is not
    checked beyond being a known :class:`Unit`.
    """

    by_machine: Mapping[tuple[str, str], Unit] = field(default_factory=dict)
    by_name: Mapping[str, frozenset[Unit]] = field(default_factory=dict)

    @classmethod
    def from_machines(cls, machines: Iterable[Machine]) -> QuantityUnits:
        by_machine: dict[tuple[str, str], Unit] = {}
        by_name: defaultdict[str, set[Unit]] = defaultdict(set)
        for machine in machines:
            for signal in machine.process:
                by_machine[(machine.id, signal.name)] = signal.unit
                by_name[signal.name].add(signal.unit)
        return cls(by_machine, {name: frozenset(units) for name, units in by_name.items()})

    def check(self, event: MachineProcessEvent) -> None:
        """Raise ``wrong_unit`` for the first value whose unit is not its quantity's."""
        machine_id = event.payload.machine_id
        for index, value in enumerate(event.payload.values):
            declared = self.by_machine.get((machine_id, value.name))
            if declared is not None:
                if value.unit is not declared:
                    self._refuse(index, f"{value.name} on {machine_id} is in {declared.value}, not {value.unit.value}")
                continue
            known = self.by_name.get(value.name)
            if known is not None and value.unit not in known:
                units = ", ".join(sorted(u.value for u in known))
                self._refuse(index, f"{value.name} is in {units} in the plant model, not {value.unit.value}")

    @staticmethod
    def _refuse(index: int, reason: str) -> None:
        raise EventError(ErrorKind.WRONG_UNIT, f"payload.values.{index}.unit", reason)


class EventValidator:
    """``parse_event`` plus the receiver's checks; ``parse(raw)`` returns the event or raises EventError."""

    def __init__(
        self,
        *,
        max_future_skew: timedelta | None = None,
        units: QuantityUnits | None = None,
        clock: Callable[[], datetime] = utcnow,
        max_bytes: int = MAX_EVENT_BYTES,
    ) -> None:
        self.max_future_skew = max_future_skew
        self.units = units
        self.clock = clock
        self.max_bytes = max_bytes

    @classmethod
    def from_settings(cls, settings: EventSettings, clock: Callable[[], datetime] = utcnow) -> EventValidator:
        """The validator the settings describe (loads the plant model when ``plant_file`` is set)."""
        units = None
        if settings.plant_file is not None:
            from shopfloor.plant import load_plant  # the plant model imports the event contracts

            units = QuantityUnits.from_machines(load_plant(settings.plant_file).all_machines())
        return cls(max_future_skew=settings.max_future_skew, units=units, clock=clock)

    def parse(self, raw: bytes | str) -> Event:
        now = self.clock() if self.max_future_skew is not None else None
        event = parse_event(raw, max_bytes=self.max_bytes, max_future_skew=self.max_future_skew, now=now)
        if self.units is not None and isinstance(event, MachineProcessEvent):
            self.units.check(event)
        return event


__all__ = ["EventValidator", "QuantityUnits"]
