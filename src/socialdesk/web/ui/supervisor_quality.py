"""The supervisor's quality pages: draw a sample of closed conversations, review one against the
rubric (its thread read-only beside the form), and each agent's results per week. Supervisors and
admins only (agents read their own reviews through the API).

The sample form is a GET, so a sample is a link: the same URL (its seed included) draws the same
conversations, less those reviewed since. A refused review shows the page again with the reason,
the criterion marked and everything chosen or typed kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.responses import RedirectResponse, Response

from socialdesk.domain.errors import DomainError, InvalidInput, NotFound
from socialdesk.domain.reviews import (
    DEFAULT_SAMPLE,
    MAX_COMMENT,
    MAX_SAMPLE,
    NOT_APPLICABLE,
    SAMPLED_BY,
    SampleMode,
    day_range,
    sample_request,
    week_start,
)
from socialdesk.queries.conversation_view import get_conversation_view
from socialdesk.queries.directory import list_users
from socialdesk.queries.reviews import (
    ReviewFilter,
    agent_weeks,
    list_reviews,
    list_sample,
)
from socialdesk.services import reviews
from socialdesk.web.deps import DeskDep
from socialdesk.web.errors import status_of
from socialdesk.web.ui.auth import Posted, SupervisorUser, User, frame
from socialdesk.web.ui.pages import PageRoute, render
from socialdesk.web.ui.supervisor import SupervisorForm, typed

router = APIRouter(route_class=PageRoute, include_in_schema=False)

SAMPLE_KEYS = ("mode", "agent", "from", "to", "size", "seed")
RESULT_WEEKS = 12
RECENT_REVIEWS = 20
SCORE_PREFIX = "score."


def sample_query(params: Mapping[str, str]) -> str:
    """The sample's own parameters as a query string (anything else dropped): where the review
    page sends the reviewer back to."""
    return urlencode({k: params[k] for k in SAMPLE_KEYS if params.get(k)})


def _day(params: Mapping[str, str], key: str) -> date | None:
    raw = params.get(key, "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(f"{key} must be a day like 2026-03-02", field=key) from None


def _number(params: Mapping[str, str], key: str) -> int | None:
    raw = params.get(key, "").strip()
    if not raw:
        return None
    if not raw.isdigit():
        raise InvalidInput(f"{key} must be a whole number", field=key)
    return int(raw)


def _sample(desk: DeskDep, user: User, params: Mapping[str, str]) -> dict[str, Any]:
    """The drawn sample for the form's values, with the seed it was drawn with."""
    mode = params.get("mode", SampleMode.RANDOM.value)
    seed = _number(params, "seed")
    request = sample_request(
        mode,
        now=desk.clock.now(),
        seed=reviews.new_seed() if seed is None else seed,
        since=day_range(_day(params, "from"), None)[0],
        until=day_range(None, _day(params, "to"))[1],
        agent_id=_number(params, "agent") if mode != SampleMode.RANDOM.value else None,
        size=_number(params, "size"),
    )
    ids = reviews.draw_sample(desk.analytics_uow, user.agent, request)
    with desk.engine.connect() as conn:
        items = list_sample(conn, ids)
    values = {**params, "seed": str(request.seed)}
    return {"items": items, "mode": request.mode.value, "back": sample_query(values)}


@router.get("/supervisor/quality", response_class=HTMLResponse)
def quality(request: Request, desk: DeskDep, user: SupervisorUser) -> Response:
    params = {k: v for k, v in request.query_params.items() if k in SAMPLE_KEYS}
    sample: dict[str, Any] | None = None
    problem: str | None = None
    status = 200
    if "mode" in params:
        try:
            sample = _sample(desk, user, params)
        except DomainError as exc:
            problem, status = exc.message, status_of(exc)
    # whole weeks: this one and the RESULT_WEEKS - 1 before it
    since, _ = day_range(week_start(desk.clock.now()) - timedelta(weeks=RESULT_WEEKS - 1), None)
    rubric = reviews.current_rubric(desk.analytics_uow)
    with desk.engine.connect() as conn:
        weeks = agent_weeks(conn, since=since)
        recent = list_reviews(conn, ReviewFilter(), limit=RECENT_REVIEWS).items
        agents = [u for u in list_users(conn) if u.active]
    context = frame(
        desk,
        user,
        values={"seed": str(reviews.new_seed()), **params},
        sample=sample,
        problem=problem,
        done="Review saved." if request.query_params.get("done") == "reviewed" else None,
        modes=[m.value for m in SampleMode],
        agents=agents,
        max_sample=MAX_SAMPLE,
        default_sample=DEFAULT_SAMPLE,
        rubric=rubric,
        weeks=weeks,
        result_weeks=RESULT_WEEKS,
        recent=recent,
    )
    return render("ui/supervisor/quality.html", context, status)


def review_page(
    desk: DeskDep,
    user: User,
    conversation_id: int,
    *,
    sampled_by: str,
    back: str,
    problem: DomainError | None = None,
    draft: dict[str, str] | None = None,
) -> HTMLResponse:
    with desk.engine.connect() as conn:
        view = get_conversation_view(conn, conversation_id)
        found = list_sample(conn, [conversation_id])
        earlier = list_reviews(conn, ReviewFilter(conversation_id=conversation_id)).items
    if view is None or not found:
        raise NotFound(f"conversation {conversation_id} does not exist")
    context = frame(
        desk,
        user,
        view=view,
        c=view.conversation,
        csat=found[0].csat,
        read_only=True,
        rubric=reviews.current_rubric(desk.analytics_uow),
        earlier=earlier,
        sampled_by=sampled_by if sampled_by in SAMPLED_BY else "chosen",
        back=sample_query(dict(parse_qsl(back))),
        not_applicable=NOT_APPLICABLE,
        max_comment=MAX_COMMENT,
        score_prefix=SCORE_PREFIX,
        problem=problem.message if problem else None,
        problem_field=problem.field if problem else None,
        draft=draft or {},
    )
    return render(
        "ui/supervisor/quality_review.html", context, status_of(problem) if problem else 200
    )


@router.get("/supervisor/quality/{conversation_id}", response_class=HTMLResponse)
def review_form(
    conversation_id: int, request: Request, desk: DeskDep, user: SupervisorUser
) -> Response:
    params = request.query_params
    return review_page(
        desk,
        user,
        conversation_id,
        sampled_by=params.get("sampled_by", "chosen"),
        back=params.get("back", ""),
    )


def _scores(post: Posted) -> dict[str, object]:
    """The form's choices (fields `score.<key>`: points or n/a) as the service takes them."""
    found: dict[str, object] = {}
    for name, value in post.form.multi_items():
        if isinstance(value, str) and name.startswith(SCORE_PREFIX):
            found[name.removeprefix(SCORE_PREFIX)] = int(value) if value.isdigit() else value
    return found


@router.post("/supervisor/quality/{conversation_id}")
def submit(conversation_id: int, desk: DeskDep, post: SupervisorForm) -> Response:
    sampled_by = post.text("sampled_by", "chosen")
    back = post.text("back")
    rubric_id = post.text("rubric_id")
    try:
        reviews.submit_review(
            desk.analytics_uow,
            post.user.agent,
            reviews.ReviewDraft(
                conversation_id=conversation_id,
                scores=_scores(post),
                comment=post.text("comment"),
                sampled_by=sampled_by,
                rubric_id=int(rubric_id) if rubric_id.isdigit() else None,
            ),
            desk.clock.now(),
        )
    except DomainError as exc:
        return review_page(
            desk,
            post.user,
            conversation_id,
            sampled_by=sampled_by,
            back=back,
            problem=exc,
            draft=typed(post),
        )
    query = sample_query(dict(parse_qsl(back)))
    return RedirectResponse(
        f"/supervisor/quality?{query}{'&' if query else ''}done=reviewed", status_code=303
    )
