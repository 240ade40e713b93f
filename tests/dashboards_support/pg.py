"""PostgreSQL for the dashboard tests: the real server, without Kafka or Mosquitto (the pages read only the
database). ``SHOPFLOOR_TEST_STACK=external`` uses the server the settings point at, as the stack fixture does."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest

from shopfloor.db.migrate import migrate
from shopfloor.settings import PostgresSettings
from shopfloor.stack.postgres import PostgresServer
from shopfloor.stack.process import free_port
from tests.fixtures.db import drop_schema
from tests.fixtures.stack import make_state_dir, private_stack_settings, unique_name


@pytest.fixture(scope="session")
def dash_pg_server() -> Iterator[PostgresSettings]:
    if os.environ.get("SHOPFLOOR_TEST_STACK") == "external":
        yield PostgresSettings()
        return
    state_dir = make_state_dir("shopfloor-dash-pg-")
    stack = private_stack_settings(state_dir).model_copy(update={"pg_port": free_port()})
    pg = PostgresSettings(port=stack.pg_port)
    server = PostgresServer(stack, pg)
    try:
        server.start(timeout=60)
        yield pg
    finally:
        server.stop()
        shutil.rmtree(state_dir, ignore_errors=True)


@pytest.fixture
def dash_pg(dash_pg_server: PostgresSettings) -> Iterator[PostgresSettings]:
    """A migrated schema of this test's own, dropped afterwards."""
    settings = dash_pg_server.model_copy(update={"db_schema": unique_name("d_"), "pool_max": 4})
    try:
        migrate(settings)
        yield settings
    finally:
        drop_schema(settings)
