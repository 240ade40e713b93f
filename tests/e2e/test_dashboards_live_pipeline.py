"""The load board in Debian's Chromium over the real pipeline: the simulated plant and an edge agent publish on
MQTT, the bridge (a process) forwards to Kafka, the raw sink and the utilization flow (processes) write
PostgreSQL, and the dashboards (uvicorn) read it. Nothing is written to the tables by the test.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from playwright.sync_api import Page

from dashboards import periods
from shopfloor.db.pool import connect
from shopfloor.plant import load_plant
from shopfloor.settings import PROJECT_ROOT, KafkaSettings, MqttSettings, PostgresSettings
from tests.dashboards_support.browser import OpenPage, browser, open_page, screenshot, wait_live  # noqa: F401
from tests.dashboards_support.pipeline import PipelineFeed
from tests.dashboards_support.serve import Served, fast_settings, served
from tests.fixtures.stack import make_state_dir

pytestmark = pytest.mark.e2e

PLANT = load_plant(PROJECT_ROOT / "infra" / "plants" / "demo.yaml")
MACHINE = "H3"


@pytest.fixture
def pipeline(
    mqtt_settings: MqttSettings, kafka_settings: KafkaSettings, pg_settings: PostgresSettings
) -> Iterator[PipelineFeed]:
    state_dir = make_state_dir("shopfloor-dash-live-")
    feed = PipelineFeed(PLANT, mqtt_settings, kafka_settings, pg_settings, state_dir)
    try:
        feed.start()
        feed.start_plant()
        yield feed
    except Exception:
        print(feed.logs())
        raise
    finally:
        feed.close()


@pytest.fixture
def site(pipeline: PipelineFeed) -> Iterator[Served]:
    with served(pipeline.pg, PLANT, settings=fast_settings(stale_after_s=6.0, slow_refresh_s=1.0)) as app:
        yield app


def eventually(check: object, what: str, timeout_s: float, feed: PipelineFeed) -> None:
    """Until ``check()`` holds (data keeps changing, so page and database are compared again and again)."""
    assert callable(check)
    deadline = time.monotonic() + timeout_s
    last: object = None
    while time.monotonic() < deadline:
        feed.check_alive()
        last = check()
        if last is True:
            return
        time.sleep(0.3)
    raise AssertionError(f"{what}: still differs after {timeout_s} s: {last}\n{feed.logs()}")


def tiles_match(page: Page, feed: PipelineFeed) -> object:
    with connect(feed.pg) as conn:
        states = {str(m): str(s) for m, s in conn.execute("SELECT machine_id, state FROM machine_current_state")}
    shown = dict(
        page.eval_on_selector_all("[data-testid^=tile-]", "els => els.map(e => [e.id.slice(5), e.dataset.state])")
    )
    expected = {m.id: states.get(m.id, "NO_DATA") for m in PLANT.all_machines()}
    return True if shown == expected and len(states) > 0 else {"page": shown, "db": states}


def workshop_oee_from_db(feed: PipelineFeed) -> dict[str, str]:
    """The current shift's OEE per workshop from machine_utilization_1m: mean of its machines' means, in %."""
    now = datetime.now(UTC)
    shift, _ = periods.current_and_last_shift(PLANT, now)
    with connect(feed.pg) as conn:
        per_machine: dict[str, float] = dict(
            conn.execute(
                "SELECT machine_id, avg(oee) FROM machine_utilization_1m"
                " WHERE bucket >= %s AND bucket < %s AND oee IS NOT NULL GROUP BY machine_id",
                (shift.start, now),
            ).fetchall()
        )
    out = {}
    for ws in PLANT.workshops:
        values = [float(per_machine[m.id]) for line in ws.lines for m in line.machines if m.id in per_machine]
        out[ws.id] = "" if not values else f"{round(100.0 * sum(values) / len(values), 1)}"
    return out


def oee_matches(page: Page, feed: PipelineFeed) -> object:
    expected = workshop_oee_from_db(feed)
    shown = {ws.id: page.get_attribute(f"[data-testid=oee-{ws.id}]", "data-value") or "" for ws in PLANT.workshops}
    measured = any(value != "" for value in expected.values())
    return True if shown == expected and measured else {"page": shown, "db": expected}


def heatmap_matches(page: Page, feed: PipelineFeed) -> object:
    """Every cell of the heatmap is a minute row of the last hour, and every such row is a cell."""
    cells = page.evaluate(
        "() => echarts.getInstanceByDom(document.getElementById('heatmap')).getOption().series[0].data.length"
    )
    with connect(feed.pg) as conn:
        (rows,) = conn.execute(
            "SELECT count(*) FROM machine_utilization_1m WHERE bucket > date_trunc('minute', now()) - interval '60 min'"
            " AND bucket <= date_trunc('minute', now()) AND running_s + idle_s + setup_s + stopped_s"
            " + maintenance_s + fault_s + offline_s > 0"
        ).fetchone() or (0,)
    # Minutes of many machines have closed (not just the one the test's FAULT closed).
    return True if cells == rows and rows >= 20 else {"page": cells, "db": rows}


def test_board_on_the_real_pipeline(pipeline: PipelineFeed, site: Served, open_page: OpenPage) -> None:  # noqa: F811
    page, console = open_page(f"{site.base_url}/board?token={site.viewer}")
    wait_live(page, timeout_ms=60_000)  # the processors are up and writing

    # A machine that goes to FAULT (published over MQTT by its gateway) turns red within 2 s of the publish.
    page.evaluate(
        f"""() => {{ window.faultSeen = null; const el = document.getElementById('tile-{MACHINE}');
        new MutationObserver(() => {{ if (el.dataset.state === 'FAULT' && window.faultSeen === null)
          window.faultSeen = performance.timeOrigin + performance.now(); }})
          .observe(el, {{attributes: true, attributeFilter: ['data-state']}}); }}"""
    )
    sent = pipeline.set_machine_state(MACHINE, "FAULT", "hydraulics")
    page.wait_for_function("() => window.faultSeen !== null", timeout=5_000)
    delay_s = page.evaluate("() => window.faultSeen") / 1000.0 - sent
    assert delay_s < 2.0, f"the tile turned FAULT {delay_s:.2f} s after the publish"
    color = page.eval_on_selector(f"[data-testid=tile-{MACHINE}]", "el => getComputedStyle(el).backgroundColor")
    assert color == "rgb(211, 47, 47)"

    # The numbers on the board are the database's aggregates, as the processors wrote them.
    eventually(lambda: tiles_match(page, pipeline), "tiles vs machine_current_state", 10, pipeline)
    eventually(lambda: heatmap_matches(page, pipeline), "heatmap vs machine_utilization_1m", 60, pipeline)
    eventually(lambda: oee_matches(page, pipeline), "OEE gauges vs machine_utilization_1m", 15, pipeline)
    screenshot(page, "live-board-en")
    page.click("[data-testid=lang-switch]")
    page.wait_for_selector("[data-testid=page-title]:has-text('负荷看板')")
    wait_live(page)
    eventually(lambda: tiles_match(page, pipeline), "tiles after the language switch", 10, pipeline)
    page.wait_for_timeout(500)  # ECharts' entry animation, for the screenshot
    screenshot(page, "live-board-zh")

    # The plant falls silent while the processors run: their heartbeats keep the board live (quiet is not down).
    pipeline.stop_plant()
    quiet_until = time.monotonic() + 2 * site.settings.stale_after_s
    while time.monotonic() < quiet_until:
        assert page.get_attribute("[data-testid=freshness]", "data-state") == "live"
        page.wait_for_timeout(250)

    # The processors stop (the database and the rest stay up): the board says stale within 15 s ...
    pipeline.stop()
    page.wait_for_selector("[data-testid=freshness][data-state=stale]", timeout=15_000)
    assert "过期" in page.inner_text("[data-testid=live-badge]")
    screenshot(page, "live-board-zh-stale")
    # ... and it is live again once they are back, showing what the database holds.
    pipeline.start()
    wait_live(page, timeout_ms=60_000)
    eventually(lambda: tiles_match(page, pipeline), "tiles after the restart", 15, pipeline)
    assert console.errors == []
