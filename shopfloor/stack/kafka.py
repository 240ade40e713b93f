"""Apache Kafka 3.9 as a native KRaft single node (broker and controller in one JVM).

The jars come from Maven Central (``infra/install.sh`` copies them to ``StackSettings.kafka_libs``);
the storage directory is formatted once with a fresh cluster id, then the broker runs detached with
its log in the state directory.
"""

from __future__ import annotations

import base64
import shlex
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Final

from confluent_kafka.admin import AdminClient

from shopfloor.settings import StackSettings
from shopfloor.stack.process import (
    StackError,
    kill,
    pid_alive,
    port_open,
    read_pid,
    spawn_detached,
    tail,
    terminate,
    wait_until,
)

# A controlled shutdown of a single node normally takes a few seconds; give it room on a busy box.
STOP_TIMEOUT_S: Final = 60.0
# A short-lived JVM (the storage tool) starts fastest with the client compiler only.
TOOL_JVM_FLAGS: Final = ("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC")


def server_properties(port: int, controller_port: int, data_dir: Path) -> str:
    """``server.properties`` of a single-node KRaft cluster on loopback."""
    props = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.voters": f"1@127.0.0.1:{controller_port}",
        "listeners": f"PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{port}",
        "controller.listener.names": "CONTROLLER",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "inter.broker.listener.name": "PLAINTEXT",
        "log.dirs": str(data_dir),
        "num.partitions": "6",
        # One node: every internal topic has a single replica.
        "offsets.topic.replication.factor": "1",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        # Fewer internal partitions than the default 50 make the first consumer group and the first
        # transaction quick on a 2-core machine.
        "offsets.topic.num.partitions": "10",
        "transaction.state.log.num.partitions": "10",
        "group.initial.rebalance.delay.ms": "0",
        # Topics are created deliberately (`shopfloor topics create`), never by a typo in a producer.
        "auto.create.topics.enable": "false",
    }
    return "".join(f"{key}={value}\n" for key, value in props.items())


def log4j_properties(log_file: Path) -> str:
    return (
        "log4j.rootLogger=INFO, file\n"
        "log4j.appender.file=org.apache.log4j.FileAppender\n"
        f"log4j.appender.file.File={log_file}\n"
        "log4j.appender.file.layout=org.apache.log4j.PatternLayout\n"
        "log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n\n"
        # The controller and request loggers are chatty at INFO and fill the disk of a long demo.
        "log4j.logger.kafka.request.logger=WARN\n"
        "log4j.logger.state.change.logger=WARN\n"
        "log4j.logger.org.apache.kafka.controller=WARN\n"
    )


def new_cluster_id() -> str:
    """A Kafka cluster id: 16 random bytes, URL-safe base64 without padding (as kafka-storage makes).

    Like Kafka's own ``Uuid.randomUuid``, never one starting with "-": command lines take it for an option.
    """
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not cluster_id.startswith("-"):
            return cluster_id


class KafkaServer:
    name: Final = "kafka"

    def __init__(self, settings: StackSettings) -> None:
        self.settings = settings
        self.port = settings.kafka_port
        self.dir = Path(settings.state_dir).resolve() / "kafka"
        self.data_dir = self.dir / "data"
        self.properties = self.dir / "server.properties"
        self.log4j = self.dir / "log4j.properties"
        self.log_file = self.dir / "server.log"
        self.stdout_file = self.dir / "stdout.log"
        self.pid_file = self.dir / "kafka.pid"

    @property
    def pid(self) -> int | None:
        pid = read_pid(self.pid_file)
        return pid if pid is not None and pid_alive(pid, str(self.properties)) else None

    def _classpath(self) -> str:
        libs = Path(self.settings.kafka_libs)
        if not any(libs.glob("kafka_2.13-*.jar")):
            raise StackError(f"no Kafka jars in {libs} (run infra/install.sh)")
        if shutil.which("java") is None:
            raise StackError("java is not installed (run infra/install.sh)")
        return f"{libs}/*"

    def _format_once(self, classpath: str) -> None:
        if (self.data_dir / "meta.properties").exists():
            return
        argv = ["java", *TOOL_JVM_FLAGS, "-cp", classpath, "kafka.tools.StorageTool", "format"]
        result = subprocess.run(
            [*argv, f"--cluster-id={new_cluster_id()}", f"--config={self.properties}"],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise StackError(f"kafka storage format failed:\n{result.stdout}{result.stderr}")

    def start(self, timeout: float) -> None:
        if self.pid is not None:
            return
        classpath = self._classpath()
        for port in (self.port, self.settings.kafka_controller_port):
            if port_open(port):
                raise StackError(f"kafka: port {port} is already in use by another process")
        self.dir.mkdir(parents=True, exist_ok=True)
        self.properties.write_text(server_properties(self.port, self.settings.kafka_controller_port, self.data_dir))
        self.log4j.write_text(log4j_properties(self.log_file))
        self._format_once(classpath)
        argv = ["java", f"-Xmx{self.settings.kafka_heap}", "-XX:+ExitOnOutOfMemoryError", "-Djava.awt.headless=true"]
        argv += shlex.split(self.settings.kafka_jvm_opts)
        argv += ["-cp", classpath, f"-Dlog4j.configuration=file:{self.log4j}", "kafka.Kafka", str(self.properties)]
        pid = spawn_detached(argv, self.stdout_file, cwd=self.dir)
        self.pid_file.write_text(f"{pid}\n")
        marker = str(self.properties)
        if not wait_until(lambda: not pid_alive(pid, marker) or self.healthy(), timeout, interval=0.5) or (
            not pid_alive(pid, marker)
        ):
            kill(pid, marker=marker)
            raise StackError(
                f"kafka did not become ready on port {self.port} within {timeout:.0f} s; "
                f"log {self.log_file}:\n{tail(self.log_file)}\n{tail(self.stdout_file, 10)}"
            )

    def healthy(self) -> bool:
        """The broker answers a metadata request (port open alone is not enough while it starts)."""
        if not port_open(self.port):
            return False
        admin = AdminClient({"bootstrap.servers": f"127.0.0.1:{self.port}", "socket.timeout.ms": 3000})
        try:
            metadata = admin.list_topics(timeout=3)
        except Exception:  # KafkaException on timeout; any failure means "not healthy yet"
            return False
        return bool(metadata.brokers)

    def stop(self) -> None:
        pid = self.pid
        if pid is not None:
            terminate(pid, marker=str(self.properties), timeout=STOP_TIMEOUT_S)
        self.pid_file.unlink(missing_ok=True)
