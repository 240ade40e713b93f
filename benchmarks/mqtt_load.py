"""The bridge benchmark's load: ``mosquitto_pub -l`` (C, Debian's mosquitto-clients), one per topic, fed lines.

A paho publisher spends about 100 µs of CPU per QoS 1 message (a Condition per message, and in MQTT 5 a
Properties and a ReasonCode per PUBACK): at 5,000 msg/s half of this 2-core machine would go to the load
generator instead of the broker, the bridge and Kafka under test, and messages it had already stamped
would wait in its own queue, counted as bridge latency. ``mosquitto_pub -l`` publishes each stdin line as
one message at a few µs each. One process per topic keeps each key's messages in order; on end of input
it exits once the broker acknowledged its last message.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from collections.abc import Sequence
from types import TracebackType
from typing import IO, Final

from shopfloor.settings import MqttSettings

MAX_INFLIGHT: Final = 100  # QoS 1 messages unacknowledged per publisher (paho's default is 20)
CONNECT_S: Final = 0.5  # let every publisher connect before the clock starts


class LinePublishers:
    """One ``mosquitto_pub -l -q 1`` per topic; :meth:`send` writes newline-terminated messages to one."""

    def __init__(self, settings: MqttSettings, topics: Sequence[str]) -> None:
        binary = shutil.which("mosquitto_pub")
        if binary is None:
            raise RuntimeError("mosquitto_pub not found: infra/install.sh installs Debian's mosquitto-clients")
        login: list[str] = []
        if settings.username is not None:
            login = ["-u", settings.username]
            if settings.password is not None:
                login += ["-P", settings.password.get_secret_value()]
        command = [binary, "-h", settings.host, "-p", str(settings.port), *login, "-q", "1", "-M", str(MAX_INFLIGHT)]
        self._procs = [
            subprocess.Popen([*command, "-t", topic, "-l"], stdin=subprocess.PIPE, stderr=subprocess.PIPE)
            for topic in topics
        ]
        time.sleep(CONNECT_S)
        self._check()

    def _check(self) -> None:
        for proc in self._procs:
            if proc.poll() not in (None, 0):
                error = proc.stderr.read().decode() if proc.stderr else ""
                raise RuntimeError(f"mosquitto_pub exited with {proc.returncode}: {error.strip()}")

    def _stdin(self, index: int) -> IO[bytes]:
        stdin = self._procs[index].stdin
        assert stdin is not None
        return stdin

    def send(self, index: int, lines: bytes) -> None:
        stdin = self._stdin(index)
        stdin.write(lines)
        stdin.flush()

    def send_all(self, blobs: Sequence[bytes]) -> None:
        """Write one blob per publisher at once (a thread each: a pipe blocks until its reader catches up)."""
        writers = [threading.Thread(target=self.send, args=(i, blob)) for i, blob in enumerate(blobs) if blob]
        for writer in writers:
            writer.start()
        for writer in writers:
            writer.join()

    def close(self, timeout: float = 600) -> None:
        """End every input and wait until each publisher's last message is acknowledged."""
        for index in range(len(self._procs)):
            self._stdin(index).close()
        deadline = time.monotonic() + timeout
        for proc in self._procs:
            proc.wait(max(0.0, deadline - time.monotonic()))
        self._check()
        for proc in self._procs:
            if proc.stderr:
                proc.stderr.close()

    def __enter__(self) -> LinePublishers:
        return self

    def __exit__(self, _t: type[BaseException] | None, exc: BaseException | None, _tb: TracebackType | None) -> None:
        if exc is None:
            self.close()
            return
        for proc in self._procs:
            proc.kill()
            proc.wait()
