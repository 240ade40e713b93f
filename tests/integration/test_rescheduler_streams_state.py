"""The rescheduler reads what the streams keep: machine states from the table, learned standard times."""

from __future__ import annotations

import uuid

import pytest

from rescheduler.service.snapshot import MIN_LEARNED_SAMPLES, read_snapshot
from rescheduler.service.triggers import MachineStateWatch
from shopfloor.db.pool import connect
from shopfloor.settings import PostgresSettings

pytestmark = pytest.mark.integration


def set_state(conn: object, machine: str, state: str) -> None:
    conn.execute(  # type: ignore[attr-defined]
        "INSERT INTO machine_current_state (machine_id, state, since, event_id) VALUES (%s, %s, now(), %s) "
        "ON CONFLICT (machine_id) DO UPDATE SET state = EXCLUDED.state, since = EXCLUDED.since",
        (machine, state, uuid.uuid4()),
    )
    conn.commit()  # type: ignore[attr-defined]


def test_breakdowns_and_repairs_in_the_table_are_replan_reasons(pg_settings: PostgresSettings) -> None:
    with connect(pg_settings) as conn:
        set_state(conn, "H1", "FAULT")
        watch = MachineStateWatch()
        assert watch.poll(conn) == []  # known at start: the start-up replan covers it
        set_state(conn, "H2", "RUNNING")
        set_state(conn, "H3", "IDLE")
        assert watch.poll(conn) == []  # available either way: capacity unchanged
        set_state(conn, "H2", "FAULT")
        set_state(conn, "H1", "IDLE")
        assert watch.poll(conn) == ["H2 FAULT", "H1 IDLE"]
        assert watch.poll(conn) == []


def test_learned_times_are_used_from_enough_samples_on(pg_settings: PostgresSettings) -> None:
    with connect(pg_settings) as conn:
        conn.execute(
            "INSERT INTO standard_time (product_id, operation_seq, workcenter_id, unit_min, setup_min, samples) VALUES "
            "('P-1', 2, 'WC-HEAD', 0.2, 30, %s), ('P-1', 2, 'WC-ALT', 0.9, 30, %s), ('P-2', 1, 'WC-CUT', 0.1, 0, %s)",
            (MIN_LEARNED_SAMPLES + 3, MIN_LEARNED_SAMPLES, MIN_LEARNED_SAMPLES - 1),
        )
        conn.commit()
        snapshot = read_snapshot(conn, "SITE")
    # P-2 has too few samples: it plans with the routing; P-1 with the best-sampled workcenter's time.
    assert snapshot.standard_times == {("P-1", 2): (0.2, 30.0)}
