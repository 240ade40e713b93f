"""The service loop: consume triggers, debounce, replan, publish, deliver alerts, serve the API.

Offsets are committed once the batch's state (machine states, bottlenecks) is in the database. A
replan at start-up covers anything consumed before a crash, so no trigger is ever needed twice.
Plan events and alerts are pending rows written with the plan. Plan events are published from the loop
(after each replan, every ``REDELIVER_EVERY_S`` and before each replan); alerts are delivered by a
worker thread of their own (``alerts/worker.py``), kicked after each replan, so webhook retries and slow
SMTP servers never hold up consuming and replanning.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from pathlib import Path

from rescheduler.alerts.worker import DeliveryWorker
from rescheduler.service import metrics
from rescheduler.service.debounce import Debouncer
from rescheduler.service.http import HttpServer, make_app
from rescheduler.service.promise import PlanContext
from rescheduler.service.publication import PublishEvent, publish_pending
from rescheduler.service.replan import Replanner, ReplanResult
from rescheduler.service.triggers import MachineStateWatch, record_batch
from rescheduler.settings import ReschedulerSettings
from shopfloor.auth import DbTokenStore
from shopfloor.db.pool import Connection, connect, make_pool
from shopfloor.events import EventBase
from shopfloor.kafka.admin import ensure_topics
from shopfloor.kafka.consumer import BatchConsumer
from shopfloor.kafka.producer import flush, make_producer, produce_event
from shopfloor.plant import Plant, load_plant
from shopfloor.settings import KafkaSettings, PostgresSettings
from shopfloor.topics import KafkaTopic

log = logging.getLogger(__name__)

# Machine states come from machine_current_state (MachineStateWatch), not from the telemetry topic.
TRIGGER_TOPICS = (KafkaTopic.BOTTLENECKS, KafkaTopic.ORDERS)
# Failed plan publications and alert deliveries are retried this often while the service runs.
REDELIVER_EVERY_S = 30.0


class ReschedulerService:
    def __init__(
        self,
        plant: Plant,
        settings: ReschedulerSettings,
        kafka: KafkaSettings,
        pg: PostgresSettings,
        http_port: int | None = None,
    ) -> None:
        self.plant = plant
        self.settings = settings
        self.kafka = kafka
        self.pg = pg
        self.http_port = http_port
        self.replanner = Replanner(plant, settings)
        self.debouncer = Debouncer(settings.debounce_quiet_s, max(settings.debounce_max_s, settings.debounce_quiet_s))
        self._current: PlanContext | None = None
        self._lock = threading.Lock()
        self.ready = threading.Event()  # set once the first plan is made (its event may still be pending)
        self.plans_made = 0

    def current(self) -> PlanContext | None:
        with self._lock:
            return self._current

    def run(self, stop: threading.Event) -> None:
        # The producer gives up on a message when the publish does: nothing failed is left queued to turn
        # up later, so each attempt is either acknowledged or failed when flush() returns.
        timeout_ms = int(self.settings.publish_timeout_s * 1000)
        producer = make_producer(self.kafka, **{"message.timeout.ms": timeout_ms})
        http = None
        # Tokens are checked against the database; a small pool of its own keeps requests off the loop's connection.
        auth_pool = make_pool(self.pg.model_copy(update={"pool_min": 0, "pool_max": 2}), name="rescheduler-auth")
        if self.http_port is not None:
            auth_pool.open()
            app = make_app(self.plant, self.current, DbTokenStore(auth_pool))
            http = HttpServer(app, self.settings.http_host, self.http_port)
            http.start()

        def publish(event: EventBase) -> None:
            produce_event(producer, event, self.kafka)
            flush(producer, self.settings.publish_timeout_s + 5.0)

        try:
            with (
                connect(self.pg) as conn,
                BatchConsumer(self.kafka, self.settings.consumer_group, TRIGGER_TOPICS) as consumer,
                DeliveryWorker(self.settings, self.pg, publish, on_round=_delivery_metrics) as deliveries,
            ):
                machines = MachineStateWatch()
                machines.poll(conn)
                self._replan(conn, "startup", publish, deliveries)
                last_delivery = time.monotonic()
                while not stop.is_set():
                    wait = self.debouncer.wait_s(time.monotonic())
                    batch = consumer.poll_batch(max_messages=1000, timeout=min(1.0, wait) if wait is not None else 1.0)
                    if batch:
                        with conn.transaction():
                            reasons = record_batch(conn, batch)
                        consumer.commit(batch)  # the batch's state is durable now
                    else:
                        reasons = []
                    for reason in [*reasons, *machines.poll(conn)]:
                        metrics.TRIGGERS.inc()
                        self.debouncer.add(reason, time.monotonic())
                    if self.debouncer.due(time.monotonic()):
                        self._replan(conn, ", ".join(self.debouncer.take()), publish, deliveries)
                        last_delivery = time.monotonic()
                    elif time.monotonic() - last_delivery > REDELIVER_EVERY_S:
                        self._publish_plans(conn, publish)
                        last_delivery = time.monotonic()
        finally:
            if http is not None:
                http.stop()
                auth_pool.close()
            try:
                flush(producer, 10.0)
            finally:
                producer.close()  # stops its threads now, not whenever it is collected

    def _replan(self, conn: Connection, trigger: str, publish: PublishEvent, deliveries: DeliveryWorker) -> None:
        # Events of earlier plans go first (oldest first), so the bus sees versions in order.
        self._publish_plans(conn, publish)
        started = time.perf_counter()
        try:
            result = self.replanner.replan(conn, trigger)
        except Exception:
            # The state is in the database: the next trigger (or restart) replans from it.
            metrics.REPLAN_FAILURES.inc()
            log.exception("replan failed (trigger: %s)", trigger)
            conn.rollback()
            return
        self._after_plan(result, started)
        self._publish_plans(conn, publish)
        deliveries.kick()
        self.plans_made += 1
        self.ready.set()

    def _after_plan(self, result: ReplanResult, started: float) -> None:
        context = PlanContext(
            plan_id=result.plan_id,
            version=result.version,
            created_at=result.event.ts,
            plan_input=result.plan_input,
            ops=result.ops,
            late_orders=list(result.event.payload.late_orders),
            standard_times=result.standard_times,
        )
        with self._lock:
            self._current = context
        metrics.REPLANS.labels(status=result.event.payload.status).inc()
        metrics.SOLVE_SECONDS.observe(result.solve_s)
        metrics.REPLAN_SECONDS.observe(time.perf_counter() - started)
        metrics.LATE_ORDERS.set(len(result.event.payload.late_orders))
        metrics.PLAN_VERSION.set(result.version)
        for alert in result.alerts.raise_:
            metrics.ALERTS_RAISED.labels(kind=alert.kind.value).inc()
        for cleared in result.alerts.clear:
            metrics.ALERTS_CLEARED.labels(kind=cleared.kind.value).inc()

    def _publish_plans(self, conn: Connection, publish: PublishEvent) -> None:
        try:
            _, failed = publish_pending(conn, self.settings.site_id, publish)
        except Exception:
            log.exception("plan publication round failed")
            conn.rollback()
            return
        if failed:
            metrics.PLAN_PUBLISH_FAILURES.inc(failed)


def _delivery_metrics(_delivered: int, failed: int, failing: int) -> None:
    if failed:
        metrics.ALERT_DELIVERY_FAILURES.inc(failed)
    metrics.ALERT_DELIVERIES_FAILING.set(failing)


def serve(plant: Path, debounce_s: float, time_limit_s: float, http_port: int | None) -> None:
    """Run the rescheduler until SIGINT or SIGTERM (the ``shopfloor schedule serve`` command)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    base = ReschedulerSettings()
    settings = base.model_copy(
        update={
            "debounce_quiet_s": debounce_s,
            "debounce_max_s": max(base.debounce_max_s, debounce_s),
            "time_limit_s": time_limit_s,
        }
    )
    kafka = KafkaSettings()
    ensure_topics(kafka)  # idempotent; the service's output topics must exist before the first plan
    service = ReschedulerService(load_plant(plant), settings, kafka, PostgresSettings(), http_port)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    service.run(stop)
