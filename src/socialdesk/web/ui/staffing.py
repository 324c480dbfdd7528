"""The staffing page for supervisors: the forecast of messages needing a response per hour for
the next weeks and the agents needed to answer them within the target (docs/staffing.md), as a
chart, a summary per local day and the hourly table, each table as a CSV download.

Like the dashboard it is a GET form: what the planner types (handle time, concurrency, target,
shrinkage, weeks) lives in the query string, so a plan can be bookmarked and sent on.
"""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from socialdesk.queries.analytics_labels import analytics_labels
from socialdesk.web.analytics_params import STAFFING_PARAMS, parse_staffing
from socialdesk.web.analytics_reports import staffing_csv, staffing_report
from socialdesk.web.api.analytics_schemas import StaffingOut
from socialdesk.web.deps import DeskDep
from socialdesk.web.ui.analytics import chart_data, duration_text, link, percent_text
from socialdesk.web.ui.auth import SupervisorUser, frame
from socialdesk.web.ui.pages import PageRoute, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)

SOURCES = {
    "given": "as typed",
    "measured": "measured from the desk's replies",
    "setting": "from the setting: too few replies to measure",
}


def staffing_chart(plan: StaffingOut) -> str:
    """Expected volume (with the top of its 80 % interval) and agents per hour."""
    hours = plan.hours
    agents = {"type": "line", "axis": "y2", "stepped": True}
    return chart_data(
        [h.local_start.strftime("%a %d %H:%M") for h in hours],
        "messages per hour",
        "agents",
        [
            {"label": "Expected messages", "data": [h.expected for h in hours]},
            {
                "label": "High (80 %)",
                "data": [h.high for h in hours],
                "type": "line",
                "dashed": True,
            },
            {"label": "Agents on queue", "data": [h.agents for h in hours], **agents},
            {"label": "Agents scheduled", "data": [h.agents_scheduled for h in hours], **agents},
        ],
    )


def _plan(request: Request, desk: DeskDep) -> StaffingOut:
    ask = parse_staffing(request.query_params, default_tz=desk.settings.timezone)
    with desk.read_engine.connect() as conn:
        return staffing_report(
            conn,
            ask,
            now=desk.clock.now(),
            fallback_handle_seconds=desk.settings.staffing_handle_minutes * 60,
        )


def form_values(params: Mapping[str, str], plan: StaffingOut) -> dict[str, str]:
    """The parameters as typed; the zone as used."""
    values = {name: params.get(name, "").strip() for name in STAFFING_PARAMS}
    values["tz"] = plan.assumptions.tz
    return values


@router.get("/analytics/staffing", response_class=HTMLResponse)
def staffing(request: Request, desk: DeskDep, user: SupervisorUser) -> Response:
    plan = _plan(request, desk)
    with desk.read_engine.connect() as conn:
        labels = analytics_labels(conn)
    values = form_values(request.query_params, plan)
    context = frame(
        desk,
        user,
        plan=plan,
        a=plan.assumptions,
        values=values,
        labels=labels,
        source=SOURCES[plan.assumptions.handle_source.value],
        chart=staffing_chart(plan),
        links={
            table: link(f"/analytics/staffing/{table}.csv", values) for table in ("hours", "days")
        },
        duration=duration_text,
        percent=percent_text,
    )
    return render("ui/analytics/staffing.html", context)


@router.get("/analytics/staffing/hours.csv")
def hours_download(request: Request, desk: DeskDep, _: SupervisorUser) -> Response:
    return staffing_csv(_plan(request, desk), "hours")


@router.get("/analytics/staffing/days.csv")
def days_download(request: Request, desk: DeskDep, _: SupervisorUser) -> Response:
    return staffing_csv(_plan(request, desk), "days")
