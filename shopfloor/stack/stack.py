"""The local stack as one object: ``Stack(settings).up()``, ``.status()``, ``.down()``.

Ports and directories come from :class:`StackSettings` (``SHOPFLOOR_STACK_*``), credentials from the
client settings, so a test can run a private stack next to the developer's one.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Final, Protocol

from pydantic import BaseModel, ConfigDict

from shopfloor.settings import MqttSettings, PostgresSettings, StackSettings
from shopfloor.stack.kafka import KafkaServer
from shopfloor.stack.mosquitto import MosquittoServer, mqtt_login_ok
from shopfloor.stack.mqtt_accounts import load_nodes, mqtt_acl, mqtt_users
from shopfloor.stack.postgres import PostgresServer
from shopfloor.stack.process import StackError, tail, wait_until

SERVER_NAMES: Final = ("kafka", "postgres", "mosquitto")


class Server(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def port(self) -> int: ...
    @property
    def pid(self) -> int | None: ...
    @property
    def log_file(self) -> Path: ...
    def start(self, timeout: float) -> None: ...
    def stop(self) -> None: ...
    def healthy(self) -> bool: ...


class ServerStatus(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    port: int
    pid: int | None
    healthy: bool
    log_file: Path


class StackMosquitto:
    """The project's broker: service account and edge-node accounts with their ACL."""

    name: Final = "mosquitto"

    def __init__(self, settings: StackSettings, mqtt: MqttSettings) -> None:
        if mqtt.username is None or mqtt.password is None:
            raise StackError("the local broker needs SHOPFLOOR_MQTT_USERNAME and SHOPFLOOR_MQTT_PASSWORD")
        self.username = mqtt.username
        self.password = mqtt.password.get_secret_value()
        nodes = load_nodes(Path(settings.mqtt_nodes_file))
        self.server = MosquittoServer(
            Path(settings.state_dir) / "mosquitto",
            settings.mqtt_port,
            users=mqtt_users(self.username, self.password, nodes),
            acl=mqtt_acl(self.username, nodes),
        )

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def pid(self) -> int | None:
        return self.server.pid

    @property
    def log_file(self) -> Path:
        return self.server.log_file

    def start(self, timeout: float) -> None:
        if self.server.running:
            # Already up: apply the current accounts and ACL (e.g. a node added to the node list).
            self.server.reload()
            ok = wait_until(self.healthy, timeout)
        else:
            self.server.start(timeout)
            ok = self.healthy()
        if not ok:
            raise StackError(f"mosquitto refuses the service account {self.username!r}")

    def stop(self) -> None:
        self.server.stop()

    def healthy(self) -> bool:
        return self.server.running and mqtt_login_ok(self.port, self.username, self.password)


class Stack:
    def __init__(
        self,
        settings: StackSettings | None = None,
        *,
        pg: PostgresSettings | None = None,
        mqtt: MqttSettings | None = None,
    ) -> None:
        self.settings = settings or StackSettings()
        self.servers: dict[str, Server] = {
            "kafka": KafkaServer(self.settings),
            "postgres": PostgresServer(self.settings, pg or PostgresSettings()),
            "mosquitto": StackMosquitto(self.settings, mqtt or MqttSettings()),
        }

    def up(self) -> None:
        """Start every server not yet running (concurrently) and wait until each accepts clients."""
        state_dir = Path(self.settings.state_dir)
        state_dir.mkdir(parents=True, exist_ok=True)
        # postgres and mosquitto run as their own users and must reach their subdirectories.
        state_dir.chmod(0o755)
        timeout = self.settings.start_timeout_s
        with ThreadPoolExecutor(max_workers=len(self.servers)) as pool:
            futures = {name: pool.submit(server.start, timeout) for name, server in self.servers.items()}
            errors = [f"{name}: {future.exception()}" for name, future in futures.items() if future.exception()]
        if errors:
            raise StackError("\n\n".join(errors))
        sick = [name for name, server in self.servers.items() if not server.healthy()]
        if sick:
            raise StackError(
                "\n\n".join(
                    f"{name} started but is not healthy; log {self.servers[name].log_file}:\n"
                    f"{tail(self.servers[name].log_file)}"
                    for name in sick
                )
            )

    def down(self) -> None:
        """Stop what ``up`` started (found by pid files); the others stay untouched."""
        with ThreadPoolExecutor(max_workers=len(self.servers)) as pool:
            futures = [pool.submit(server.stop) for server in self.servers.values()]
        errors = [str(future.exception()) for future in futures if future.exception()]
        if errors:
            raise StackError("\n".join(errors))

    def status(self) -> list[ServerStatus]:
        return [
            ServerStatus(
                name=name,
                port=server.port,
                pid=server.pid,
                healthy=server.pid is not None and server.healthy(),
                log_file=server.log_file,
            )
            for name, server in self.servers.items()
        ]

    def pids(self) -> dict[str, int]:
        return {name: pid for name, server in self.servers.items() if (pid := server.pid) is not None}

    def log_file(self, name: str) -> Path:
        if name not in self.servers:
            raise StackError(f"unknown server {name!r}; one of {', '.join(self.servers)}")
        return self.servers[name].log_file
