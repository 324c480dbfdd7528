"""The analytics API over real HTTP, on SQLite and PostgreSQL: a day made through the real
services (ingest, triage by the fake classifier, the playbook, replies, the reporting job) gives
the numbers worked out by hand (tests/support/analytics_day.py), as JSON and as CSV; wrong
parameters are refused naming the parameter; agents are refused."""

from __future__ import annotations

import csv
import io

import pytest

from tests.e2e.conftest import Api
from tests.fakes import FrozenClock
from tests.support.analytics_day import FORMULA_TEAM, WorkedDay, work_the_day

BASE = "/api/v1/analytics"
THE_DAY = {"from": "2026-03-02", "to": "2026-03-02", "tz": "UTC"}


@pytest.fixture
def day(api: Api, clock: FrozenClock) -> WorkedDay:
    return work_the_day(api.desk, clock, api.channel_id)


def rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_the_overview_of_the_day_is_what_was_worked_out_by_hand(api: Api, day: WorkedDay) -> None:
    response = api.get(f"{BASE}/overview", params=THE_DAY, as_="supervisor")
    assert response.status_code == 200, response.text
    o = response.json()
    assert o["cut"]["start"] == "2026-03-02T00:00:00Z"
    assert o["cut"]["end"] == "2026-03-03T00:00:00Z"
    assert (o["inbound"], o["outbound"], o["auto_acks"]) == (3, 2, 0)
    assert o["by_platform"] == {"x": 2, "email": 1}
    assert (o["social_share"], o["negative_share"]) == (0.6667, 0.3333)
    assert (o["needing_response"], o["responded"], o["response_rate"]) == (2, 2, 1.0)
    assert o["first_response"] == {"count": 2, "median_seconds": 2700.0, "p90_seconds": 3600}
    assert o["first_sla"] == {"met": 2, "total": 2, "share": 1.0}
    assert o["next_response"]["median_seconds"] is None
    assert o["sentiment_before"] == {"negative": 1, "neutral": 1}
    assert o["csat"]["share"] is None
    assert o["survey_response_rate"] is None


def test_filters_and_local_days_cut_the_numbers(api: Api, day: WorkedDay) -> None:
    on_x = api.get(f"{BASE}/overview", params={**THE_DAY, "platform": "x"}).json()
    assert (on_x["inbound"], on_x["cut"]["platform"]) == (2, "x")
    team = api.get(f"{BASE}/overview", params={**THE_DAY, "team": str(day.team_id)}).json()
    assert (team["inbound"], team["first_response"]["median_seconds"]) == (1, 1800.0)
    # 2 March in Tokyo ends at 15:00 UTC that day and begins at 15:00 UTC the day before.
    tokyo = api.get(f"{BASE}/overview", params={**THE_DAY, "tz": "Asia/Tokyo"}).json()
    assert tokyo["cut"]["start"] == "2026-03-01T15:00:00Z"
    assert tokyo["inbound"] == 3
    instants = {"from": "2026-03-02T09:05:00+00:00", "to": "2026-03-02T10:00:00Z"}
    between = api.get(f"{BASE}/overview", params=instants).json()
    assert (between["inbound"], between["outbound"]) == (2, 1)


def test_the_series_counts_each_hour_and_the_backlog(api: Api, day: WorkedDay) -> None:
    body = api.get(f"{BASE}/series", params=THE_DAY).json()
    assert body["interval"] == "hour"
    points = {p["start"][11:16]: p for p in body["points"]}
    assert len(points) == 24
    assert (points["09:00"]["inbound"], points["09:00"]["outbound"]) == (3, 1)
    assert (points["09:00"]["negative"], points["10:00"]["outbound"]) == (1, 1)
    assert points["09:00"]["backlog"] == 3
    daily = api.get(f"{BASE}/series", params={**THE_DAY, "interval": "day"}).json()
    assert [(p["start"], p["inbound"]) for p in daily["points"]] == [("2026-03-02T00:00:00Z", 3)]


def test_the_breakdown_names_its_rows(api: Api, day: WorkedDay) -> None:
    by_platform = api.get(f"{BASE}/breakdown", params={**THE_DAY, "by": "platform"}).json()
    assert [(r["key"], r["label"], r["inbound"]) for r in by_platform["rows"]] == [
        ("x", "X", 2),
        ("email", "E-mail", 1),
    ]
    by_team = api.get(f"{BASE}/breakdown", params={**THE_DAY, "by": "team"}).json()
    assert [(r["label"], r["inbound"]) for r in by_team["rows"]] == [
        ("no team", 2),
        (FORMULA_TEAM, 1),
    ]
    by_agent = api.get(f"{BASE}/breakdown", params={**THE_DAY, "by": "agent"}).json()
    sam = next(r for r in by_agent["rows"] if r["key"] == str(day.sam_id))
    assert (sam["label"], sam["outbound"]) == ("Sam", 2)


def test_every_table_downloads_as_csv_with_formulas_defused(api: Api, day: WorkedDay) -> None:
    response = api.get(f"{BASE}/breakdown", params={**THE_DAY, "by": "team", "format": "csv"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == (
        'attachment; filename="breakdown-team_2026-03-02_2026-03-02.csv"'
    )
    table = rows(response.text)
    assert table[0][:4] == ["key", "label", "inbound", "outbound"]
    assert "first_response.median_seconds" in table[0]
    assert [r[1] for r in table[1:]] == ["no team", "'" + FORMULA_TEAM]
    overview = rows(api.get(f"{BASE}/overview", params={**THE_DAY, "format": "csv"}).text)
    metrics = dict(overview[1:])
    assert overview[0] == ["metric", "value"]
    assert (metrics["inbound"], metrics["first_response.p90_seconds"]) == ("3", "3600")
    assert (metrics["by_platform.x"], metrics["cut.tz"]) == ("2", "UTC")
    asked = api.get(f"{BASE}/series", params=THE_DAY, headers={"Accept": "text/csv"})
    assert asked.headers["content-type"].startswith("text/csv")
    assert rows(asked.text)[0] == [
        "start",
        "local_start",
        "inbound",
        "outbound",
        "negative",
        "backlog",
    ]
    assert len(rows(asked.text)) == 25


def test_the_staffing_plan_learns_from_the_history(api: Api, day: WorkedDay) -> None:
    body = api.get(f"{BASE}/staffing", params={"weeks": "1", "tz": "UTC"}).json()
    a = body["assumptions"]
    assert (a["handle_source"], a["handle_seconds"], a["replies_measured"]) == ("setting", 360, 0)
    assert (a["start"], a["concurrency"], a["target_seconds"]) == ("2026-03-03T00:00:00Z", 3, 3600)
    assert len(body["hours"]) == 168
    assert len(body["days"]) == 7
    busy = [h for h in body["hours"] if h["expected"] > 0]
    # Only Monday 09:00 saw messages needing a response (A and B).
    assert [h["hour_start"] for h in busy] == ["2026-03-09T09:00:00Z"]
    assert busy[0]["agents"] == 1
    assert busy[0]["agents_scheduled"] == 2
    assert [d["peak_agents"] for d in body["days"]] == [0, 0, 0, 0, 0, 0, 1]
    given = api.get(f"{BASE}/staffing", params={"weeks": "2", "handle_minutes": "10"}).json()
    assert (given["assumptions"]["handle_source"], len(given["days"])) == ("given", 14)
    days = api.get(f"{BASE}/staffing", params={"weeks": "1", "format": "csv", "table": "days"})
    assert rows(days.text)[0][:3] == ["day", "hours", "expected_volume"]
    assert rows(days.text)[-1][0] == "2026-03-09"
    assert 'filename="staffing-days_2026-03-03_1w.csv"' in days.headers["content-disposition"]


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("overview", {"from": "yesterday"}, "from"),
        ("overview", {"from": "2026-02-30"}, "from"),
        ("overview", {"from": "2026-03-05", "to": "2026-03-01"}, "to"),
        ("overview", {"from": "2020-01-01", "to": "2026-03-01"}, "to"),
        ("overview", {"tz": "Mars/Olympus"}, "tz"),
        ("overview", {"hours": "office"}, "hours"),
        ("overview", {"channel": "x"}, "channel"),
        ("overview", {"platform": "X!"}, "platform"),
        ("overview", {"format": "xml"}, "format"),
        ("breakdown", {"by": "mood"}, "by"),
        ("series", {"interval": "minute"}, "interval"),
        ("series", {"interval": "hour", "from": "2026-01-01"}, "interval"),
        ("staffing", {"weeks": "5"}, "weeks"),
        ("staffing", {"concurrency": "0"}, "concurrency"),
        ("staffing", {"target_share": "90"}, "target_share"),
        ("staffing", {"handle_minutes": "nan"}, "handle_minutes"),
        ("staffing", {"shrinkage": "1"}, "shrinkage"),
        ("staffing", {"table": "weeks", "format": "csv"}, "table"),
    ],
)
def test_wrong_parameters_are_refused_naming_them(
    api: Api, path: str, params: dict[str, str], field: str
) -> None:
    response = api.get(f"{BASE}/{path}", params=params)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["field"] == field


@pytest.mark.parametrize("path", ["overview", "series", "breakdown", "staffing"])
def test_agents_and_strangers_are_refused(api: Api, path: str) -> None:
    assert api.get(f"{BASE}/{path}", as_="agent").status_code == 403
    assert api.get(f"{BASE}/{path}", as_=None).status_code == 401
    assert api.get(f"{BASE}/{path}", as_="admin").status_code == 200
    refused = api.get(f"{BASE}/{path}", params={"from": "bad"}, as_="agent")
    assert refused.status_code == 403


def test_the_openapi_document_describes_the_numbers(api: Api) -> None:
    schema = api.get("/openapi.json", as_=None).json()
    overview = schema["paths"][f"{BASE}/overview"]["get"]
    assert {p["name"] for p in overview["parameters"]} >= {"from", "to", "tz", "hours", "tag"}
    assert "text/csv" in overview["responses"]["200"]["content"]
    described = schema["components"]["schemas"]["OverviewOut"]["properties"]
    assert described["response_rate"]["description"] == "responded ÷ needing_response"
    assert "StaffingHourOut" in schema["components"]["schemas"]
