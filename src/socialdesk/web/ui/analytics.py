"""The analytics dashboard for supervisors: the metrics of docs/metrics.md as cards, a time series
chart, a breakdown table by one dimension, each table as a CSV download, and the definitions.

The page is a GET form: its filters live in the query string, so a view can be bookmarked and
its CSV links carry the same filters. The numbers are the API's response models
(web/analytics_reports.py); the chart's data rides in a `data-chart` attribute that
static/charts.js draws (the CSP allows no inline script).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from socialdesk.queries.analytics import Cut, Dimension
from socialdesk.queries.analytics_labels import analytics_labels
from socialdesk.web.analytics_params import (
    CUT_PARAMS,
    parse_cut,
    parse_dimension,
    parse_interval,
)
from socialdesk.web.analytics_reports import (
    breakdown_csv,
    breakdown_report,
    overview_csv,
    overview_report,
    series_csv,
    series_report,
)
from socialdesk.web.api.analytics_schemas import (
    AttainmentOut,
    DurationsOut,
    OverviewOut,
    SeriesOut,
)
from socialdesk.web.deps import DeskDep
from socialdesk.web.ui.auth import SupervisorUser, frame
from socialdesk.web.ui.pages import PageRoute, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)

PRESETS = (("today", "Today", 1), ("7d", "7 days", 7), ("30d", "30 days", 30))


# -- numbers as people read them --------------------------------------------------------------


def duration_text(seconds: float | None) -> str:
    """'45 s', '12 min', '3 h 05 min', '2 d 4 h'; an em dash for no value."""
    if seconds is None:
        return "—"
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    minutes = whole // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


def percent_text(share: float | None) -> str:
    return "—" if share is None else f"{share * 100:.1f} %"


@dataclass(frozen=True, slots=True)
class Card:
    """One headline number: its metric's name in the API, what it means, and the detail."""

    key: str
    label: str
    value: str
    detail: str
    definition: str


def _attained(a: AttainmentOut) -> str:
    return f"{a.met} of {a.total}"


def _spread(d: DurationsOut) -> str:
    return f"p90 {duration_text(d.p90_seconds)} · {d.count} measured"


def cards(o: OverviewOut) -> list[Card]:
    """The overview as cards; each definition is the API field's description."""
    said = {name: info.description or "" for name, info in OverviewOut.model_fields.items()}

    def card(key: str, label: str, value: str, detail: str) -> Card:
        return Card(key, label, value, detail, said[key])

    answered = f"{o.surveys_answered} of {o.surveys_asked} surveys answered"
    return [
        card(
            "inbound",
            "Inbound",
            str(o.inbound),
            f"{percent_text(o.social_share)} social · {percent_text(o.negative_share)} negative",
        ),
        card("outbound", "Replies", str(o.outbound), f"+ {o.auto_acks} automatic acknowledgements"),
        card(
            "response_rate",
            "Response rate",
            percent_text(o.response_rate),
            f"{o.responded} of {o.needing_response} · {o.suppressed} suppressed apart",
        ),
        *(
            card(key, label, duration_text(d.median_seconds), _spread(d))
            for key, label, d in (
                ("first_response", "First response (median)", o.first_response),
                ("next_response", "Next response (median)", o.next_response),
                ("resolution", "Resolution (median)", o.resolution),
            )
        ),
        card(
            "first_sla",
            "First response SLA",
            percent_text(o.first_sla.share),
            f"{_attained(o.first_sla)} · next {percent_text(o.next_sla.share)}",
        ),
        card(
            "turned_around",
            "Sentiment turned around",
            percent_text(o.turned_around.share),
            f"{_attained(o.turned_around)} negative conversations",
        ),
        card(
            "positive_after_engagement",
            "Positive after engagement",
            str(o.positive_after_engagement),
            "customer messages after the first reply",
        ),
        card(
            "csat",
            "CSAT",
            percent_text(o.csat.share),
            f"mean {o.csat_mean if o.csat_mean is not None else '—'} · {answered}",
        ),
        card("nps", "NPS", "—" if o.nps is None else f"{o.nps:+.0f}", f"{o.nps_answers} answers"),
        card(
            "qa_score",
            "QA score",
            "—" if o.qa_score is None else f"{o.qa_score:.0f}",
            f"{o.reviews} reviews",
        ),
    ]


# -- the form, its presets and links ----------------------------------------------------------


def last_day(cut: Cut) -> date:
    """The last local day the range covers (its end is the start of the next)."""
    return (cut.end - timedelta(microseconds=1)).astimezone(ZoneInfo(cut.tz)).date()


def form_values(params: Mapping[str, str], cut: Cut, *extra: str) -> dict[str, str]:
    """What the form shows: the parameters as typed, the range as the dates it resolved to."""
    values = {name: params.get(name, "").strip() for name in (*CUT_PARAMS, *extra)}
    zone = ZoneInfo(cut.tz)
    if not values["from"] or "T" not in values["from"]:
        values["from"] = cut.start.astimezone(zone).date().isoformat()
    if not values["to"] or "T" not in values["to"]:
        values["to"] = last_day(cut).isoformat()
    values["tz"] = cut.tz
    return values


def link(path: str, values: Mapping[str, str], **changes: str) -> str:
    """`path` with the values (and changes) as its query string; empty ones left out."""
    query = {k: v for k, v in {**values, **changes}.items() if v}
    return f"{path}?{urlencode(query)}" if query else path


def presets(values: Mapping[str, str], today: date) -> list[dict[str, str | bool]]:
    found: list[dict[str, str | bool]] = []
    for key, label, days in PRESETS:
        first, last = (today - timedelta(days=days - 1)).isoformat(), today.isoformat()
        found.append(
            {
                "key": key,
                "label": label,
                "href": link("/analytics", values, **{"from": first, "to": last}),
                "active": values["from"] == first and values["to"] == last,
            }
        )
    return found


def chart_data(labels: list[str], y: str, y2: str, datasets: list[dict[str, Any]]) -> str:
    """A chart as static/charts.js reads it: JSON for a `data-chart` attribute (the template
    escapes it). Each dataset: label, data, and optionally type "line", axis "y2" (the right
    axis, whole numbers), stepped, dashed."""
    return json.dumps({"labels": labels, "y": y, "y2": y2, "datasets": datasets})


def series_chart(series: SeriesOut) -> str:
    pattern = "%d %b %H:%M" if series.interval == "hour" else "%a %d %b"
    points = series.points
    backlog = {"type": "line", "axis": "y2", "stepped": True}
    return chart_data(
        [p.local_start.strftime(pattern) for p in points],
        "messages",
        "open conversations",
        [
            {"label": "Inbound", "data": [p.inbound for p in points]},
            {"label": "Replies", "data": [p.outbound for p in points]},
            {"label": "Negative", "data": [p.negative for p in points]},
            {"label": "Backlog", "data": [p.backlog for p in points], **backlog},
        ],
    )


# -- the pages and downloads ------------------------------------------------------------------


def _cut(request: Request, desk: DeskDep) -> Cut:
    return parse_cut(request.query_params, now=desk.clock.now(), default_tz=desk.settings.timezone)


@router.get("/analytics", response_class=HTMLResponse)
def dashboard(request: Request, desk: DeskDep, user: SupervisorUser) -> Response:
    params = request.query_params
    cut = _cut(request, desk)
    by = parse_dimension(params.get("by"))
    hourly = parse_interval(params.get("interval"), cut)
    with desk.read_engine.connect() as conn:
        labels = analytics_labels(conn)
        numbers = overview_report(conn, cut)
        points = series_report(conn, cut, hourly=hourly)
        rows = breakdown_report(conn, cut, by, labels)
    values = form_values(params, cut, "by", "interval")
    values["by"] = by.value
    today = desk.clock.now().astimezone(ZoneInfo(cut.tz)).date()
    context = frame(
        desk,
        user,
        values=values,
        numbers=numbers,
        cards=cards(numbers),
        series=points,
        chart=series_chart(points),
        breakdown=rows,
        labels=labels,
        by_links={d.value: link("/analytics", values, by=d.value) for d in Dimension},
        presets=presets(values, today),
        links={
            name: link(f"/analytics/{name}.csv", values)
            for name in ("overview", "series", "breakdown")
        },
        staffing_link=link(
            "/analytics/staffing",
            {k: values[k] for k in ("tz", "platform", "team")},
        ),
        duration=duration_text,
        percent=percent_text,
    )
    return render("ui/analytics/dashboard.html", context)


@router.get("/analytics/overview.csv")
def overview_download(request: Request, desk: DeskDep, _: SupervisorUser) -> Response:
    cut = _cut(request, desk)
    with desk.read_engine.connect() as conn:
        return overview_csv(overview_report(conn, cut))


@router.get("/analytics/series.csv")
def series_download(request: Request, desk: DeskDep, _: SupervisorUser) -> Response:
    cut = _cut(request, desk)
    hourly = parse_interval(request.query_params.get("interval"), cut)
    with desk.read_engine.connect() as conn:
        return series_csv(series_report(conn, cut, hourly=hourly))


@router.get("/analytics/breakdown.csv")
def breakdown_download(request: Request, desk: DeskDep, _: SupervisorUser) -> Response:
    cut = _cut(request, desk)
    by = parse_dimension(request.query_params.get("by"))
    with desk.read_engine.connect() as conn:
        return breakdown_csv(breakdown_report(conn, cut, by))


@router.get("/analytics/definitions", response_class=HTMLResponse)
def definitions(desk: DeskDep, user: SupervisorUser) -> Response:
    """Every overview metric with its definition (the API's field descriptions)."""
    metrics = [
        (name, info.description or "")
        for name, info in OverviewOut.model_fields.items()
        if name != "cut"
    ]
    return render("ui/analytics/definitions.html", frame(desk, user, metrics=metrics))
