"""Modbus TCP polling (pymodbus async client) into a machine channel."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from typing import Final

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException

from edge.agent import EdgeAgent
from edge.plc.channel import channel_for
from edge.plc.config import MachineConfig, ModbusSource, RegisterSpec
from edge.plc.decode import decode

log = logging.getLogger(__name__)

MAX_READ: Final = 125  # registers per read request (Modbus limit)

Address = tuple[str, int]  # (table, register)


def read_plan(specs: list[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
    """Merge (table, start, count) needs into as few reads of at most MAX_READ registers as possible."""
    plan: list[tuple[str, int, int]] = []
    for table, start, count in sorted(set(specs)):
        if plan and plan[-1][0] == table and start + count - plan[-1][1] <= MAX_READ:
            _, last_start, last_count = plan[-1]
            plan[-1] = (table, last_start, max(last_count, start + count - last_start))
        else:
            plan.append((table, start, count))
    return plan


class ModbusPoller:
    def __init__(self, agent: EdgeAgent, machine: MachineConfig) -> None:
        if machine.modbus is None:
            raise ValueError(f"{machine.machine_id} has no modbus source")
        self.machine = machine
        self.source: ModbusSource = machine.modbus
        self.channel = channel_for(agent, machine, self.source)
        needs: list[tuple[str, int, int]] = []
        if self.source.state is not None:
            needs.append((self.source.state.table, self.source.state.address, 1))
        specs: list[RegisterSpec] = list(self.source.process)
        if self.source.counters is not None:
            specs += [self.source.counters.good, self.source.counters.scrap]
        needs += [(s.table, s.address, s.count) for s in specs]
        self.plan = read_plan(needs)
        self.polls = 0
        self.errors = 0

    async def run(self, stop: asyncio.Event) -> None:
        """Poll every ``poll_interval_s`` until ``stop`` is set; unreachable PLC -> state OFFLINE."""
        src = self.source
        client = AsyncModbusTcpClient(src.host, port=src.port, timeout=src.timeout_s, retries=0)
        try:
            while not stop.is_set():
                try:
                    if not client.connected and not await client.connect():
                        raise ConnectionError(f"cannot connect to {src.host}:{src.port}")
                    await self.poll_once(client)
                    self.channel.heartbeat()
                except (ModbusException, ConnectionError, OSError, TimeoutError) as exc:
                    self.errors += 1
                    log.warning("%s: modbus read failed: %s", self.machine.machine_id, exc)
                    self.channel.offline("plc unreachable")
                    client.close()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), src.poll_interval_s)
        finally:
            client.close()

    async def poll_once(self, client: AsyncModbusTcpClient) -> None:
        registers: dict[Address, int] = {}
        for table, start, count in self.plan:
            read = client.read_holding_registers if table == "holding" else client.read_input_registers
            response = await read(start, count=count, device_id=self.source.unit_id)
            if response.isError():
                raise ModbusException(f"{table} registers {start}..{start + count - 1}: {response}")
            registers.update({(table, start + i): value for i, value in enumerate(response.registers)})
        self.polls += 1

        def words(spec: RegisterSpec) -> list[int]:
            return [registers[(spec.table, spec.address + i)] for i in range(spec.count)]

        src = self.source
        if src.state is not None:
            self.channel.state_raw(registers[(src.state.table, src.state.address)])
        if src.counters is not None:
            good, scrap = (
                decode(words(src.counters.good), src.counters.good),
                decode(words(src.counters.scrap), src.counters.scrap),
            )
            self.channel.counters(int(good), int(scrap))
        values = {p.name: decode(words(p), p) * p.scale + p.offset for p in src.process}
        # A float register holding NaN/inf is a sensor fault, not a process value.
        finite = {name: float(v) for name, v in values.items() if math.isfinite(v)}
        if finite:
            self.channel.process(finite)
