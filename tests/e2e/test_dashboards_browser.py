"""The dashboards in a real browser (Debian's Chromium) over the real PostgreSQL, served by uvicorn.

The data comes from a feed: here :class:`FixtureFeed` writes the rows the stream processors write; a feed
driving the simulator and the real processors offers the same ``set_machine_state``/``start``/``stop``.
Never wait for ``networkidle``: the page's EventSource keeps the network busy forever.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from playwright.sync_api import Browser

from shopfloor.db.pool import connect
from shopfloor.plant import load_plant
from shopfloor.settings import PROJECT_ROOT, PostgresSettings
from shopfloor.stack.process import free_port
from tests.dashboards_support.browser import OpenPage, browser, open_page, screenshot, wait_live  # noqa: F401
from tests.dashboards_support.pg import dash_pg, dash_pg_server  # noqa: F401
from tests.dashboards_support.seed import seed
from tests.dashboards_support.serve import Served, make_tokens, served
from tests.dashboards_support.writer import FixtureFeed

pytestmark = pytest.mark.e2e

PLANT = load_plant(PROJECT_ROOT / "infra" / "plants" / "demo.yaml")


@pytest.fixture
def site(dash_pg: PostgresSettings) -> Iterator[tuple[Served, FixtureFeed]]:  # noqa: F811
    feed = FixtureFeed(dash_pg, PLANT)
    seed(feed, datetime.now(UTC))
    feed.start()
    try:
        with served(dash_pg, PLANT) as app:
            yield app, feed
    finally:
        feed.stop()


def test_board_is_live_right_and_honest_when_data_stops(site: tuple[Served, FixtureFeed], open_page: OpenPage) -> None:  # noqa: F811
    app, feed = site
    page, console = open_page(f"{app.base_url}/board?token={app.viewer}")
    wait_live(page)
    page.wait_for_selector("[data-testid=pool-total]")

    # A machine that goes to FAULT turns red within 2 s.
    feed.set_machine_state("H3", "FAULT", "hydraulics")
    page.wait_for_selector("[data-testid=tile-H3][data-state=FAULT]", timeout=2000)
    color = page.eval_on_selector("[data-testid=tile-H3]", "el => getComputedStyle(el).backgroundColor")
    assert color == "rgb(211, 47, 47)"

    # The numbers on the board equal the database's aggregates.
    with connect(feed.pg) as conn:
        states = dict(conn.execute("SELECT machine_id, state FROM machine_current_state").fetchall())
        (pool_total,) = conn.execute(
            "SELECT sum(orders) FROM order_pool_1m WHERE bucket = (SELECT max(bucket) FROM order_pool_1m)"
        ).fetchone() or (None,)
        (open_wos,) = conn.execute("SELECT count(*) FROM work_order WHERE status <> 'done'").fetchone() or (None,)
    shown = page.eval_on_selector_all("[data-testid^=tile-]", "els => els.map(e => [e.id.slice(5), e.dataset.state])")
    assert dict(shown) == states
    assert page.inner_text("[data-testid=pool-total]") == str(pool_total)
    assert page.inner_text("[data-testid=pending-heading]") == str(open_wos)
    assert page.get_attribute("[data-testid=oee-heading]", "data-value") not in (None, "")

    screenshot(page, "board-en")
    assert page.inner_text("[data-testid=page-title]") == "Load board"
    page.click("[data-testid=lang-switch]")
    page.wait_for_selector("[data-testid=page-title]:has-text('负荷看板')")
    wait_live(page)
    page.wait_for_selector("[data-testid=pool-total]")
    page.wait_for_timeout(500)  # let ECharts finish its entry animation for the screenshot
    screenshot(page, "board-zh")

    # Stopping the writers makes the board say stale within 15 s; it recovers when they return.
    feed.stop()
    page.wait_for_selector("[data-testid=freshness][data-state=stale]", timeout=15_000)
    assert "过期" in page.inner_text("[data-testid=live-badge]")
    screenshot(page, "board-zh-stale")
    feed.start()
    wait_live(page, timeout_ms=15_000)
    assert console.errors == []


def test_browser_language_is_the_default(site: tuple[Served, FixtureFeed], open_page: OpenPage) -> None:  # noqa: F811
    app, _ = site
    page, console = open_page(f"{app.base_url}/board?token={app.viewer}", locale="zh-CN")
    assert page.inner_text("[data-testid=page-title]") == "负荷看板"
    wait_live(page)
    assert console.errors == []


def test_planning_pages_in_both_languages(site: tuple[Served, FixtureFeed], open_page: OpenPage) -> None:  # noqa: F811
    app, feed = site
    with connect(feed.pg) as conn:
        scheduled = {
            f"op-{wo}-{seq}"
            for wo, seq in conn.execute(
                "SELECT work_order_id, seq FROM scheduled_operation so JOIN schedule_plan p USING (plan_id)"
                " WHERE p.is_current"
            ).fetchall()
        }
    for lang in ("en", "zh"):
        page, console = open_page(f"{app.base_url}/gantt?token={app.planner}&lang={lang}")
        wait_live(page)
        page.wait_for_selector("[data-testid=gantt][data-operations]")
        shown = set(page.eval_on_selector_all("[data-testid^=op-]", "els => els.map(e => e.dataset.testid)"))
        assert shown == scheduled
        drawn = page.evaluate(
            "() => echarts.getInstanceByDom(document.getElementById('gantt')).getOption().series[1].data.length"
        )
        assert drawn == len(scheduled)
        # Hovering an operation shows its order, customer and due date.
        page.evaluate(
            "() => echarts.getInstanceByDom(document.getElementById('gantt'))"
            ".dispatchAction({type: 'showTip', seriesIndex: 1, dataIndex: 0})"
        )
        customer = "Customer" if lang == "en" else "客户"
        page.wait_for_function(f"() => document.getElementById('gantt').innerText.includes('{customer}')")
        tip = page.inner_text("[data-testid=gantt]")
        assert "SO-" in tip and "CUST-" in tip
        screenshot(page, f"gantt-{lang}")

        page.goto(f"{app.base_url}/machines/H1", wait_until="domcontentloaded")
        wait_live(page)
        page.wait_for_selector("[data-testid=cur-oee]")
        shift_text = page.inner_text("[data-testid=current-shift]")  # the shift's process values
        assert all(signal.name in shift_text for signal in PLANT.machine("H1").process)
        page.wait_for_timeout(400)
        screenshot(page, f"machine-{lang}")

        page.goto(f"{app.base_url}/orders", wait_until="domcontentloaded")
        page.wait_for_selector("[data-testid=order-SO-1008]")
        page.select_option("select[name=rush]", "true")
        page.wait_for_function("() => !document.querySelector('[data-testid=order-SO-1008]')")
        assert page.locator("[data-testid^=order-SO-]").count() == 3
        screenshot(page, f"orders-{lang}")

        page.goto(f"{app.base_url}/orders/SO-1008", wait_until="domcontentloaded")
        page.wait_for_selector("[data-testid=version-2]")
        screenshot(page, f"order-{lang}")
        expected = "Promise date" if lang == "en" else "承诺交期"
        assert expected in page.inner_text("[data-testid=order]")
        assert console.errors == []


def test_board_says_stale_while_the_server_is_away_and_recovers_after_its_restart(
    dash_pg: PostgresSettings,  # noqa: F811
    browser: Browser,  # noqa: F811
) -> None:
    feed = FixtureFeed(dash_pg, PLANT)
    seed(feed, datetime.now(UTC))
    feed.start()
    context = browser.new_context(locale="en-US")
    port, tokens = free_port(), make_tokens()
    try:
        with served(dash_pg, PLANT, port=port, tokens=tokens) as app:
            page = context.new_page()
            page.goto(f"{app.base_url}/board?token={app.viewer}", wait_until="domcontentloaded")
            wait_live(page)
        # The server is gone: the stream is down, so the board must not pass for live.
        page.wait_for_selector("[data-testid=freshness][data-state=stale]", timeout=15_000)
        assert page.inner_text("#stale-reason") == "live stream down"
        with served(dash_pg, PLANT, port=port, tokens=tokens):
            wait_live(page, timeout_ms=15_000)  # reconnected by itself, fresh snapshot from the new process
            feed.set_machine_state("H6", "FAULT")
            page.wait_for_selector("[data-testid=tile-H6][data-state=FAULT]", timeout=2000)
    finally:
        context.close()
        feed.stop()
