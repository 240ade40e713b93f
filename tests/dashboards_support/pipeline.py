"""The real pipeline behind the dashboards: simulator and edge agent -> MQTT -> bridge -> Kafka -> raw sink and
utilization processors -> PostgreSQL, each processor a ``shopfloor`` process of its own.

:class:`PipelineFeed` offers what :class:`tests.dashboards_support.writer.FixtureFeed` offers
(``set_machine_state``, ``start``, ``stop``), but a state goes out over MQTT from an :class:`EdgeAgent`
and ``stop`` kills the stream processors. The benchmark uses it too.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from edge.agent import EdgeAgent
from edge.bridge.testing import BridgeProcess, settings_env
from edge.sim.config import Behaviour, SimConfig
from edge.sim.runner import SimRunner
from shopfloor.events import MachineState, MachineStateEvent, MachineStatePayload, NodeKind
from shopfloor.plant import Plant
from shopfloor.settings import KafkaSettings, MqttSettings, PostgresSettings
from tests.fixtures.stack import unique_name


def processor_env(mqtt: MqttSettings, kafka: KafkaSettings, pg: PostgresSettings, state_dir: Path) -> dict[str, str]:
    """What makes a ``shopfloor`` child process use this test's servers, topics, schema and directories."""
    env = settings_env(mqtt, kafka)
    for name, value in pg.model_dump(mode="json").items():
        if value is not None:
            env["SHOPFLOOR_PG_" + name.upper()] = str(value)
    env["SHOPFLOOR_PG_PASSWORD"] = pg.password.get_secret_value()
    env |= {
        "SHOPFLOOR_STREAMS_RAW_GROUP_ID": unique_name("raw-"),
        "SHOPFLOOR_STREAMS_RAW_METRICS_PORT": "0",
        "SHOPFLOOR_STREAMS_UTILIZATION_METRICS_PORT": "0",
        "SHOPFLOOR_STREAMS_RECOVERY_DIR": str(state_dir / "recovery"),
        "SHOPFLOOR_STREAMS_SNAPSHOT_INTERVAL_S": "2",
        "SHOPFLOOR_STREAMS_BACKUP_INTERVAL_S": "0",
        "SHOPFLOOR_STREAMS_LATENESS_S": "5",
        "PYTHONUNBUFFERED": "1",
    }
    return env


class Processor:
    """One ``shopfloor streams ... run`` process, its output appended to a log file."""

    def __init__(self, args: list[str], env: dict[str, str], log_path: Path) -> None:
        self.args = args
        self.env = env
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        exe = Path(sys.executable).with_name("shopfloor")
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen([str(exe), *self.args], env=self.env, stdout=log, stderr=subprocess.STDOUT)

    def stop(self, sig: signal.Signals) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def check_alive(self) -> None:
        if self.process is not None and self.process.poll() is not None:
            tail = self.log_path.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"{' '.join(self.args)} exited with {self.process.returncode}:\n{tail}")


class PipelineFeed:
    """The simulated plant and the real processors; ``set_machine_state`` publishes over MQTT."""

    def __init__(
        self,
        plant: Plant,
        mqtt: MqttSettings,
        kafka: KafkaSettings,
        pg: PostgresSettings,
        state_dir: Path,
        *,
        speed: float = 12.0,
        behind: timedelta = timedelta(minutes=16),
    ) -> None:
        self.plant = plant
        self.pg = pg
        self.mqtt = mqtt
        self.state_dir = state_dir
        env = processor_env(mqtt, kafka, pg, state_dir)
        self.bridge = BridgeProcess(mqtt, kafka, state_dir / "bridge.log", "--bridge-id", unique_name("dash-"))
        self.raw = Processor(["streams", "raw", "run"], env, state_dir / "raw.log")
        self.utilization = Processor(["streams", "utilization", "run"], env, state_dir / "utilization.log")
        # Accelerated and started in the past: minutes close every few real seconds, and the simulated
        # clock stays behind the wall clock (the core dead-letters events from the future) for a while.
        self.sim_config = SimConfig(
            seed=17,
            start=datetime.now(UTC).replace(microsecond=0) - behind,
            duration=timedelta(hours=1),
            speed=speed,
            behaviour=Behaviour(random_failures=False),
        )
        self._sim_stop = threading.Event()
        self._sim: threading.Thread | None = None
        self._agents: dict[str, EdgeAgent] = {}

    # --- the plant ----------------------------------------------------------------------------------

    def start_plant(self) -> None:
        """The bridge, then the simulator publishing in the background."""
        self.bridge.start()
        runner = SimRunner(self.plant, self.sim_config, self.mqtt, self.state_dir / "sim-outbox", flush_timeout_s=2.0)
        self._sim = threading.Thread(target=runner.run, args=(self._sim_stop,), name="dash-sim", daemon=True)
        self._sim.start()

    def stop_plant(self) -> None:
        """The simulated plant falls silent (the bridge and the processors keep running)."""
        self._sim_stop.set()
        if self._sim is not None:
            self._sim.join(timeout=40)
            self._sim = None

    def _agent(self, machine_id: str) -> EdgeAgent:
        for ws in self.plant.workshops:
            for line in ws.lines:
                if any(m.id == machine_id for m in line.machines):
                    key = f"{ws.id}/{line.id}"
                    if key not in self._agents:
                        agent = EdgeAgent(
                            f"gw-{line.id}",
                            NodeKind.PLC_GATEWAY,
                            ws.id,
                            line.id,
                            self.mqtt,
                            self.state_dir / f"gw-{line.id}.sqlite",
                        )
                        agent.start()
                        if not agent.wait_connected(15):
                            raise RuntimeError(f"edge agent for {key} did not connect")
                        self._agents[key] = agent
                    return self._agents[key]
        raise KeyError(machine_id)

    def set_machine_state(self, machine_id: str, state: str, reason: str | None = None) -> float:
        """Publish a machine.state now from the machine's gateway; returns the wall time (s) it was sent."""
        agent = self._agent(machine_id)
        payload = MachineStatePayload(machine_id=machine_id, state=MachineState(state), reason_code=reason)
        event = agent.new_event(MachineStateEvent, payload, datetime.now(UTC))
        sent = time.time()
        agent.publish(event, machine_id)
        return sent

    # --- the processors -----------------------------------------------------------------------------

    def start(self) -> None:
        self.raw.start()
        self.utilization.start()

    def stop(self) -> None:
        """What a crash and an operator's stop do: the raw sink SIGKILLed, the utilization flow SIGTERMed."""
        self.raw.stop(signal.SIGKILL)
        self.utilization.stop(signal.SIGTERM)

    def check_alive(self) -> None:
        self.raw.check_alive()
        self.utilization.check_alive()

    def close(self) -> None:
        self.stop_plant()
        for agent in self._agents.values():
            agent.close(flush_timeout=1.0)
        self.stop()
        self.bridge.__exit__(None, None, None)

    def logs(self) -> str:
        out = []
        for name in ("bridge.log", "raw.log", "utilization.log"):
            path = self.state_dir / name
            if path.exists():
                out.append(f"--- {name}\n{path.read_text(errors='replace')[-2000:]}")
        return "\n".join(out)
