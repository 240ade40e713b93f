"""The PLC gateway subscribed to a real asyncua server; events checked as they arrive over MQTT."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from asyncua import ua
from asyncua.server.server import Server

from edge.agent.collector import MqttCollector
from edge.plc.config import GatewayConfig
from edge.plc.gateway import PlcGateway, make_agent
from edge.plc.opcua import OpcUaSubscriber
from shopfloor.settings import MqttSettings
from shopfloor.stack.process import free_port
from shopfloor.topics import line_prefix
from tests.integration.test_plc_modbus import eventually

pytestmark = pytest.mark.integration


def gateway_config(endpoint: str, ns: int) -> GatewayConfig:
    def node(name: str) -> str:
        return f"ns={ns};s=H2.{name}"

    machine = {
        "machine_id": "H2",
        "heartbeat_s": 1.0,
        "opcua": {
            "endpoint": endpoint,
            "publishing_interval_ms": 50,
            "reconnect_s": 0.5,
            "state": {"node_id": node("State"), "map": {1: "RUNNING", 3: "SETUP"}},
            "counters": {"good": {"node_id": node("Good")}, "scrap": {"node_id": node("Scrap")}},
            "process": [
                {"name": "speed", "node_id": node("Speed"), "unit": "spm"},
                {"name": "oil_temp", "node_id": node("Temp"), "scale": 0.1, "offset": -2, "unit": "degC"},
            ],
        },
    }
    return GatewayConfig.model_validate({"node_id": "plc-ua", "area": "heading", "line": "L2", "machines": [machine]})


def payloads(sub: MqttCollector, kind: str) -> list[dict[str, Any]]:
    received = [m for m in sub.snapshot() if m.topic.endswith(f"/H2/{kind}")]
    return [getattr(m.event(), "payload").model_dump(mode="json") for m in received]  # noqa: B009


def process_values(sub: MqttCollector) -> list[dict[str, float]]:
    return [{v["name"]: v["value"] for v in p["values"]} for p in payloads(sub, "process")]


def test_opcua_data_changes_become_events(mqtt_settings: MqttSettings, tmp_path: Path) -> None:
    asyncio.run(_scenario(mqtt_settings, tmp_path))


async def plc_server(endpoint: str, state: int) -> tuple[Server, int, dict[str, Any]]:
    """A started OPC UA server with a press H2: state, counters and two process values."""
    server = Server()
    await server.init()
    server.set_endpoint(endpoint)
    ns = await server.register_namespace("urn:shopfloor:test")
    press = await server.nodes.objects.add_object(ns, "H2")
    variables = {
        name: await press.add_variable(ua.NodeId(f"H2.{name}", ns), name, ua.Variant(value, kind))
        for name, value, kind in (
            ("State", state, ua.VariantType.UInt16),
            ("Good", 500, ua.VariantType.UInt32),
            ("Scrap", 4, ua.VariantType.UInt32),
            ("Speed", 80.0, ua.VariantType.Double),
            ("Temp", 455, ua.VariantType.Int16),
        )
    }
    await server.start()
    return server, ns, variables


async def _scenario(mqtt_settings: MqttSettings, tmp_path: Path) -> None:
    endpoint = f"opc.tcp://127.0.0.1:{free_port()}/shopfloor/"
    server, ns, variables = await plc_server(endpoint, state=1)
    server_up = True

    async def write(name: str, value: float, kind: ua.VariantType) -> None:
        await variables[name].write_value(ua.Variant(value, kind))

    config = gateway_config(endpoint, ns)
    agent = make_agent(config, mqtt_settings, tmp_path / "q.db")
    gateway = PlcGateway(config, agent)
    subscriber = gateway.sources["H2"]
    assert isinstance(subscriber, OpcUaSubscriber)
    stop = asyncio.Event()
    prefix = line_prefix(mqtt_settings.enterprise, mqtt_settings.site, "heading", "L2")
    with MqttCollector(mqtt_settings, f"{prefix}/H2/#") as sub:
        agent.start()
        running = asyncio.create_task(gateway.run(stop))
        try:
            await eventually(lambda: len(payloads(sub, "counter")) >= 1 and len(process_values(sub)) >= 2)
            assert payloads(sub, "state") == [{"machine_id": "H2", "state": "RUNNING", "reason_code": None}]
            assert payloads(sub, "counter")[0] == {"machine_id": "H2", "good": 500, "scrap": 4}
            merged = {k: v for p in process_values(sub) for k, v in p.items()}
            assert merged == {"speed": 80.0, "oil_temp": pytest.approx(43.5)}  # 455 * 0.1 - 2

            await write("State", 3, ua.VariantType.UInt16)
            await write("Scrap", 5, ua.VariantType.UInt32)
            await write("Speed", 95.5, ua.VariantType.Double)
            await eventually(lambda: len(payloads(sub, "state")) == 2)
            assert payloads(sub, "state")[1]["state"] == "SETUP"
            await eventually(lambda: {"machine_id": "H2", "good": 500, "scrap": 5} in payloads(sub, "counter"))
            await eventually(lambda: {"speed": 95.5} in process_values(sub))

            # Quiet: the heartbeat re-sends counters and all process values, state stays on change only.
            before = len(payloads(sub, "counter"))
            await eventually(lambda: len(payloads(sub, "counter")) >= before + 2)
            assert payloads(sub, "counter")[-1] == {"machine_id": "H2", "good": 500, "scrap": 5}
            assert process_values(sub)[-1] == {"speed": 95.5, "oil_temp": pytest.approx(43.5)}
            assert len(payloads(sub, "state")) == 2

            server_up = False
            await server.stop()  # the PLC goes away
            await eventually(lambda: payloads(sub, "state")[-1]["state"] == "OFFLINE", timeout=30)
            assert subscriber.connections == 1

            # Back again: the gateway re-subscribes and publishes the state it finds.
            server, ns, variables = await plc_server(endpoint, state=1)
            server_up = True
            await eventually(lambda: payloads(sub, "state")[-1]["state"] == "RUNNING", timeout=30)
            assert subscriber.connections == 2
        finally:
            stop.set()
            await asyncio.wait_for(running, 15)
            agent.close()
            if server_up:
                await server.stop()
