"""OPC UA data-change subscriptions (asyncua) into a machine channel."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from asyncua import ua
from asyncua.client.client import Client
from asyncua.common.node import Node
from asyncua.ua.uaerrors import UaError

from edge.agent import EdgeAgent
from edge.plc.channel import channel_for
from edge.plc.config import MachineConfig, OpcUaNode, OpcUaSource

log = logging.getLogger(__name__)

# What a monitored node feeds: ("state", None), ("good", None), ("scrap", None) or ("process", name).
Target = tuple[str, str | None]


class OpcUaSubscriber:
    def __init__(self, agent: EdgeAgent, machine: MachineConfig) -> None:
        if machine.opcua is None:
            raise ValueError(f"{machine.machine_id} has no opcua source")
        self.machine = machine
        self.source: OpcUaSource = machine.opcua
        self.channel = channel_for(agent, machine, self.source)
        self.targets: dict[ua.NodeId, tuple[Target, OpcUaNode | None]] = {}
        if self.source.state is not None:
            self.targets[ua.NodeId.from_string(self.source.state.node_id)] = (("state", None), None)
        if self.source.counters is not None:
            self.targets[ua.NodeId.from_string(self.source.counters.good.node_id)] = (
                ("good", None),
                self.source.counters.good,
            )
            self.targets[ua.NodeId.from_string(self.source.counters.scrap.node_id)] = (
                ("scrap", None),
                self.source.counters.scrap,
            )
        for p in self.source.process:
            self.targets[ua.NodeId.from_string(p.node_id)] = (("process", p.name), p)
        self._good: int | None = None
        self._scrap: int | None = None
        self.notifications = 0
        self.connections = 0

    async def run(self, stop: asyncio.Event) -> None:
        """Subscribe, and re-subscribe after a lost connection, until ``stop`` is set."""
        while not stop.is_set():
            lost = asyncio.Event()
            try:
                await self._session(stop, lost)
            except (OSError, TimeoutError, UaError, ConnectionError) as exc:
                log.warning("%s: OPC UA %s: %s", self.machine.machine_id, self.source.endpoint, exc)
            if stop.is_set():
                break
            self.channel.offline("plc unreachable")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.source.reconnect_s)

    async def _session(self, stop: asyncio.Event, lost: asyncio.Event) -> None:
        client = Client(self.source.endpoint, timeout=5)

        async def on_lost(_exc: Exception) -> None:
            lost.set()

        client.connection_lost_callback = on_lost
        async with client:
            subscription = await client.create_subscription(self.source.publishing_interval_ms, self)
            await subscription.subscribe_data_change([client.get_node(node_id) for node_id in self.targets])
            self.connections += 1
            tick = min(1.0, self.machine.heartbeat_s / 4)
            while not stop.is_set() and not lost.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), tick)
                self.channel.heartbeat()
            if lost.is_set():
                raise ConnectionError("connection lost")

    # asyncua calls this for every data change, on the event loop.
    def datachange_notification(self, node: Node, value: Any, _data: Any) -> None:
        entry = self.targets.get(node.nodeid)
        if entry is None or value is None:
            return
        self.notifications += 1
        (kind, name), spec = entry
        try:
            if kind == "state":
                self.channel.state_raw(int(value))
                return
            assert spec is not None
            scaled = float(value) * spec.scale + spec.offset
            if kind == "process" and name is not None:
                self.channel.process({name: scaled})
                return
            if kind == "good":
                self._good = int(scaled)
            else:
                self._scrap = int(scaled)
            if self._good is not None and self._scrap is not None:
                self.channel.counters(self._good, self._scrap)
        except (TypeError, ValueError) as exc:  # a value that does not fit the event model
            log.warning("%s: ignored %s = %r: %s", self.machine.machine_id, node.nodeid.to_string(), value, exc)
