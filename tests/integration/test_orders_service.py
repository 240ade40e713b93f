"""``shopfloor orders serve`` as it runs: a real process answering HTTP with a database token, and its
publisher loop putting the order's events on Kafka."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from shopfloor.auth import Role, create_token
from shopfloor.db.pool import connect
from shopfloor.settings import KafkaSettings, PostgresSettings
from tests.orders_support.hub import order_body
from tests.orders_support.kafka import read_orders_topic
from tests.rescheduler_support.receivers import free_port

pytestmark = pytest.mark.integration


@pytest.fixture
def service(pg_settings: PostgresSettings, kafka_settings: KafkaSettings) -> Iterator[tuple[str, str]]:
    with connect(pg_settings) as conn:
        token = create_token(conn, "sales desk", [Role.SALES])
        conn.commit()
    port = free_port()
    env = {
        **os.environ,
        "SHOPFLOOR_PG_DB_SCHEMA": pg_settings.db_schema,
        "SHOPFLOOR_KAFKA_TOPIC_PREFIX": kafka_settings.topic_prefix,
        "SHOPFLOOR_ORDERS_HTTP_PORT": str(port),
        "SHOPFLOOR_ORDERS_PUBLISH_INTERVAL_S": "0.1",
    }
    process = subprocess.Popen(
        [sys.executable, "-c", "from shopfloor.cli import main; main()", "orders", "serve"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            raise AssertionError("the hub did not come up")
        yield url, token
    finally:
        process.terminate()
        process.wait(timeout=30)
        assert process.stderr is not None
        process.stderr.close()


def test_the_served_hub_takes_an_order_and_publishes_its_event(
    service: tuple[str, str], kafka_settings: KafkaSettings
) -> None:
    url, token = service
    headers = {"Authorization": f"Bearer {token}"}
    assert httpx.get(f"{url}/orders", timeout=10).status_code == 401
    created = httpx.post(f"{url}/orders", json=order_body(), headers=headers, timeout=30)
    assert created.status_code == 201, created.text
    order_id = created.json()["order_id"]
    counts, events = read_orders_topic(kafka_settings, lambda c: len(c) >= 1, timeout=60)
    assert [(e["type"], e["payload"]["order_id"]) for e in events] == [("order.created", order_id)]  # type: ignore[index]
    assert set(counts.values()) == {1}
