"""The analytics pages in a real browser (Debian's headless Chromium driven by Playwright), on
SQLite and PostgreSQL: Chart.js draws the time series and the staffing chart under the strict
Content-Security-Policy (no inline script or style), with nothing refused in the console."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Error, Page, expect

from socialdesk.bootstrap import Desk
from tests.e2e.conftest import PASSWORD, Web, serve_workspace
from tests.fakes import FrozenClock
from tests.support.analytics_day import work_the_day

WAIT_MS = 15_000


@pytest.fixture
def served(desk: Desk, clock: FrozenClock) -> Iterator[Web]:
    with serve_workspace(desk) as web:
        work_the_day(desk, clock, web.channel_id)
        yield web


@pytest.fixture
def page(chromium: Browser, served: Web) -> Iterator[Page]:
    context = chromium.new_context(base_url=served.url, viewport={"width": 1366, "height": 900})
    page = context.new_page()
    problems: list[str] = []

    def console(message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            problems.append(f"console {message.type}: {message.text}")

    def failed(error: Error) -> None:
        problems.append(f"page error: {error}")

    page.on("console", console)
    page.on("pageerror", failed)
    page.goto("/login")
    page.fill("#username", "supervisor")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("header.top")).to_contain_text("The supervisor", timeout=WAIT_MS)
    yield page
    context.close()
    assert problems == [], f"the page reported problems: {problems}"


def drawn_size(page: Page, selector: str) -> tuple[int, int]:
    """The canvas's drawing buffer once Chart.js has drawn it (charts.js marks it drawn)."""
    expect(page.locator(f"{selector}[data-drawn=true]")).to_have_count(1, timeout=WAIT_MS)
    size = page.eval_on_selector(selector, "c => [c.width, c.height]")
    return int(size[0]), int(size[1])


def test_the_dashboard_chart_draws_under_the_csp(page: Page) -> None:
    page.goto("/analytics?from=2026-03-02&to=2026-03-02&tz=UTC")
    expect(page.locator("#card-inbound .an-value")).to_have_text("3")
    width, height = drawn_size(page, "#series-chart")
    assert width > 300
    assert height > 100
    painted = page.eval_on_selector(
        "#series-chart",
        "c => c.getContext('2d').getImageData(0, 0, c.width, c.height).data.some(v => v !== 0)",
    )
    assert painted
    page.click("text=30 days")
    expect(page.locator("a.an-preset.active")).to_have_text("30 days")
    drawn_size(page, "#series-chart")


def test_the_staffing_chart_draws_under_the_csp(page: Page) -> None:
    page.goto("/analytics/staffing?weeks=1")
    width, height = drawn_size(page, "#staffing-chart")
    assert width > 300
    assert height > 100
    expect(page.locator("#days tbody tr")).to_have_count(7)
