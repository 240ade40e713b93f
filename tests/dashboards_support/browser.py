"""Debian's Chromium driven by Playwright (its Python wheel ships the driver; no browser is downloaded)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, sync_playwright

from shopfloor.settings import PROJECT_ROOT

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = PROJECT_ROOT / "test-artifacts" / "dashboards"


# Module scope: Playwright's sync API runs an event loop in this thread while it is open, and other
# modules' asyncio.run() must not find it there.
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"{CHROMIUM} is missing: run infra/install.sh (installs Debian's chromium)")
    with sync_playwright() as p:
        found = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield found
        found.close()


class ConsoleErrors:
    """Every console error and uncaught exception of a page."""

    def __init__(self, page: Page) -> None:
        self.errors: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(f"console: {message.text}")


def screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


OpenPage = Callable[..., tuple[Page, ConsoleErrors]]


@pytest.fixture
def open_page(browser: Browser) -> Iterator[OpenPage]:
    """Pages in contexts of their own, closed before the server stops (an open EventSource holds it up)."""
    contexts: list[BrowserContext] = []

    def open_(url: str, locale: str = "en-US") -> tuple[Page, ConsoleErrors]:
        context = browser.new_context(locale=locale, viewport={"width": 1920, "height": 1080})
        contexts.append(context)
        page = context.new_page()
        errors = ConsoleErrors(page)
        page.goto(url, wait_until="domcontentloaded")
        return page, errors

    yield open_
    for context in contexts:
        context.close()


def wait_live(page: Page, timeout_ms: int = 10_000) -> None:
    """Until the page says its data is live (never wait for ``networkidle``: the EventSource stays open)."""
    page.wait_for_selector("[data-testid=freshness][data-state=live]", timeout=timeout_ms)
