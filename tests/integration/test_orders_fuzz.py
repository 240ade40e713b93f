"""Malformed and half-right input at every endpoint of the hub (hypothesis): never a 500, and nothing
half-written (every order has its current version, lines and events; serials have no gaps)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shopfloor.auth import signed_headers
from shopfloor.db.pool import Connection
from tests.orders_support.hub import CHANNEL_SECRETS, NOW, PLANNER, Client, order_body

pytestmark = pytest.mark.integration

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    st.text(max_size=30),
    st.sampled_from(
        ["CUST-001", "HB-M6x20", "2026-03-20T00:00:00Z", "2026-03-20", "0.12", "-1", "1e9", "SO-2026-000001"]
    ),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)

line = st.fixed_dictionaries(
    {},
    optional={
        "product_id": st.one_of(st.sampled_from(["HB-M6x20", "CB-M8x50", "NOPE", ""]), json_values),
        "quantity": st.one_of(st.integers(min_value=-5, max_value=10**9), json_values),
        "unit_price": st.one_of(st.sampled_from(["0.12", "-1", "1e20", "abc"]), json_values),
    },
)
order = st.fixed_dictionaries(
    {},
    optional={
        "customer_id": st.one_of(st.sampled_from(["CUST-001", "CUST-NOPE", " "]), json_values),
        "lines": st.one_of(st.lists(line, max_size=3), json_values),
        "due_date": st.one_of(st.sampled_from(["2026-03-20T00:00:00Z", "2026-03-20T00:00:00", "soon"]), json_values),
        "priority": st.one_of(st.integers(min_value=-1, max_value=7), json_values),
        "rush": json_values,
        "project": json_values,
        "channel": st.one_of(st.sampled_from(["sales", "edi", "Bad Tag"]), json_values),
        "external_id": json_values,
        "notes": json_values,
        "custom_fields": st.one_of(
            st.dictionaries(st.sampled_from(["packaging", "x", "certificate_required"]), json_values, max_size=3),
            json_values,
        ),
        "margin_pct": json_values,
        "steps": json_values,
        "reason": json_values,
    },
)
paths = st.sampled_from(
    [
        ("POST", "/orders"),
        ("PATCH", "/orders/{id}"),
        ("POST", "/orders/{id}/approve"),
        ("POST", "/orders/{id}/hold"),
        ("POST", "/orders/{id}/release"),
        ("POST", "/orders/{id}/cancel"),
        ("POST", "/orders/{id}/changes/1/signoff"),
        ("POST", "/orders/what-if"),
        ("GET", "/orders/{id}/versions/1/diff/{id}"),
        ("GET", "/orders"),
        ("POST", "/channels/distributor/orders"),
    ]
)
ids = st.one_of(st.sampled_from(["SO-2026-000001", "SO-2026-000002", "nope", "%20", "a" * 70]), st.text(max_size=10))


def check_consistent(db_conn: Connection) -> None:
    db_conn.rollback()
    broken = db_conn.execute(
        """
        SELECT o.order_id FROM customer_order o
        LEFT JOIN order_version v ON v.order_id = o.order_id AND v.version = o.version
        WHERE v.order_id IS NULL
           OR NOT EXISTS (SELECT 1 FROM order_line l WHERE l.order_id = o.order_id)
           OR NOT EXISTS (SELECT 1 FROM order_outbox e WHERE e.order_id = o.order_id AND e.event_type = 'order.created')
           OR (o.status = 'approved' AND NOT EXISTS (SELECT 1 FROM work_order w WHERE w.order_id = o.order_id))
        """
    ).fetchall()
    assert broken == []
    serials = [r[0] for r in db_conn.execute("SELECT serial FROM customer_order ORDER BY serial")]
    assert serials == list(range(1, len(serials) + 1))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(call=paths, body=st.one_of(order, json_values), order_id=ids, raw=st.booleans())
def test_no_input_makes_a_500_or_a_half_written_order(
    hub_client: Client, db_conn: Connection, call: tuple[str, str], body: Any, order_id: str, raw: bool
) -> None:
    if not db_conn.execute("SELECT 1 FROM customer_order LIMIT 1").fetchone():
        first = hub_client.post("/orders", order_body()).json()["order_id"]
        hub_client.post(f"/orders/{first}/approve", {}, token=PLANNER)
        hub_client.post("/orders", order_body())
        db_conn.rollback()
    method, template = call
    path = template.replace("{id}", quote(order_id, safe=""))
    content = json.dumps(body).encode() if not raw else json.dumps(body)[:-1].encode()  # raw: truncated JSON
    headers = {"Content-Type": "application/json"}
    if path.startswith("/channels/"):
        headers |= signed_headers(CHANNEL_SECRETS["distributor"], int(NOW.timestamp()), content)
    response = hub_client.request(method, path, content=content if method != "GET" else None, headers=headers)
    assert response.status_code < 500, (method, path, body, response.text)
    check_consistent(db_conn)
