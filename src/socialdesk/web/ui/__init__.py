"""The agent workspace: server-rendered pages (Jinja2 + htmx) on top of the same services and
queries as the API, with live updates by Server-Sent Events."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from socialdesk.bootstrap import Desk
from socialdesk.web.ui import (
    analytics,
    auth,
    conversation,
    inbox,
    notices,
    staffing,
    stream,
    supervisor,
    supervisor_directory,
    supervisor_listening,
    supervisor_playbook,
    supervisor_quality,
    supervisor_rubric,
    surveys,
)
from socialdesk.web.ui.session import Sessions
from socialdesk.web.ui.surveys import SurveyPages

STATIC = Path(__file__).resolve().parent.parent / "static"


def install(app: FastAPI, desk: Desk) -> None:
    """Mount the workspace's pages, fragments, stream and static files on the app."""
    app.state.sessions = Sessions(desk.secrets.derive("session"))
    app.state.survey_pages = SurveyPages(desk.secrets.derive("survey"))
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for module in (
        auth,
        inbox,
        conversation,
        notices,
        stream,
        supervisor,
        supervisor_playbook,
        supervisor_directory,
        supervisor_rubric,  # before supervisor_quality: /supervisor/quality/{conversation_id}
        supervisor_quality,
        supervisor_listening,
        staffing,
        analytics,
        surveys,
    ):
        app.include_router(module.router)
