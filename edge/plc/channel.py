"""One machine's events: what changed since the last publish, plus heartbeats. Protocol-independent.

Pollers (Modbus) and subscriptions (OPC UA) feed raw readings in; the channel publishes
``machine.state`` on change only, ``machine.counter`` and ``machine.process`` on change and again
every ``heartbeat_s`` when nothing changed. Counters go out as the PLC holds them: a drop (a reset)
is passed on as-is, the stream processor detects it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from edge.agent import EdgeAgent
from edge.plc.config import MachineConfig, ModbusSource, OpcUaSource, StateMap
from shopfloor.events import (
    MachineCounterEvent,
    MachineCounterPayload,
    MachineProcessEvent,
    MachineProcessPayload,
    MachineState,
    MachineStateEvent,
    MachineStatePayload,
    ProcessValue,
    Unit,
)


@dataclass(frozen=True, slots=True)
class ProcessSpec:
    unit: Unit
    deadband: float = 0.0


@dataclass(slots=True)
class ChannelStats:
    state: int = 0
    counter: int = 0
    process: int = 0


class MachineChannel:
    def __init__(
        self,
        agent: EdgeAgent,
        machine_id: str,
        *,
        heartbeat_s: float,
        state_map: StateMap | None = None,
        process: Mapping[str, ProcessSpec] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.agent = agent
        self.machine_id = machine_id
        self.heartbeat_s = heartbeat_s
        self.state_map = state_map
        self.process_specs = dict(process or {})
        self._clock = clock
        self.stats = ChannelStats()
        self._state: tuple[MachineState, str | None] | None = None
        self._counters: tuple[int, int] | None = None
        self._counters_at = 0.0
        self._process: dict[str, float] = {}  # last published value per name
        self._process_at = 0.0

    # -- state --------------------------------------------------------------------------------------
    def state_raw(self, raw: int) -> None:
        if self.state_map is None:
            raise ValueError(f"{self.machine_id}: no state map configured")
        state = self.state_map.map.get(raw)
        if state is None:
            self._publish_state(self.state_map.unmapped, f"unmapped:{raw}")
        else:
            self._publish_state(state, None)

    def offline(self, reason: str) -> None:
        """The PLC cannot be read: the machine's state is unknown from here on."""
        self._publish_state(MachineState.OFFLINE, reason[:64])

    def _publish_state(self, state: MachineState, reason: str | None) -> None:
        if self._state == (state, reason):
            return
        payload = MachineStatePayload(machine_id=self.machine_id, state=state, reason_code=reason)
        self.agent.publish(self.agent.new_event(MachineStateEvent, payload), self.machine_id)
        self._state = (state, reason)
        self.stats.state += 1

    # -- counters -----------------------------------------------------------------------------------
    def counters(self, good: int, scrap: int) -> None:
        if (good, scrap) != self._counters:
            self._publish_counters(good, scrap)

    def _publish_counters(self, good: int, scrap: int) -> None:
        payload = MachineCounterPayload(machine_id=self.machine_id, good=good, scrap=scrap)
        self.agent.publish(self.agent.new_event(MachineCounterEvent, payload), self.machine_id)
        self._counters = (good, scrap)
        self._counters_at = self._clock()
        self.stats.counter += 1

    # -- process values -----------------------------------------------------------------------------
    def process(self, values: Mapping[str, float]) -> None:
        changed = {
            name: value
            for name, value in values.items()
            if name not in self._process or abs(value - self._process[name]) > self.process_specs[name].deadband
        }
        if changed:
            self._publish_process(changed)

    def _publish_process(self, values: Mapping[str, float]) -> None:
        items = [ProcessValue(name=n, value=v, unit=self.process_specs[n].unit) for n, v in sorted(values.items())]
        payload = MachineProcessPayload(machine_id=self.machine_id, values=items)
        self.agent.publish(self.agent.new_event(MachineProcessEvent, payload), self.machine_id)
        self._process.update(values)
        self._process_at = self._clock()
        self.stats.process += 1

    # -- heartbeat ----------------------------------------------------------------------------------
    def heartbeat(self) -> None:
        """Re-publish counters and process values that have been quiet for ``heartbeat_s``."""
        now = self._clock()
        if self._counters is not None and now - self._counters_at >= self.heartbeat_s:
            self._publish_counters(*self._counters)
        if self._process and now - self._process_at >= self.heartbeat_s:
            self._publish_process(dict(self._process))


def channel_for(agent: EdgeAgent, machine: MachineConfig, source: ModbusSource | OpcUaSource) -> MachineChannel:
    """The channel of a machine read through ``source``: its state map, process units and deadbands."""
    return MachineChannel(
        agent,
        machine.machine_id,
        heartbeat_s=machine.heartbeat_s,
        state_map=source.state,
        process={p.name: ProcessSpec(p.unit, p.deadband) for p in source.process},
    )
