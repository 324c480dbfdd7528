"""The playbook editor: the live version and every saved one, the file in a text box, and what a
supervisor does with it: check it (every problem listed by line beside the editor, the text
kept), save it as a new version (live at once or not), backtest it (or any saved version) on the
stored history against the live one, activate a version, roll back.

Nothing here is saved unless the file is valid: a refused save shows the page again with the
problems and the text as typed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.responses import RedirectResponse, Response

from socialdesk.domain.errors import DomainError, InvalidInput, NotFound
from socialdesk.domain.playbook import PlaybookInvalid, PlaybookProblem
from socialdesk.domain.playbook_versions import MAX_COMMENT, MAX_SOURCE
from socialdesk.queries.configuration import list_playbook_versions
from socialdesk.services import playbooks
from socialdesk.services.backtesting import backtest_candidate
from socialdesk.web.deps import DeskDep
from socialdesk.web.errors import status_of
from socialdesk.web.ui.auth import Posted, SupervisorUser, User, frame
from socialdesk.web.ui.pages import PageRoute, render
from socialdesk.web.ui.supervisor import SupervisorForm, done_message

router = APIRouter(route_class=PageRoute, include_in_schema=False)

SOURCE_NAME = "playbook.yaml"
VERSIONS_SHOWN = 100
SINCE = {"7": "the last 7 days", "30": "the last 30 days", "90": "the last 90 days", "all": "all"}
DEFAULT_SINCE = "30"
DONE = {
    "saved": "Version saved (not live). Activate it when you are ready.",
    "live": "Version saved and live: new messages go through it from now on.",
    "activated": "Version activated: new messages go through it from now on.",
    "rolled_back": "Rolled back: the version live before is live again.",
}
SUMMARY = (
    ("matched", "messages a rule matched"),
    ("unrouted", "messages left without a team"),
    ("suppressed", "suppressed"),
    ("escalated", "escalated"),
    ("auto_acknowledged", "acknowledged automatically"),
    ("private_required", "must be answered privately"),
)


# -- what the page shows of problems and backtests ----------------------------------------------


@dataclass(frozen=True, slots=True)
class ProblemRow:
    """One problem of the file, with the line it points at (as typed) to read beside it."""

    line: int | None
    rule: str | None
    message: str
    excerpt: str


def problem_rows(source: str, errors: tuple[PlaybookProblem, ...]) -> list[ProblemRow]:
    lines = source.split("\n")
    return [
        ProblemRow(
            p.line,
            p.rule,
            p.message,
            lines[p.line - 1].rstrip() if p.line and 0 < p.line <= len(lines) else "",
        )
        for p in errors
    ]


@dataclass(frozen=True, slots=True)
class Compared:
    """One measure, candidate beside live ('' where there is no live playbook)."""

    label: str
    candidate: str
    live: str
    change: str


@dataclass(frozen=True, slots=True)
class BacktestView:
    candidate: str
    messages: int
    live_version: int | None
    since: str
    summary: list[Compared]
    rules: list[Compared]
    teams: list[Compared]
    baseline: str
    unchanged: int
    changed: int
    changes: list[dict[str, Any]] = field(default_factory=list)


def _change(candidate: int, live: int | None) -> str:
    if live is None:
        return ""
    return f"{candidate - live:+d}" if candidate != live else "0"


def _counts(label: str, candidate: int, live: int | None) -> Compared:
    return Compared(
        label, str(candidate), "" if live is None else str(live), _change(candidate, live)
    )


def _attainment(side: Mapping[str, Any] | None) -> float | None:
    return None if side is None else side["sla"]["attainment"]


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.1f}%"


def _by_name(
    candidate: Mapping[str, int], live: Mapping[str, int] | None, *, by_count: bool
) -> list[Compared]:
    names = list(candidate) + [n for n in (live or {}) if n not in candidate]
    if by_count:
        names.sort(key=lambda n: (-candidate.get(n, 0), n))
    return [
        _counts(name, candidate.get(name, 0), None if live is None else live.get(name, 0))
        for name in names
    ]


def backtest_view(report: Mapping[str, Any], candidate: str, since: str) -> BacktestView:
    """The backtest report as the tables the page shows."""
    cand: Mapping[str, Any] = report["candidate"]
    live: Mapping[str, Any] | None = report["live"]
    summary = [
        _counts(label, cand[key], None if live is None else live[key]) for key, label in SUMMARY
    ]
    c_att, l_att = _attainment(cand), _attainment(live)
    points = "" if c_att is None or l_att is None else f"{(c_att - l_att) * 100:+.1f} pt"
    summary.append(
        Compared(
            "first responses in target (SLA)",
            f"{_percent(c_att)} of {cand['sla']['measured']}",
            "" if live is None else f"{_percent(l_att)} of {live['sla']['measured']}",
            points,
        )
    )
    routing = report["routing"]
    return BacktestView(
        candidate=candidate,
        messages=report["messages"],
        live_version=report["live_version"],
        since=since,
        summary=summary,
        rules=_by_name(
            cand["rule_matches"], None if live is None else live["rule_matches"], by_count=False
        ),
        teams=_by_name(cand["teams"], None if live is None else live["teams"], by_count=True),
        baseline=routing["baseline"],
        unchanged=routing["unchanged"],
        changed=routing["changed"],
        changes=list(routing["changes"]),
    )


# -- the page ------------------------------------------------------------------------------------


@dataclass
class Editor:
    """What the editor shows besides the versions: the text, and the outcome of the last action."""

    source: str = ""
    version: int | None = None  # the saved version the text was loaded from
    diff: str = ""
    comment: str = ""
    activate: bool = True
    since: str = DEFAULT_SINCE
    problem: str | None = None
    problems: list[ProblemRow] = field(default_factory=list)
    checked: dict[str, Any] | None = None
    backtest: BacktestView | None = None
    done: str | None = None


def page(desk: DeskDep, user: User, editor: Editor, status: int = 200) -> HTMLResponse:
    with desk.engine.connect() as conn:
        versions = list_playbook_versions(conn, VERSIONS_SHOWN)
    live = next((v for v in versions if v.live), None)
    context = frame(
        desk,
        user,
        versions=versions,
        live=live,
        e=editor,
        since_choices=SINCE,
        max_comment=MAX_COMMENT,
        max_source=MAX_SOURCE,
    )
    return render("ui/supervisor/playbook.html", context, status)


def _refused(desk: DeskDep, user: User, editor: Editor, error: DomainError) -> HTMLResponse:
    if isinstance(error, PlaybookInvalid):
        editor.problems = problem_rows(editor.source, error.errors)
        editor.problem = (
            f"The playbook has {len(error.errors)} problem{'s' if len(error.errors) != 1 else ''}"
            "; nothing was saved."
        )
    else:
        editor.problem = error.message
    return page(desk, user, editor, status_of(error))


def _typed(post: Posted) -> Editor:
    return Editor(
        source=post.text("source").replace("\r\n", "\n"),
        version=int(post.text("version")) if post.text("version").isdigit() else None,
        comment=post.text("comment"),
        activate=post.text("activate") == "yes",
        since=post.text("since") if post.text("since") in SINCE else DEFAULT_SINCE,
    )


def loaded(desk: DeskDep, number: int | None, **shown: Any) -> Editor:
    """The editor with a saved version's text (the live one when `number` is None)."""
    editor = Editor(**shown)
    if number is None:
        with desk.uow(read_only=True) as unit:
            live = unit.playbooks.live()
        number = live.version if live else None
    if number is not None:
        version, editor.diff = playbooks.version_diff(desk.uow(read_only=True), number)
        editor.source, editor.version = version.source, version.version
    return editor


@router.get("/supervisor/playbook", response_class=HTMLResponse)
def editor(request: Request, desk: DeskDep, user: SupervisorUser) -> Response:
    wanted = request.query_params.get("version", "")
    if wanted and not wanted.isdigit():
        raise InvalidInput("version must be a version number", field="version")
    shown = loaded(desk, int(wanted) if wanted else None, done=done_message(request, DONE))
    return page(desk, user, shown)


@router.post("/supervisor/playbook")
def save(desk: DeskDep, post: SupervisorForm) -> Response:
    typed = _typed(post)
    try:
        version = playbooks.save_version(
            desk.uow(),
            desk.parse_playbook,
            post.user.agent,
            typed.source,
            typed.comment,
            desk.clock.now(),
            activate=typed.activate,
            source=SOURCE_NAME,
        )
    except DomainError as exc:
        return _refused(desk, post.user, typed, exc)
    done = "live" if typed.activate else "saved"
    return RedirectResponse(
        f"/supervisor/playbook?version={version.version}&done={done}", status_code=303
    )


@router.post("/supervisor/playbook/check", response_class=HTMLResponse)
def check(desk: DeskDep, post: SupervisorForm) -> Response:
    typed = _typed(post)
    try:
        with desk.uow(read_only=True) as unit:
            found = playbooks.check(unit, desk.parse_playbook, typed.source, SOURCE_NAME)
    except DomainError as exc:
        return _refused(desk, post.user, typed, exc)
    typed.checked = {"rules": len(found.rules), "targets": sorted(found.targets)}
    return page(desk, post.user, typed)


@router.post("/supervisor/playbook/backtest", response_class=HTMLResponse)
def backtest(desk: DeskDep, post: SupervisorForm) -> Response:
    """Backtest the text in the editor, or (`version`, with no text) a saved version."""
    typed = _typed(post)
    now = desk.clock.now()
    try:
        label = "the text in the editor"
        if not typed.source.strip() and typed.version is not None:
            version, typed.diff = playbooks.version_diff(desk.uow(read_only=True), typed.version)
            typed.source, label = version.source, f"version {version.version}"
        if not typed.source.strip():
            raise InvalidInput("write or load a playbook to backtest", field="source")
        days = int(typed.since) if typed.since.isdigit() else None
        report = backtest_candidate(
            desk.uow,
            desk.parse_playbook,
            desk.holidays,
            desk.policy.targets,
            typed.source,
            now=now,
            since=now - timedelta(days=days) if days else None,
        )
    except DomainError as exc:
        return _refused(desk, post.user, typed, exc)
    typed.backtest = backtest_view(report, label, SINCE[typed.since])
    return page(desk, post.user, typed)


@router.post("/supervisor/playbook/{number}/activate")
def activate(number: int, desk: DeskDep, post: SupervisorForm) -> Response:
    try:
        playbooks.activate(
            desk.uow(), desk.parse_playbook, post.user.agent, number, desk.clock.now()
        )
    except DomainError as exc:
        return _refused(desk, post.user, _quietly_loaded(desk, number), exc)
    return RedirectResponse(
        f"/supervisor/playbook?version={number}&done=activated", status_code=303
    )


@router.post("/supervisor/playbook/rollback")
def rollback(desk: DeskDep, post: SupervisorForm) -> Response:
    try:
        version = playbooks.rollback(
            desk.uow(), desk.parse_playbook, post.user.agent, desk.clock.now()
        )
    except DomainError as exc:
        return _refused(desk, post.user, _quietly_loaded(desk, None), exc)
    return RedirectResponse(
        f"/supervisor/playbook?version={version.version}&done=rolled_back", status_code=303
    )


def _quietly_loaded(desk: DeskDep, number: int | None) -> Editor:
    """The version an action was refused for, in the editor (empty if it does not exist)."""
    try:
        return loaded(desk, number)
    except NotFound:
        return Editor()
