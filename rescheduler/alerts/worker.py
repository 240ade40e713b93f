"""Alert delivery in a thread of its own, so a slow or failing receiver never stalls the service loop.

Webhook retries sleep between attempts and SMTP servers can take seconds to answer: done inside the
loop that consumes triggers, they held up replanning. The worker has its own database connection; the
loop only :meth:`kick`s it after each plan. It also wakes by itself every ``every_s`` for retries that
have come due. Deliveries are rows (``alert_delivery``), so a crash between plan and delivery loses
nothing: the next round, in this process or the next, sends what is still pending.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from rescheduler.alerts.dispatch import AlertDispatcher, PublishAlert
from rescheduler.settings import ReschedulerSettings
from shopfloor.db.pool import connect
from shopfloor.settings import PostgresSettings

log = logging.getLogger(__name__)


class DeliveryWorker:
    def __init__(
        self,
        settings: ReschedulerSettings,
        pg: PostgresSettings,
        publish: PublishAlert,
        *,
        every_s: float = 5.0,
        on_round: Callable[[int, int, int], None] = lambda delivered, failed, failing: None,
    ) -> None:
        self._settings = settings
        self._pg = pg
        self._publish = publish
        self._every_s = every_s
        self._on_round = on_round
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="alert-delivery", daemon=True)
        self.rounds = 0

    def start(self) -> None:
        self._thread.start()

    def kick(self) -> None:
        """Deliver now (a plan with new alerts was just committed)."""
        self._wake.set()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout)

    def __enter__(self) -> DeliveryWorker:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        with AlertDispatcher(self._settings, self._publish) as dispatcher:
            conn = None
            while not self._stop.is_set():
                self._wake.wait(self._every_s)
                self._wake.clear()
                if self._stop.is_set():
                    break
                try:
                    if conn is None or conn.closed:
                        conn = connect(self._pg)
                    delivered, failed = dispatcher.deliver_pending(conn)
                except Exception:
                    log.exception("alert delivery round failed; retrying in %.0f s", self._every_s)
                    if conn is not None:
                        conn.close()
                    conn = None
                    continue
                self.rounds += 1
                self._on_round(delivered, failed, dispatcher.failing)
            if conn is not None:
                conn.close()
