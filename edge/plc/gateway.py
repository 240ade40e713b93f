"""The PLC gateway: every configured machine's source (Modbus poller or OPC UA subscriber) on one loop."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Final

from edge.agent import EdgeAgent
from edge.buffer import MessageClass
from edge.plc.config import GatewayConfig
from edge.plc.modbus import ModbusPoller
from edge.plc.opcua import OpcUaSubscriber
from shopfloor.events import NodeKind
from shopfloor.settings import PROJECT_ROOT, MqttSettings

Source = ModbusPoller | OpcUaSubscriber
PLC_FSYNC_CLASSES: Final = frozenset({MessageClass.TELEMETRY, MessageClass.SCAN})


class PlcGateway:
    def __init__(self, config: GatewayConfig, agent: EdgeAgent) -> None:
        self.config = config
        self.agent = agent
        self.sources: dict[str, Source] = {
            m.machine_id: ModbusPoller(agent, m) if m.modbus is not None else OpcUaSubscriber(agent, m)
            for m in config.machines
        }

    async def run(self, stop: asyncio.Event) -> None:
        await asyncio.gather(*(source.run(stop) for source in self.sources.values()))


def make_agent(config: GatewayConfig, mqtt: MqttSettings, queue: Path | None = None) -> EdgeAgent:
    path = queue or config.queue or PROJECT_ROOT / ".state" / "edge" / f"{config.node_id}.db"
    # State changes and counters survive a power cut (an fsync per commit holding one); process values
    # are sampled every few hundred ms, so those after the last fsync may be lost (the next sample follows).
    return EdgeAgent(
        config.node_id,
        NodeKind.PLC_GATEWAY,
        config.area,
        config.line,
        mqtt,
        path,
        queue_fsync_classes=PLC_FSYNC_CLASSES,
        confirmed_delivery=True,  # kept until the bridge confirms Kafka has it (a killed broker loses nothing)
    )


def run_gateway(config: GatewayConfig, mqtt: MqttSettings, queue: Path | None = None) -> None:
    """Run until SIGINT/SIGTERM, then close the agent gracefully (flush, death message)."""
    agent = make_agent(config, mqtt, queue)
    agent.start()

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await PlcGateway(config, agent).run(stop)

    try:
        asyncio.run(main())
    finally:
        agent.close()
