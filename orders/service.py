"""The running order hub: the HTTP API on uvicorn and the outbox publisher loop beside it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

import uvicorn

from orders.app import make_app
from orders.config import HubConfig, load_config
from orders.notify import Notifier
from orders.outbox import KafkaSink, Publisher, WebhookSink
from orders.settings import OrdersSettings
from shopfloor.db.pool import connect, make_pool
from shopfloor.events import utcnow
from shopfloor.settings import KafkaSettings, PostgresSettings

log = logging.getLogger(__name__)


def make_publisher(
    settings: OrdersSettings,
    pg: PostgresSettings,
    kafka: KafkaSettings,
    config: HubConfig,
    clock: Callable[[], datetime] = utcnow,
) -> Publisher:
    secret = settings.webhook_secret.get_secret_value().encode()
    webhook = WebhookSink(settings.webhook_url, secret, settings.webhook_timeout_s) if settings.webhook_url else None
    notifier = Notifier(settings, config)
    return Publisher(
        lambda: connect(pg),
        KafkaSink(kafka, settings.publish_timeout_s),
        webhook,
        notifier=notifier if notifier.configured else None,
        interval_s=settings.publish_interval_s,
        batch=settings.publish_batch,
        clock=clock,
    )


def serve(settings: OrdersSettings, pg: PostgresSettings, kafka: KafkaSettings) -> None:
    """Run until interrupted: the API answers while the publisher drains the outbox to Kafka (and the webhook)."""
    publisher = make_publisher(settings, pg, kafka, load_config(settings.config))
    with make_pool(pg, name="orders") as pool:
        app = make_app(settings, pool)
        publisher.start()
        try:
            uvicorn.run(app, host=settings.http_host, port=settings.http_port, log_level="warning")
        finally:
            publisher.stop()
