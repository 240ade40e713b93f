"""Alert decisions: raised once per change, cleared when resolved."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from rescheduler.alerts.decide import (
    MaterialNeed,
    NewAlert,
    OpenAlert,
    OrderProjection,
    decide_late,
    decide_material,
)
from shopfloor.events import AlertKind, Audience

pytestmark = pytest.mark.unit

DUE = datetime(2026, 3, 10, 16, 0, tzinfo=UTC)
H = timedelta(hours=1)


def proj(order: str, slip_h: float, due: datetime = DUE) -> OrderProjection:
    return OrderProjection(order, "CUST1", due, due + slip_h * H, cause="H2 in FAULT")


def as_open(decision_alerts: list[NewAlert]) -> list[OpenAlert]:
    return [OpenAlert(a.alert_id, a.kind, a.audience, a.order_id, a.fingerprint) for a in decision_alerts]


def test_late_order_raises_once_and_clears_when_on_time() -> None:
    first = decide_late([proj("O1", 5), proj("O2", -3)], [])
    assert [a.order_id for a in first.raise_] == ["O1"] and first.clear == []
    raised = first.raise_[0]
    assert (raised.kind, raised.audience, raised.due, raised.projected) == (
        AlertKind.ORDER_LATE,
        Audience.SALES,
        DUE,
        DUE + 5 * H,
    )
    opened = as_open(first.raise_)
    # Still late, even later: the same episode, nothing new.
    second = decide_late([proj("O1", 9), proj("O2", -3)], opened)
    assert second.raise_ == [] and second.clear == []
    # Back on time: cleared.
    third = decide_late([proj("O1", -1), proj("O2", -3)], opened)
    assert third.raise_ == []
    assert [(c.alert_id, c.reason) for c in third.clear] == [(raised.alert_id, "back on time")]


def test_due_date_change_is_a_new_episode() -> None:
    opened = as_open(decide_late([proj("O1", 5)], []).raise_)
    moved = decide_late([proj("O1", 2, due=DUE + 24 * H)], opened)
    assert [c.alert_id for c in moved.clear] == [opened[0].alert_id]
    assert len(moved.raise_) == 1 and moved.raise_[0].alert_id != opened[0].alert_id


def test_order_gone_from_plan_clears_its_alert() -> None:
    opened = as_open(decide_late([proj("O1", 5)], []).raise_)
    gone = decide_late([], opened)
    assert [c.order_id for c in gone.clear] == ["O1"]


def test_alert_ids_are_deterministic_per_plan() -> None:
    same = decide_late([proj("O1", 5)], [], "p1").raise_[0].alert_id
    assert decide_late([proj("O1", 7)], [], "p1").raise_[0].alert_id == same
    assert decide_late([proj("O1", 5)], [], "p2").raise_[0].alert_id != same


def test_late_again_after_recovery_is_a_new_alert() -> None:
    opened = as_open(decide_late([proj("O1", 5)], [], "p1").raise_)
    cleared = decide_late([proj("O1", -1)], opened, "p2")
    assert [c.order_id for c in cleared.clear] == ["O1"]
    again = decide_late([proj("O1", 6)], [], "p3")  # nothing open any more
    assert len(again.raise_) == 1 and again.raise_[0].alert_id != opened[0].alert_id


def need(wo: str, order: str, hours: float) -> MaterialNeed:
    return MaterialNeed(order, wo, "CUST1", DUE + hours * H)


def baseline(needs: list[MaterialNeed]) -> dict[str, datetime]:
    return {n.work_order_id: n.need for n in needs}


def test_material_needed_earlier_beyond_threshold() -> None:
    previous = [need("W1", "O1", 0), need("W2", "O2", 0), need("W3", "O2", 10)]
    current = [need("W1", "O1", -2), need("W2", "O2", -6), need("W3", "O2", -1), need("W9", "O9", -50)]
    decision, known = decide_material(baseline(previous), current, [], timedelta(hours=4))
    # W1 moved 2 h (< 4 h); W2 moved 6 h and W3 11 h: order O2 alerts once with its earliest need.
    # W9 is new to the plan: its need becomes the baseline, no alert.
    assert [(a.order_id, a.need) for a in decision.raise_] == [("O2", DUE - 6 * H)]
    assert decision.raise_[0].audience is Audience.PURCHASING
    assert known == {"W1": DUE, "W2": DUE - 6 * H, "W3": DUE - 1 * H, "W9": DUE - 50 * H}
    again, _ = decide_material(known, current, as_open(decision.raise_), timedelta(hours=4))
    assert again.raise_ == [] and again.clear == []


def test_material_creeping_earlier_alerts_once_the_total_move_reaches_the_threshold() -> None:
    """Three replans each move the need 2 h earlier: the previous plan alone never shows a 4 h move."""
    known = baseline([need("W1", "O1", 0)])
    alerts: list[NewAlert] = []
    for step in (1, 2, 3):
        decision, known = decide_material(known, [need("W1", "O1", -2 * step)], as_open(alerts), timedelta(hours=4))
        alerts += decision.raise_
    assert [(a.order_id, a.need) for a in alerts] == [("O1", DUE - 4 * H)]
    assert known == {"W1": DUE - 4 * H}


def test_material_swinging_back_and_forth_alerts_once() -> None:
    known = baseline([need("W1", "O1", 0)])
    alerts: list[NewAlert] = []
    for hours in (-6, 0, -6, 0, -6):
        decision, known = decide_material(known, [need("W1", "O1", hours)], as_open(alerts), timedelta(hours=4))
        alerts += decision.raise_
    assert len(alerts) == 1


def test_late_alert_hysteresis_neither_flaps_nor_lingers() -> None:
    """Raise above 4 h of slip, clear at 1 h or less: a slip wandering between 3 and 5 h alerts once."""

    def p(slip_h: float) -> OrderProjection:
        return OrderProjection("O1", "CUST1", DUE, DUE + slip_h * H, min_slip=4 * H, clear_slip=1 * H)

    opened: list[OpenAlert] = []
    raised = cleared = 0
    for slip in (3.5, 4.5, 3.5, 4.5, 3.0, 5.0, 1.5):
        decision = decide_late([p(slip)], opened)
        raised += len(decision.raise_)
        cleared += len(decision.clear)
        opened = [a for a in opened if a.alert_id not in {c.alert_id for c in decision.clear}] + as_open(
            decision.raise_
        )
    assert (raised, cleared) == (1, 0)
    final = decide_late([p(1.0)], opened)
    assert [c.reason for c in final.clear] == ["back on time"] and final.raise_ == []
