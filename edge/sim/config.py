"""What a simulation run does: plant behaviour knobs, trouble switches, and the CLI spellings of both.

Times inside a scenario are offsets from the simulation start in simulated time (``--break H2@10m:45m``
is "at sim minute 10, for 45 sim minutes"); only a flood's rate is in real messages per second, because
what a flood tests is the load on the bus.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Final

from pydantic import AfterValidator, Field

from edge.sim.faults import MalformedKind
from shopfloor.events import Ident, Model, UtcDatetime

_DURATION: Final = re.compile(r"(\d+(?:\.\d+)?)(ms|d|h|m|s)")
_UNIT_SECONDS: Final = {"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}

Rate = Annotated[float, Field(ge=0, le=1)]


def parse_duration(text: str) -> timedelta:
    """``"90s"``, ``"10m"``, ``"1h30m"``, ``"2d"``, ``"250ms"`` or plain seconds (``"45"``)."""
    text = text.strip()
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        return timedelta(seconds=float(text))
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"not a duration: {text!r} (use e.g. 90s, 10m, 1h30m, 2d)")
    return timedelta(seconds=sum(float(n) * _UNIT_SECONDS[u] for n, u in parts))


def _positive(value: timedelta) -> timedelta:
    if value <= timedelta(0):
        raise ValueError("must be positive")
    return value


def _not_negative(value: timedelta) -> timedelta:
    if value < timedelta(0):
        raise ValueError("must not be negative")
    return value


PositiveDuration = Annotated[timedelta, AfterValidator(_positive)]
Offset = Annotated[timedelta, AfterValidator(_not_negative)]


class Breakdown(Model):
    """A forced FAULT of one machine: from ``at`` after the start, for ``duration`` (sim time)."""

    machine_id: Ident
    at: Offset
    duration: PositiveDuration

    @classmethod
    def parse(cls, spec: str) -> Breakdown:
        """``H2@10m:45m`` -> machine H2 breaks at sim minute 10 for 45 minutes."""
        machine, _, window = spec.partition("@")
        at, _, duration = window.partition(":")
        if not machine or not at or not duration:
            raise ValueError(f"breakdown {spec!r} is not MACHINE@START:DURATION (e.g. H2@10m:45m)")
        return cls(machine_id=machine, at=parse_duration(at), duration=parse_duration(duration))


class Flood(Model):
    """A machine that chatters: ``rate_per_s`` extra process messages per real second during the window."""

    machine_id: Ident
    at: Offset
    duration: PositiveDuration
    rate_per_s: Annotated[float, Field(gt=0, le=100_000)]

    @classmethod
    def parse(cls, spec: str) -> Flood:
        """``H2@5m:2m:500`` -> from sim minute 5, for 2 sim minutes, 500 messages per real second."""
        machine, _, rest = spec.partition("@")
        fields = rest.split(":")
        if not machine or len(fields) != 3:
            raise ValueError(f"flood {spec!r} is not MACHINE@START:DURATION:RATE (e.g. H2@5m:2m:500)")
        return cls(
            machine_id=machine,
            at=parse_duration(fields[0]),
            duration=parse_duration(fields[1]),
            rate_per_s=float(fields[2]),
        )


class Troubles(Model):
    """Trouble switches; all off by default. Rates are the share of clean events affected."""

    duplicate_rate: Rate = 0.0
    late_rate: Rate = 0.0
    # How long after its event time a late message is delivered (sim time).
    late_by: PositiveDuration = timedelta(minutes=15)
    out_of_order_rate: Rate = 0.0
    malformed_rate: Rate = 0.0
    malformed_kinds: Annotated[list[MalformedKind], Field(min_length=1)] = Field(
        default_factory=lambda: list(MalformedKind)
    )
    # Each node's clock drifts by a fixed offset drawn in [-max, +max]; explicit offsets win.
    clock_skew_max: Offset = timedelta(0)
    clock_skew: dict[Ident, timedelta] = Field(default_factory=dict)
    floods: list[Flood] = Field(default_factory=list)

    @classmethod
    def parse(cls, spec: str) -> Troubles:
        """The ``--faults`` spelling: ``dup=0.01,late=0.02,late_by=20m,ooo=0.01,malformed=0.005,skew=30s``."""
        values: dict[str, object] = {}
        names = {
            "dup": "duplicate_rate",
            "late": "late_rate",
            "ooo": "out_of_order_rate",
            "malformed": "malformed_rate",
        }
        for item in filter(None, (part.strip() for part in spec.split(","))):
            key, sep, value = item.partition("=")
            if not sep:
                raise ValueError(f"fault {item!r} is not NAME=VALUE")
            if key in names:
                values[names[key]] = float(value)
            elif key == "late_by":
                values["late_by"] = parse_duration(value)
            elif key == "skew":
                values["clock_skew_max"] = parse_duration(value)
            elif key == "kinds":
                values["malformed_kinds"] = [MalformedKind(kind) for kind in value.split("+")]
            else:
                raise ValueError(f"unknown fault {key!r}: use dup, late, late_by, ooo, malformed, kinds, skew")
        return cls.model_validate(values)


class Behaviour(Model):
    """How often the simulated plant reports, and how often things go wrong on their own."""

    counter_every: PositiveDuration = timedelta(seconds=60)
    process_every: PositiveDuration = timedelta(seconds=60)
    # Operators report good / scrap at most this often while a work order runs.
    report_every: PositiveDuration = timedelta(minutes=30)
    # PLC restarts per machine per day of running; each resets the machine's counters to zero.
    plc_restarts_per_day: Annotated[float, Field(ge=0)] = 0.1
    # Material shortages per machine per day of running; each pauses the work order.
    material_waits_per_day: Annotated[float, Field(ge=0)] = 0.3
    material_wait_mean: PositiveDuration = timedelta(minutes=20)
    # Natural failures from each machine's MTBF / MTTR; off for scripted scenarios.
    random_failures: bool = True


def default_start() -> datetime:
    return datetime.now(UTC).replace(second=0, microsecond=0)


class SimConfig(Model):
    """One simulation run: same config and seed -> the same event stream."""

    seed: int = 1
    start: UtcDatetime = Field(default_factory=default_start)
    duration: PositiveDuration = timedelta(hours=8)
    # Simulated seconds per real second; a flood's real rate needs it to space its messages in sim time.
    speed: Annotated[float, Field(gt=0, le=1_000_000)] = 1.0
    behaviour: Behaviour = Behaviour()
    troubles: Troubles = Troubles()
    breakdowns: list[Breakdown] = Field(default_factory=list)

    @property
    def end(self) -> datetime:
        return self.start + self.duration
