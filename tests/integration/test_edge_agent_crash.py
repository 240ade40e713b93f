"""kill -9 of an agent process in mid-flight, then a restart on the same outbox: nothing is lost."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import pytest

from edge.agent.collector import MqttCollector, Received
from shopfloor.events import NodeBirthEvent, NodeDeathEvent
from shopfloor.settings import PROJECT_ROOT, MqttSettings
from shopfloor.topics import line_prefix

pytestmark = pytest.mark.integration

NODE = "gen-crash"


class LoadgenProcess:
    """``python -m edge.agent.loadgen`` with its committed event ids read from stdout as they come."""

    def __init__(self, settings: MqttSettings, queue: Path, count: int, batch: int) -> None:
        env = os.environ | {
            "SHOPFLOOR_MQTT_HOST": settings.host,
            "SHOPFLOOR_MQTT_PORT": str(settings.port),
            "SHOPFLOOR_MQTT_ENTERPRISE": settings.enterprise,
            "SHOPFLOOR_MQTT_SITE": settings.site,
        }
        cmd = [sys.executable, "-m", "edge.agent.loadgen", "--node-id", NODE, "--queue", str(queue)]
        cmd += ["--count", str(count), "--batch", str(batch)]
        self.proc = subprocess.Popen(cmd, env=env, cwd=PROJECT_ROOT, stdout=subprocess.PIPE, text=True)
        self.committed: list[tuple[uuid.UUID, int]] = []
        self.done = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith("ID "):
                _, event_id, seq = line.split()
                self.committed.append((uuid.UUID(event_id), int(seq)))
            elif line.startswith("DONE"):
                self.done.set()

    def finish(self, *, kill: bool) -> int:
        if kill:
            self.proc.kill()
        code = self.proc.wait(timeout=120)
        self._reader.join(10)
        assert self.proc.stdout is not None
        self.proc.stdout.close()
        return code


def _counters(messages: list[Received]) -> list[Received]:
    return [m for m in messages if m.topic.endswith("/counter")]


def test_kill_9_in_mid_flight_then_restart_delivers_every_event_in_order(
    mqtt_settings: MqttSettings, tmp_path: Path
) -> None:
    queue = tmp_path / "outbox.db"
    prefix = line_prefix(mqtt_settings.enterprise, mqtt_settings.site, "area1", "line1")
    with MqttCollector(mqtt_settings, f"{prefix}/#") as sub:
        first = LoadgenProcess(mqtt_settings, queue, count=30_000, batch=500)
        # Kill while the sender is still far behind what was committed.
        assert sub.wait_for(lambda ms: len(_counters(ms)) >= 1500, timeout=60)
        assert first.finish(kill=True) == -9
        killed_with = len(first.committed)
        arrived_before_restart = len(_counters(sub.snapshot()))

        second = LoadgenProcess(mqtt_settings, queue, count=200, batch=100)
        assert second.done.wait(120), "restarted agent did not drain its outbox"
        assert second.finish(kill=False) == 0

        expected = {event_id for event_id, _ in first.committed + second.committed}
        assert sub.wait_for(lambda ms: expected <= {m.event().event_id for m in _counters(ms)}, timeout=60)
        messages = sub.snapshot()

    assert killed_with > arrived_before_restart, "the kill did not happen in mid-flight"
    births = [(i, m.event()) for i, m in enumerate(messages) if m.topic.endswith(f"/{NODE}/birth")]
    assert len(births) == 2
    second_birth_at, second_birth = births[1]
    assert isinstance(second_birth, NodeBirthEvent)
    # seq is monotonic across the restart: the new incarnation starts above everything before.
    assert second_birth.payload.seq_start > max(seq for _, seq in first.committed)
    assert min(seq for _, seq in second.committed) > second_birth.payload.seq_start
    assert second_birth.payload.metrics["queued"] > 0  # it came back with a backlog

    seen: set[uuid.UUID] = set()
    seqs_in_order: list[int] = []
    replayed = 0
    for index, message in enumerate(messages):
        if not message.topic.endswith("/counter"):
            continue
        event = message.event()
        # Seq tells the incarnations apart, also for a batch committed but not yet printed at the kill.
        if index > second_birth_at and event.seq < second_birth.payload.seq_start:
            assert event.historical, f"replayed event {event.event_id} not marked historical"
            replayed += 1
        elif event.event_id in seen:
            pytest.fail(f"duplicate {event.event_id} outside the replay")
        else:
            assert not event.historical
        if event.event_id not in seen:
            seen.add(event.event_id)
            seqs_in_order.append(event.seq)
    assert replayed > 0
    deaths = [m.event() for m in messages if m.topic.endswith(f"/{NODE}/death")]
    # The will of the killed process (sent by the broker), then the graceful death of the restart.
    assert [d.payload.reason for d in deaths if isinstance(d, NodeDeathEvent)] == [
        "connection lost",
        "graceful shutdown",
    ]

    # The birth is retained: a subscriber arriving later learns the node's latest incarnation.
    with MqttCollector(mqtt_settings, f"{prefix}/{NODE}/birth") as late:
        assert late.wait_for(lambda ms: len(ms) >= 1, timeout=10)
        assert late.snapshot()[0].retain
        assert late.snapshot()[0].event().event_id == second_birth.event_id
    assert seqs_in_order == sorted(seqs_in_order), "per-source order broken after removing duplicates"
    assert len(seqs_in_order) == len(set(seqs_in_order))
