"""Pure parts of the dashboards: language choice, plant-calendar periods, the live hub's replay buffer."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from dashboards import periods
from dashboards.i18n import LABELS, pick_language
from dashboards.live import Channel, Event, Hub
from dashboards.models import Status
from dashboards.queries.board import downtime_by_reason
from shopfloor.plant import load_plant
from shopfloor.settings import PROJECT_ROOT

pytestmark = pytest.mark.unit

PLANT = load_plant(PROJECT_ROOT / "infra" / "plants" / "demo.yaml")  # Asia/Shanghai, shifts 06-14-22-06


@pytest.mark.parametrize(
    ("query", "cookie", "accept", "expected"),
    [
        (None, None, "zh-CN,zh;q=0.9,en;q=0.8", "zh"),
        (None, None, "en-US,en;q=0.9", "en"),
        (None, None, "fr-FR;q=0.9,zh-TW;q=0.8", "zh"),
        (None, None, "de, en;q=0.1, zh;q=0.5", "zh"),
        (None, None, None, "en"),
        ("en", "zh", "zh-CN", "en"),
        (None, "zh", "en-US", "zh"),
        ("xx", None, "en", "en"),
    ],
)
def test_language_is_the_choice_then_the_browsers(
    query: str | None, cookie: str | None, accept: str | None, expected: str
) -> None:
    assert pick_language(query, cookie, accept) == expected


def test_every_label_has_both_languages() -> None:
    assert all(set(texts) == {"en", "zh"} and all(texts.values()) for texts in LABELS.values())


def test_shifts_follow_the_plant_calendar_and_zone() -> None:
    # Wednesday 2026-12-02 09:30 in Shanghai = 01:30 UTC: the early shift (06:00 local) runs.
    now = datetime(2026, 12, 2, 1, 30, tzinfo=UTC)
    current, last = periods.current_and_last_shift(PLANT, now)
    assert current.start == datetime(2026, 12, 1, 22, 0, tzinfo=UTC) and current.name.endswith("early")
    assert current.end == datetime(2026, 12, 2, 6, 0, tzinfo=UTC)
    assert last.name == "2026-12-01 night" and last.end == current.start
    # Sunday has no shifts: the current shift is Saturday's night shift until Sunday 06:00, then it stays last.
    sunday_noon = datetime(2026, 12, 6, 4, 0, tzinfo=UTC)
    current, _ = periods.current_and_last_shift(PLANT, sunday_noon)
    assert current.name == "2026-12-05 night"


def test_week_and_month_start_at_local_midnight() -> None:
    now = datetime(2026, 12, 2, 1, 30, tzinfo=UTC)
    assert periods.week(PLANT, now).start == datetime(2026, 11, 29, 16, 0, tzinfo=UTC)  # Monday 00:00 +08
    assert periods.month(PLANT, now).start == datetime(2026, 11, 30, 16, 0, tzinfo=UTC)
    assert periods.month(PLANT, now).end == datetime(2026, 12, 31, 16, 0, tzinfo=UTC)
    days = periods.coming_days(PLANT, now, 3)
    assert [d.name for d in days] == ["2026-12-02", "2026-12-03", "2026-12-04"]


def make_hub(buffer: int = 16) -> Hub:
    return Hub(
        None,  # type: ignore[arg-type]  # never polled here: events are published by hand
        lambda key: lambda conn, now: {},
        lambda: datetime.now(UTC),
        interval_s=1,
        stale_after_s=10,
        heartbeat_s=1,
        buffer=buffer,
    )


def status() -> Status:
    now = datetime.now(UTC)
    return Status(now=now, data_as_of=now - timedelta(seconds=1), db_ok=True, stale_after_s=10, stale=False)


async def take(hub: Hub, channel: Channel, last_id: str | None, n: int) -> list[Event]:
    channel.polled = True
    out: list[Event] = []
    stream = hub.stream(channel, last_id)
    async for event in stream:
        out.append(event)
        if len(out) == n:
            break
    await stream.aclose()  # type: ignore[attr-defined]
    await hub.stop()
    return out


def test_only_changed_sections_become_events_and_a_reconnect_gets_what_it_missed() -> None:
    hub = make_hub()
    channel = hub.channel("board")
    assert channel is not None
    hub._publish(channel, {"tiles": "[1]", "oee": "{}"}, status())
    first_id = channel.status.id if channel.status else ""
    hub._publish(channel, {"tiles": "[1]", "oee": "{}"}, status())  # nothing changed: no data event
    assert channel.seq == 2
    hub._publish(channel, {"tiles": "[2]", "oee": "{}"}, status())
    events = asyncio.run(take(hub, channel, first_id, 2))
    assert [(e.event, e.data) for e in events] == [("tiles", "[2]"), ("status", events[1].data)]
    assert events[1].id == events[0].id  # resuming from the status misses nothing


def test_an_unknown_or_too_old_id_gets_a_full_snapshot() -> None:
    hub = make_hub(buffer=16)
    channel = hub.channel("board")
    assert channel is not None
    for i in range(40):
        hub._publish(channel, {"tiles": f"[{i}]", "oee": "{}" if i < 39 else "{1}"}, status())
    for last_id in (None, "someone-else-3", f"{hub._id(1)}"):
        events = asyncio.run(take(hub, channel, last_id, 3))
        assert [(e.event, e.data) for e in events[:2]] == [("tiles", "[39]"), ("oee", "{1}")]
        assert events[2].event == "status"


def test_unknown_channels_are_refused() -> None:
    hub = Hub(
        None,  # type: ignore[arg-type]
        lambda key: None,
        lambda: datetime.now(UTC),
        interval_s=1,
        stale_after_s=10,
        heartbeat_s=1,
        buffer=16,
    )
    assert hub.channel("machine:NOPE") is None


def test_kpi_thresholds_come_from_the_plant_yaml_with_defaults() -> None:
    from pydantic import ValidationError

    from shopfloor.plant import KpiTargets

    assert PLANT.kpi == KpiTargets(oee_red_below=65, oee_green_above=85, on_time_target_pct=89)
    assert KpiTargets().oee_red_below == 65 and KpiTargets().oee_green_above == 85
    with pytest.raises(ValidationError, match="oee_green_above"):
        KpiTargets(oee_red_below=90, oee_green_above=80)


def test_downtime_counts_only_each_machines_planned_time() -> None:
    """A plating line stopped off shift at night loses nothing; heading stopped in its shift does."""
    t = datetime(2026, 3, 2, 22, 0, tzinfo=UTC)
    hour = timedelta(hours=1)
    working = {"H1": [(t, t + 8 * hour)], "P1": []}  # P1's workshop has no night shift
    segments = [
        ("H1", "die_change", t + hour, t + 2 * hour),
        ("H1", "die_change", t - hour, t + 0.5 * hour),  # begun before the shift: its part inside counts
        ("P1", "off_shift", t, t + 8 * hour),
    ]
    assert downtime_by_reason(segments, lambda m: working[m]) == {"die_change": 90.0}
