"""The PLC gateway against a real pymodbus TCP server; events checked as they arrive over MQTT."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from edge.agent.collector import MqttCollector, Received
from edge.plc.config import GatewayConfig, RegisterSpec
from edge.plc.decode import encode
from edge.plc.gateway import PlcGateway, make_agent
from edge.plc.modbus import ModbusPoller
from shopfloor.settings import MqttSettings
from shopfloor.stack.process import free_port
from shopfloor.topics import line_prefix

pytestmark = pytest.mark.integration

UNIT_ID = 1
GOOD = RegisterSpec.model_validate({"address": 10, "type": "uint32", "word_order": "little"})
SCRAP = RegisterSpec.model_validate({"address": 12, "type": "uint32", "byte_order": "little"})
FORCE = RegisterSpec.model_validate({"address": 21, "type": "float32", "word_order": "little"})
PRESSURE = RegisterSpec.model_validate({"address": 23, "type": "int32", "table": "input"})


def gateway_config(port: int) -> GatewayConfig:
    machine = {
        "machine_id": "H1",
        "heartbeat_s": 1.0,
        "modbus": {
            "host": "127.0.0.1",
            "port": port,
            "unit_id": UNIT_ID,
            "poll_interval_s": 0.1,
            "timeout_s": 1.0,
            "state": {"address": 0, "map": {1: "RUNNING", 2: "IDLE", 4: "FAULT"}},
            "counters": {"good": GOOD.model_dump(), "scrap": SCRAP.model_dump()},
            "process": [
                {"name": "oil_temp", "address": 20, "type": "int16", "scale": 0.1, "offset": -5, "unit": "degC"},
                {"name": "force", **FORCE.model_dump(), "unit": "kN"},
                {"name": "pressure", **PRESSURE.model_dump(), "scale": 0.001, "unit": "bar"},
            ],
        },
    }
    return GatewayConfig.model_validate({"node_id": "plc-mb", "area": "heading", "line": "L1", "machines": [machine]})


async def eventually(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    for _ in range(int(timeout / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


def payloads(sub: MqttCollector, kind: str) -> list[dict[str, Any]]:
    received: list[Received] = [m for m in sub.snapshot() if m.topic.endswith(f"/H1/{kind}")]
    return [getattr(m.event(), "payload").model_dump(mode="json") for m in received]  # noqa: B009


def test_gateway_decodes_maps_and_publishes_on_change_plus_heartbeat(
    mqtt_settings: MqttSettings, tmp_path: Path
) -> None:
    asyncio.run(_scenario(mqtt_settings, tmp_path))


async def _scenario(mqtt_settings: MqttSettings, tmp_path: Path) -> None:
    port = free_port()
    device = SimDevice(id=UNIT_ID, simdata=[SimData(0, count=64, values=0, datatype=DataType.REGISTERS)])
    server = ModbusTcpServer(device, address=("127.0.0.1", port))
    await server.serve_forever(background=True)

    async def write(address: int, values: list[int]) -> None:
        assert await server.context.async_setValues(UNIT_ID, 16, address, values) is None

    await write(0, [1])
    await write(GOOD.address, encode(70_000, GOOD))
    await write(SCRAP.address, encode(3, SCRAP))
    await write(20, [0xFF85])  # int16 -123
    await write(FORCE.address, encode(12.5, FORCE))
    await write(PRESSURE.address, encode(-250_000, PRESSURE))

    config = gateway_config(port)
    agent = make_agent(config, mqtt_settings, tmp_path / "q.db")
    gateway = PlcGateway(config, agent)
    poller = gateway.sources["H1"]
    assert isinstance(poller, ModbusPoller)
    stop = asyncio.Event()
    prefix = line_prefix(mqtt_settings.enterprise, mqtt_settings.site, "heading", "L1")
    with MqttCollector(mqtt_settings, f"{prefix}/H1/#") as sub:
        agent.start()
        running = asyncio.create_task(gateway.run(stop))
        try:
            await eventually(
                lambda: bool(payloads(sub, "state") and payloads(sub, "counter") and payloads(sub, "process"))
            )
            assert payloads(sub, "state") == [{"machine_id": "H1", "state": "RUNNING", "reason_code": None}]
            assert payloads(sub, "counter")[0] == {"machine_id": "H1", "good": 70_000, "scrap": 3}
            values = {v["name"]: (v["value"], v["unit"]) for v in payloads(sub, "process")[0]["values"]}
            assert values == {
                "oil_temp": (pytest.approx(-17.3), "degC"),
                "force": (12.5, "kN"),
                "pressure": (pytest.approx(-250.0), "bar"),
            }

            await write(0, [2])
            await write(GOOD.address, encode(70_010, GOOD))
            await eventually(lambda: len(payloads(sub, "state")) == 2)
            await eventually(lambda: {"machine_id": "H1", "good": 70_010, "scrap": 3} in payloads(sub, "counter"))
            assert payloads(sub, "state")[1]["state"] == "IDLE"

            await write(0, [7])  # a state word the map does not know
            await eventually(lambda: len(payloads(sub, "state")) == 3)
            assert payloads(sub, "state")[2] == {"machine_id": "H1", "state": "FAULT", "reason_code": "unmapped:7"}

            # Nothing changes now: only heartbeats, about one per second against ten polls per second.
            before, polls_before = len(payloads(sub, "counter")), poller.polls
            await eventually(lambda: len(payloads(sub, "counter")) >= before + 2)
            heartbeats = len(payloads(sub, "counter")) - before
            assert poller.polls - polls_before >= 2 * heartbeats  # publishing every poll would give 1:1
            assert payloads(sub, "counter")[-1] == {"machine_id": "H1", "good": 70_010, "scrap": 3}
            assert len(payloads(sub, "state")) == 3  # state goes out on change only

            await server.shutdown()  # the PLC goes away
            await eventually(lambda: payloads(sub, "state")[-1]["state"] == "OFFLINE")
            assert payloads(sub, "state")[-1]["reason_code"] == "plc unreachable"

            # The PLC comes back (same port, fresh memory): polling resumes, the state is published again.
            server = ModbusTcpServer(device, address=("127.0.0.1", port))
            await server.serve_forever(background=True)
            await write(0, [1])
            await eventually(lambda: payloads(sub, "state")[-1]["state"] == "RUNNING")
        finally:
            stop.set()
            await asyncio.wait_for(running, 10)
            await server.shutdown()
            agent.close()


def test_plc_run_command_publishes_and_stops_gracefully_on_sigterm(mqtt_settings: MqttSettings, tmp_path: Path) -> None:
    asyncio.run(_command_scenario(mqtt_settings, tmp_path))


async def _command_scenario(mqtt_settings: MqttSettings, tmp_path: Path) -> None:
    port = free_port()
    device = SimDevice(id=UNIT_ID, simdata=[SimData(0, count=64, values=0, datatype=DataType.REGISTERS)])
    server = ModbusTcpServer(device, address=("127.0.0.1", port))
    await server.serve_forever(background=True)
    await server.context.async_setValues(UNIT_ID, 16, 0, [4])
    config_file = tmp_path / "gateway.yaml"
    config_file.write_text(yaml.safe_dump(gateway_config(port).model_dump(mode="json")))
    env = os.environ | {
        "SHOPFLOOR_MQTT_ENTERPRISE": mqtt_settings.enterprise,
        "SHOPFLOOR_MQTT_PORT": str(mqtt_settings.port),
    }
    shopfloor = str(Path(sys.executable).with_name("shopfloor"))
    prefix = line_prefix(mqtt_settings.enterprise, mqtt_settings.site, "heading", "L1")
    with MqttCollector(mqtt_settings, f"{prefix}/#") as sub:
        proc = await asyncio.create_subprocess_exec(
            shopfloor, "plc", "run", "--config", str(config_file), "--queue", str(tmp_path / "q.db"),
            env=env, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        try:
            await eventually(lambda: bool(payloads(sub, "state")), timeout=30)
            assert payloads(sub, "state")[0]["state"] == "FAULT"
            proc.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(proc.wait(), 30) == 0
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
            await server.shutdown()
        await eventually(lambda: any(m.topic.endswith("/plc-mb/death") for m in sub.snapshot()))
    death = next(m for m in sub.snapshot() if m.topic.endswith("/plc-mb/death")).event()
    assert getattr(death, "payload").reason == "graceful shutdown"  # noqa: B009
