"""Tokens in PostgreSQL: created through the CLI, hashed at rest, revoked, scoped."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from shopfloor.auth import DbTokenStore, Role, Scope, create_token, hash_token, list_tokens, revoke_token
from shopfloor.auth.cli import app
from shopfloor.db.pool import Connection, make_pool
from shopfloor.settings import PostgresSettings

pytestmark = pytest.mark.integration


def test_db_tokens_authenticate_until_revoked(db_conn: Connection, pg_settings: PostgresSettings) -> None:
    token = create_token(db_conn, "portal acme", [Role.CUSTOMER], Scope(customer_id="CUST-001"))
    db_conn.commit()
    ((stored, revoked),) = list_tokens(db_conn)
    assert stored.token_hash == hash_token(token) and not revoked
    stored_text = db_conn.execute("SELECT row_to_json(t)::text FROM api_token t").fetchone()
    assert stored_text is not None and token not in stored_text[0]

    with make_pool(pg_settings) as pool:
        fresh = DbTokenStore(pool, cache_s=0)
        principal = fresh.authenticate(token)
        assert principal is not None
        assert principal.roles == {Role.CUSTOMER} and principal.scope == Scope(customer_id="CUST-001")
        assert fresh.authenticate(token[:-2] + "zz") is None

        assert revoke_token(db_conn, stored.token_id)
        db_conn.commit()
        assert fresh.authenticate(token) is None
        assert not revoke_token(db_conn, stored.token_id)


def test_cli_creates_lists_and_revokes_tokens(pg_settings: PostgresSettings) -> None:
    env = {
        "SHOPFLOOR_PG_DB_SCHEMA": pg_settings.db_schema,
        "SHOPFLOOR_PG_PORT": str(pg_settings.port),
        "SHOPFLOOR_PG_HOST": pg_settings.host,
    }
    runner = CliRunner()
    created = runner.invoke(app, ["token", "create", "--name", "tv-1", "--role", "viewer"], env=env)
    assert created.exit_code == 0, created.output
    token = created.output.strip()
    with make_pool(pg_settings) as pool:
        principal = DbTokenStore(pool, cache_s=0).authenticate(token)
        assert principal is not None and principal.name == "tv-1" and principal.roles == {Role.VIEWER}
        listed = runner.invoke(app, ["token", "list"], env=env)
        assert principal.token_id in listed.output and token not in listed.output
        assert runner.invoke(app, ["token", "revoke", principal.token_id], env=env).exit_code == 0
        assert DbTokenStore(pool, cache_s=0).authenticate(token) is None
        assert runner.invoke(app, ["token", "revoke", principal.token_id], env=env).exit_code == 1
