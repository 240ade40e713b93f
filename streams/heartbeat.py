"""A stream processor's heartbeat in ``processor_heartbeat``: "this processor is running", every few seconds.

Without it a page cannot tell a quiet plant (no events, nothing to write) from processors that are down:
both leave the data tables unchanged. A background thread upserts the processor's row while ``alive()``
says the processor is making progress; a database error is logged and the next beat tries again.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable

from shopfloor.db.pool import connect
from shopfloor.settings import PostgresSettings

log = logging.getLogger(__name__)

_BEAT = """
INSERT INTO processor_heartbeat (processor, beat_at, instance) VALUES (%s, now(), %s)
ON CONFLICT (processor) DO UPDATE SET beat_at = greatest(processor_heartbeat.beat_at, excluded.beat_at),
    instance = excluded.instance
"""


class Heartbeat:
    def __init__(
        self,
        pg: PostgresSettings,
        processor: str,
        *,
        interval_s: float,
        alive: Callable[[], bool] = lambda: True,
    ) -> None:
        self.pg = pg
        self.processor = processor
        self.interval_s = interval_s
        self.alive = alive
        self.instance = f"{socket.gethostname()}:{os.getpid()}"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> Heartbeat:
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-{self.processor}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                with connect(self.pg, autocommit=True) as conn:
                    while not self._stop.is_set():
                        if self.alive():
                            conn.execute(_BEAT, (self.processor, self.instance))
                        self._stop.wait(self.interval_s)
            except Exception as exc:  # the database is away: the pages go stale, which is the truth
                log.warning("heartbeat of %s failed: %s", self.processor, exc)
                self._stop.wait(self.interval_s)
