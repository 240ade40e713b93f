"""Bottleneck detection with hysteresis (pure; the order processor's load timer drives it).

A workcenter is a bottleneck when its queue exceeds ``enter_ratio`` of its capacity over the
detection horizon (e.g. 100 % of the next 3 days), or when it is a bottleneck workcenter of the
plant model with a machine in FAULT and work queued. It is cleared only when the load has stayed
under ``exit_ratio`` (below the entry level) with no such fault for ``clear_hold_s`` seconds, so a
load hovering at the threshold never flaps.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from streams.orders.load import HorizonLoad


@dataclass(frozen=True, slots=True)
class DetectorConfig:
    horizon: str = "3d"
    enter_ratio: float = 1.0
    exit_ratio: float = 0.9
    clear_hold_s: float = 30.0

    def __post_init__(self) -> None:
        if not 0 < self.exit_ratio < self.enter_ratio:
            raise ValueError("need 0 < exit_ratio < enter_ratio for a hysteresis")


@dataclass(frozen=True, slots=True)
class Detected:
    load: HorizonLoad
    machine_id: str | None
    cause: str
    orders: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Cleared:
    load: HorizonLoad
    machine_id: str | None


@dataclass
class _Active:
    machine_id: str | None
    calm_since: datetime | None = None


class BottleneckDetector:
    """Per-workcenter state machine; ``step`` returns the transitions to publish."""

    def __init__(self, config: DetectorConfig, bottleneck_workcenters: frozenset[str]) -> None:
        self.config = config
        self.bottleneck_workcenters = bottleneck_workcenters
        self._active: dict[str, _Active] = {}

    def restore(self, active: dict[str, str | None]) -> None:
        """Workcenters already announced as bottlenecks (from the ``bottleneck`` table) -> machine."""
        self._active = {wc: _Active(machine) for wc, machine in active.items()}

    @property
    def active(self) -> dict[str, str | None]:
        return {wc: a.machine_id for wc, a in self._active.items()}

    def _fault(self, load: HorizonLoad, faulted: frozenset[str]) -> str | None:
        if load.workcenter_id not in self.bottleneck_workcenters or load.queued_hours <= 0:
            return None
        broken = sorted(set(load.machines_down) & faulted)
        return broken[0] if broken else None

    def step(
        self, loads: list[HorizonLoad], faulted: frozenset[str], orders: dict[str, tuple[str, ...]], now: datetime
    ) -> list[Detected | Cleared]:
        out: list[Detected | Cleared] = []
        for load in loads:
            if load.horizon != self.config.horizon:
                continue
            wc = load.workcenter_id
            ratio = load.load_ratio
            over = load.queued_hours > 0 and (ratio is None or ratio >= self.config.enter_ratio)
            calm = (ratio is not None and ratio < self.config.exit_ratio) or load.queued_hours <= 0
            machine = self._fault(load, faulted)
            state = self._active.get(wc)
            if state is None:
                if over or machine is not None:
                    self._active[wc] = _Active(machine)
                    out.append(Detected(load, machine, _cause(load, machine), orders.get(wc, ())))
                continue
            if machine is not None and machine != state.machine_id:
                # Still a bottleneck, now (also) for a broken machine: say so once.
                state.machine_id, state.calm_since = machine, None
                out.append(Detected(load, machine, _cause(load, machine), orders.get(wc, ())))
                continue
            if machine is None and calm:
                state.calm_since = state.calm_since or now
                if now - state.calm_since >= timedelta(seconds=self.config.clear_hold_s):
                    del self._active[wc]
                    out.append(Cleared(load, state.machine_id))
            else:
                state.calm_since = None
        return out


def _cause(load: HorizonLoad, machine: str | None) -> str:
    if machine is not None:
        return f"{machine} in FAULT with {load.queued_hours:.1f} h queued on {load.workcenter_id}"
    return f"{load.workcenter_id} full for {load.full_for_hours:.0f} h ({load.queued_hours:.1f} h queued)"
