"""Identifiers survive a reset of the plan history: plan, event and alert ids never repeat."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from rescheduler.alerts.decide import OrderProjection, decide_late
from rescheduler.alerts.dispatch import channels_for
from rescheduler.alerts.store import apply_decision, open_alerts
from rescheduler.service.plan_store import PlanHeader, write_plan
from rescheduler.settings import ReschedulerSettings
from shopfloor.db.pool import Connection, connect
from shopfloor.settings import PostgresSettings

pytestmark = pytest.mark.integration

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
DUE = NOW + timedelta(days=2)


def plan_and_alert(conn: Connection, settings: ReschedulerSettings) -> tuple[str, int, list[str]]:
    header = PlanHeader("plant1", "test", "OPTIMAL", 0.0, None, 0.1, NOW)
    late = [OrderProjection("O1", "CUST-A", DUE, DUE + timedelta(hours=6), "H2 in FAULT")]
    with conn.transaction():
        plan_id, version = write_plan(conn, header, [], late, {})
        decision = decide_late(late, open_alerts(conn), plan_id)
        apply_decision(conn, decision, plan_id, NOW, channels_for(settings))
    return plan_id, version, [a.alert_id for a in decision.raise_]


def test_plan_and_alert_ids_do_not_repeat_after_the_history_is_cleared(pg_settings: PostgresSettings) -> None:
    settings = ReschedulerSettings()
    with connect(pg_settings) as conn:
        first_plan, first_version, first_alerts = plan_and_alert(conn, settings)
        # An operator clears the plan history and the alerts are resolved (e.g. the order was re-promised).
        conn.execute("DELETE FROM schedule_plan")
        conn.execute("UPDATE alert SET state = 'cleared', cleared_at = now()")
        conn.commit()
        second_plan, second_version, second_alerts = plan_and_alert(conn, settings)
        stored = conn.execute("SELECT alert_id, plan_id, state FROM alert ORDER BY raised_at, alert_id").fetchall()
        pending = conn.execute("SELECT DISTINCT alert_id FROM alert_delivery WHERE delivered_at IS NULL").fetchall()
    assert first_version == second_version == 1
    assert first_plan != second_plan
    assert first_alerts and second_alerts and set(first_alerts).isdisjoint(second_alerts)
    # The new episode's alert is stored and will be delivered, not dropped by ON CONFLICT DO NOTHING.
    assert (second_alerts[0], second_plan, "raised") in stored
    assert (second_alerts[0],) in pending
