"""Durability as documented: the PLC gateway's state, counters (and scans) are fsynced at commit (FULL), its
process values may ride on NORMAL commits, and seq reservations are always fsynced."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.agent import EdgeAgent
from edge.buffer import MessageClass, OutboxQueue
from edge.buffer.queue import OutboxItem
from edge.plc.config import GatewayConfig
from edge.plc.gateway import make_agent
from shopfloor.settings import MqttSettings

pytestmark = pytest.mark.unit


def _commit_levels(queue: OutboxQueue) -> list[int]:
    """Record SQLite's synchronous level (1 NORMAL, 2 FULL) in force at each COMMIT the queue makes."""
    levels: list[int] = []
    db = queue._db

    def trace(statement: str) -> None:
        if statement.strip().upper() == "COMMIT":
            levels.append(int(db.execute("PRAGMA synchronous").fetchone()[0]))

    db.set_trace_callback(trace)
    return levels


def _gateway(tmp_path: Path) -> EdgeAgent:
    config = GatewayConfig.model_validate(
        {
            "node_id": "plc-1",
            "area": "heading",
            "line": "L1",
            "queue": str(tmp_path / "plc.db"),
            "machines": [
                {
                    "machine_id": "H1",
                    "modbus": {"host": "127.0.0.1", "port": 502, "state": {"address": 0, "map": {1: "RUNNING"}}},
                }
            ],
        }
    )
    return make_agent(config, MqttSettings())


def test_plc_gateway_fsyncs_state_and_counters_not_process_values(tmp_path: Path) -> None:
    agent = _gateway(tmp_path)
    queue = agent.queue
    try:
        levels = _commit_levels(queue)
        queue.put("t/counter", b"c", MessageClass.TELEMETRY)
        queue.put("t/process", b"p", MessageClass.PROCESS)
        queue.put_many(
            [OutboxItem("t/process", b"p", MessageClass.PROCESS), OutboxItem("t/state", b"s", MessageClass.TELEMETRY)]
        )
        queue.put("t/wo", b"w", MessageClass.SCAN)
        assert levels == [2, 1, 2, 2]
    finally:
        agent.close()


def test_seq_reservation_is_fsynced_even_on_a_normal_queue(tmp_path: Path) -> None:
    queue = OutboxQueue(tmp_path / "q.db")
    try:
        db = queue._db
        seen: list[int] = []

        def trace(statement: str) -> None:
            if "seq_reserved" in statement:
                seen.append(int(db.execute("PRAGMA synchronous").fetchone()[0]))

        db.set_trace_callback(trace)
        queue.next_seq()
        assert seen == [2]
        db.set_trace_callback(None)
        levels = _commit_levels(queue)
        queue.put("t/process", b"p", MessageClass.PROCESS)
        assert levels == [1]  # the queue's own level again after the reservation
    finally:
        queue.close()
