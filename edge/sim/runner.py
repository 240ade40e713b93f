"""The thin runner: paces the simulated stream against the clock and publishes it, one edge agent per line.

Simulated time ``t`` is delivered at real time ``t0 + (t - start) / speed``. Messages due at the same
moment go out per node in one outbox transaction (``publish_many``), so a flood or a fast replay does
not pay one commit per message. ``dry_run`` skips MQTT and the clock: the event log alone, as fast as the
model runs.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from edge.agent import EdgeAgent
from edge.sim.config import SimConfig
from edge.sim.eventlog import EventLog, topic_builder
from edge.sim.faults import event_type
from edge.sim.model import PlantSim
from edge.sim.stream import Emission
from edge.sim.troubles import apply_troubles
from shopfloor.events import EventBase, NodeKind
from shopfloor.plant import Plant
from shopfloor.settings import MqttSettings

# Sleeping for less than this costs more than it paces.
_MIN_SLEEP_S = 0.005
# When the model falls behind the clock (a big flood, a high speed) nothing waits: publish in batches anyway.
_MAX_BATCH = 1000


@dataclass
class RunSummary:
    events: Counter[str] = field(default_factory=Counter)
    troubles: Counter[str] = field(default_factory=Counter)
    malformed: Counter[str] = field(default_factory=Counter)
    published: int = 0
    shed: int = 0
    undelivered: int = 0
    wall_s: float = 0.0

    def add(self, emission: Emission) -> None:
        if emission.event is not None:
            self.events[event_type(emission.event)] += 1
        if emission.trouble is not None:
            self.troubles[emission.trouble] += 1
        if emission.malformed is not None:
            self.malformed[emission.malformed.fault] += 1

    def lines(self) -> list[str]:
        out = [f"published {self.published} messages in {self.wall_s:.1f} s"]
        out += [f"  {name:<16} {count:>8}" for name, count in sorted(self.events.items())]
        if self.troubles:
            out.append("troubles: " + ", ".join(f"{k}={v}" for k, v in sorted(self.troubles.items())))
        if self.malformed:
            out.append("malformed: " + ", ".join(f"{k}={v}" for k, v in sorted(self.malformed.items())))
        if self.shed or self.undelivered:
            out.append(f"shed by full outboxes: {self.shed}; not acknowledged at exit: {self.undelivered}")
        return out


class SimRunner:
    def __init__(
        self,
        plant: Plant,
        config: SimConfig,
        mqtt: MqttSettings,
        queue_dir: Path,
        *,
        event_log: Path | None = None,
        dry_run: bool = False,
        connect_timeout_s: float = 10.0,
        flush_timeout_s: float = 30.0,
        confirmed_delivery: bool = False,
        aliases: Mapping[str, str] | None = None,
    ) -> None:
        self.plant = plant
        self.confirmed_delivery = confirmed_delivery
        self.config = config
        self.mqtt = mqtt
        self.queue_dir = queue_dir
        self.event_log = event_log
        self.dry_run = dry_run
        self.connect_timeout_s = connect_timeout_s
        self.flush_timeout_s = flush_timeout_s
        self.agents: dict[str, EdgeAgent] = {}
        # Work-order ids the order hub gave the book's work orders (filled while the run goes on).
        self.aliases = aliases

    def run(self, stop: threading.Event | None = None) -> RunSummary:
        """Run to the end of the simulated span (or until ``stop`` is set); close every agent."""
        stop = stop or threading.Event()
        summary = RunSummary()
        started = time.monotonic()
        seq_source = None if self.dry_run else self._agent_seq
        sim = PlantSim(self.plant, self.config, seq_source=seq_source)
        nodes = {node_id: (node.area, node.line) for node_id, node in sim.nodes.items()}
        topic_of = topic_builder(self.mqtt.enterprise, self.mqtt.site, nodes)
        log = EventLog(self.event_log) if self.event_log else None
        try:
            if not self.dry_run:
                self._start_agents(sim)
            stream = apply_troubles(
                sim.emissions(),
                self.config.troubles,
                seed=self.config.seed,
                node_ids=sim.nodes,
                machine_ids=sorted(sim.machines),
            )
            pending: list[Emission] = []
            for emission in stream:
                if stop.is_set():
                    break
                # Late messages due after the end of the span go out at its end: the run keeps its length.
                due = (
                    started
                    + min(emission.at - self.config.start, self.config.duration).total_seconds() / self.config.speed
                )
                wait = due - time.monotonic()
                if (wait > _MIN_SLEEP_S or len(pending) >= _MAX_BATCH) and not self.dry_run:
                    self._publish(pending, summary)
                    pending.clear()
                    if wait > _MIN_SLEEP_S and stop.wait(wait):
                        break
                pending.append(emission)
                summary.add(emission)
                if log is not None:
                    log.write(emission, topic_of(emission))
            self._publish(pending, summary)
        finally:
            if log is not None:
                log.close()
            self._close_agents(summary)
            summary.wall_s = time.monotonic() - started
        return summary

    def _agent_seq(self, node_id: str) -> int:
        return self.agents[node_id].queue.next_seq()

    def _start_agents(self, sim: PlantSim) -> None:
        self.queue_dir.mkdir(parents=True, exist_ok=True)
        for node_id, node in sim.nodes.items():
            agent = EdgeAgent(
                node_id,
                NodeKind.SIMULATOR,
                node.area,
                node.line,
                self.mqtt,
                self.queue_dir / f"{node_id}.sqlite",
                confirmed_delivery=self.confirmed_delivery,
            )
            self.agents[node_id] = agent
            agent.start()
        deadline = time.monotonic() + self.connect_timeout_s
        for agent in self.agents.values():
            # Not fatal: the outbox keeps everything until the broker is reachable.
            agent.wait_connected(max(0.0, deadline - time.monotonic()))

    def _publish(self, emissions: list[Emission], summary: RunSummary) -> None:
        """Send in order; consecutive valid events of one node share an outbox transaction."""
        if self.dry_run:
            summary.published += len(emissions)
            return
        batch: list[tuple[str, list[Emission]]] = []
        for emission in emissions:
            joins = batch and batch[-1][0] == emission.node_id and batch[-1][1][0].event is not None
            if joins and emission.event is not None:
                batch[-1][1].append(emission)
            else:
                batch.append((emission.node_id, [emission]))
        for node_id, items in batch:
            agent = self.agents[node_id]
            bad = items[0].malformed
            if bad is not None:
                agent.publish_raw(bad.cell, bad.mqtt_kind, bad.payload)
                summary.published += 1
                continue
            kept = agent.publish_many([(self._aliased(e.event), e.cell) for e in items if e.event is not None])
            summary.published += kept
            summary.shed += len(items) - kept

    def _aliased(self, event: EventBase) -> EventBase:
        """The event with the hub's work-order id in place of the book's, when the hub gave one."""
        payload = getattr(event, "payload", None)
        wo_id = getattr(payload, "work_order_id", None)
        if self.aliases is None or payload is None or not isinstance(wo_id, str) or wo_id not in self.aliases:
            return event
        return event.model_copy(update={"payload": payload.model_copy(update={"work_order_id": self.aliases[wo_id]})})

    def _close_agents(self, summary: RunSummary) -> None:
        deadline = time.monotonic() + self.flush_timeout_s
        for agent in self.agents.values():
            agent.flush(max(0.0, deadline - time.monotonic()))
            summary.undelivered += agent.queued
            agent.close(flush_timeout=0.0)
        self.agents.clear()
