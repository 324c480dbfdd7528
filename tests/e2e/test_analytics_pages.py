"""The analytics and staffing pages over real HTTP, on SQLite and PostgreSQL, against the day of
tests/support/analytics_day.py: the numbers shown, filters kept in the form and in every CSV
link, the downloads, names escaped, bad parameters explained, agents refused."""

from __future__ import annotations

import csv
import html
import io
import re

import httpx2
import pytest

from socialdesk.services.agents import create_team
from tests.e2e.conftest import Web
from tests.fakes import FrozenClock
from tests.support.analytics_day import FORMULA_TEAM, WorkedDay, at, work_the_day

THE_DAY = "from=2026-03-02&to=2026-03-02&tz=UTC"
SCRIPT = "<script>alert(1)</script>"


@pytest.fixture
def day(web: Web, clock: FrozenClock) -> WorkedDay:
    return work_the_day(web.desk, clock, web.channel_id)


@pytest.fixture
def supervisor(web: Web, day: WorkedDay) -> httpx2.Client:
    return web.sign_in("supervisor")


def hrefs(page: str, anchor_id: str) -> str:
    found = re.search(rf'href="([^"]*)" id="{anchor_id}"', page)
    assert found is not None, anchor_id
    return html.unescape(found.group(1))


def card(page: str, key: str) -> str:
    found = re.search(rf'id="card-{key}".*?class="an-value">([^<]*)<', page, re.S)
    assert found is not None, key
    return found.group(1)


def test_the_dashboard_shows_the_days_numbers(supervisor: httpx2.Client) -> None:
    page = supervisor.get(f"/analytics?{THE_DAY}")
    assert page.status_code == 200, page.text
    text = page.text
    assert card(text, "inbound") == "3"
    assert card(text, "response_rate") == "100.0 %"
    assert card(text, "first_response") == "45 min"
    assert card(text, "csat") == "—"
    assert 'title="responded ÷ needing_response"' in text
    assert 'href="/analytics/definitions#response_rate"' in text
    chart = re.search(r'id="series-chart"[^>]*data-chart="([^"]*)"', text)
    assert chart is not None
    assert '"Inbound"' in html.unescape(chart.group(1))
    assert '<script src="/static/vendor/chart.umd.min.js" defer></script>' in text
    assert '<a href="/analytics">Analytics</a>' in text


def test_filters_stay_in_the_form_and_in_every_csv_link(
    supervisor: httpx2.Client, day: WorkedDay
) -> None:
    page = supervisor.get(f"/analytics?{THE_DAY}&platform=x&team={day.team_id}&by=team").text
    assert 'name="from" value="2026-03-02"' in page
    assert 'name="to" value="2026-03-02"' in page
    assert '<option value="x" selected>' in page
    assert f'<option value="{day.team_id}" selected>' in page
    assert 'class="active" aria-current="true">team</a>' in page
    assert card(page, "inbound") == "1"
    link = hrefs(page, "breakdown-csv")
    assert link.startswith("/analytics/breakdown.csv?")
    assert {"platform=x", f"team={day.team_id}", "by=team", "from=2026-03-02"} <= set(
        link.split("?")[1].split("&")
    )
    download = supervisor.get(link)
    assert download.status_code == 200
    assert download.headers["content-type"] == "text/csv; charset=utf-8"
    assert "breakdown-team_2026-03-02_2026-03-02.csv" in download.headers["content-disposition"]
    table = list(csv.reader(io.StringIO(download.text)))
    assert [(r[1], r[2]) for r in table[1:]] == [("'" + FORMULA_TEAM, "1")]
    overview = supervisor.get(hrefs(page, "overview-csv"))
    assert dict(list(csv.reader(io.StringIO(overview.text)))[1:])["inbound"] == "1"
    series = supervisor.get(hrefs(page, "series-csv"))
    assert len(list(csv.reader(io.StringIO(series.text)))) == 25


def test_presets_pick_the_range_and_keep_the_filters(supervisor: httpx2.Client) -> None:
    page = supervisor.get("/analytics?platform=x").text
    presets = {
        label: html.unescape(href)
        for href, label in re.findall(r'class="an-preset[^"]*" href="([^"]*)">([^<]*)<', page)
    }
    assert (
        presets["Today"] == "/analytics?from=2026-03-02&to=2026-03-02&tz=UTC&platform=x&by=platform"
    )
    assert presets["30 days"].startswith("/analytics?from=2026-02-01&to=2026-03-02")
    assert 'class="an-preset active" href' in page  # 7 days, the default


def test_names_are_escaped(web: Web, supervisor: httpx2.Client) -> None:
    create_team(web.desk.uow(), SCRIPT, at(8), None)
    page = supervisor.get("/analytics?by=team").text
    assert SCRIPT not in page
    assert html.escape(SCRIPT, quote=False) in page


def test_the_staffing_page_shows_the_plan_and_its_downloads(supervisor: httpx2.Client) -> None:
    page = supervisor.get("/analytics/staffing?weeks=1&concurrency=2&tz=UTC")
    assert page.status_code == 200, page.text
    text = page.text
    assert "6 min" in text
    assert "from the setting: too few replies to measure" in text
    assert 'name="concurrency" min="1" max="20" value="2"' in text
    assert text.count("<tr><td>") >= 7  # a row per day
    assert 'id="staffing-chart"' in text
    days = supervisor.get(hrefs(text, "days-csv"))
    table = list(csv.reader(io.StringIO(days.text)))
    assert table[0][0] == "day"
    assert len(table) == 8
    hours = supervisor.get(hrefs(text, "hours-csv"))
    assert len(list(csv.reader(io.StringIO(hours.text)))) == 169


def test_the_definitions_page_lists_every_metric(supervisor: httpx2.Client) -> None:
    page = supervisor.get("/analytics/definitions").text
    assert '<tr id="turned_around">' in page
    assert "docs/metrics.md" in page


BAD = {
    "/analytics?from=soon": "from must be a date",
    "/analytics?by=mood": "by must be one of",
    "/analytics/staffing?weeks=9": "weeks must be a whole number from 1 to 4",
    "/analytics/breakdown.csv?tz=Atlantis": "unknown time zone",
}
PAGES = (
    "/analytics",
    "/analytics/definitions",
    "/analytics/overview.csv",
    "/analytics/series.csv",
    "/analytics/breakdown.csv",
    "/analytics/staffing",
    "/analytics/staffing/hours.csv",
    "/analytics/staffing/days.csv",
)


def test_bad_parameters_are_explained(web: Web) -> None:
    supervisor = web.sign_in("supervisor")
    for path, says in BAD.items():
        page = supervisor.get(path)
        assert page.status_code == 422, path
        assert says in html.unescape(page.text), path


def test_agents_are_refused_and_strangers_sent_to_sign_in(web: Web) -> None:
    agent, stranger = web.sign_in("agent"), web.client()
    assert 'href="/analytics"' not in agent.get("/").text
    for path in PAGES:
        assert agent.get(path).status_code == 403, path
        sent = stranger.get(path)
        assert sent.status_code == 303, path
        assert sent.headers["location"].startswith("/login"), path
