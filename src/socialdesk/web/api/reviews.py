"""Quality reviews over HTTP: the rubric, samples of closed conversations to review, reviews and
each agent's results per week (docs/quality.md).

Supervisors and admins do everything; an agent may read the rubric and the reviews (and weekly
results) of their own work, nobody else's. Days (`from`, `to`, both included) are UTC.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, status

from socialdesk.domain.reviews import (
    DEFAULT_SAMPLE,
    MAX_SAMPLE,
    MAX_SEED,
    Rubric,
    day_range,
    sample_request,
    visible_agent,
)
from socialdesk.queries.reviews import (
    MAX_REVIEWS,
    AgentWeek,
    ReviewFilter,
    ReviewPage,
    ReviewView,
    agent_weeks,
    get_review,
    list_reviews,
    list_sample,
)
from socialdesk.services import reviews
from socialdesk.web.api.schemas import CriterionIn, ReviewIn, RubricIn, RubricOut
from socialdesk.web.deps import CurrentAgent, DeskDep, ReadConn, Supervisor
from socialdesk.web.routing import StrictJsonRoute

router = APIRouter(prefix="/api/v1/reviews", tags=["quality"], route_class=StrictJsonRoute)

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "no valid API token"},
    403: {"description": "needs the supervisor role, or the review of your own work"},
    404: {"description": "no such conversation"},
    409: {"description": "reviewed already by you, not closed, or the rubric changed"},
    422: {"description": "invalid input (`field` names the criterion); nothing was changed"},
}
From = Annotated[date | None, Query(alias="from", description="first day, UTC")]
To = Annotated[date | None, Query(alias="to", description="last day (included), UTC")]
AgentParam = Annotated[int | None, Query(alias="agent", description="an agent's id")]


def _rubric_out(rubric: Rubric) -> RubricOut:
    return RubricOut(
        id=rubric.id,
        created_at=rubric.created_at,
        author_id=rubric.author_id,
        criteria=[CriterionIn.model_validate(c.as_json()) for c in rubric.criteria],
    )


@router.get("/rubric", responses=ERRORS)
def rubric(desk: DeskDep, _: CurrentAgent) -> RubricOut:
    """The rubric reviews are scored on now: the newest saved version, or the default."""
    return _rubric_out(reviews.current_rubric(desk.analytics_uow))


@router.put("/rubric", responses=ERRORS)
def save_rubric(body: RubricIn, desk: DeskDep, supervisor: Supervisor) -> RubricOut:
    """Save a new version; reviews made before keep the version they were scored on."""
    criteria = [c.model_dump() for c in body.criteria]
    return _rubric_out(
        reviews.save_rubric(desk.analytics_uow, supervisor, criteria, desk.clock.now())
    )


@router.get("/sample", responses=ERRORS)
def sample(
    desk: DeskDep,
    conn: ReadConn,
    supervisor: Supervisor,
    mode: str = "random",
    agent: AgentParam = None,
    first: From = None,
    last: To = None,
    size: Annotated[int, Query(ge=1, le=MAX_SAMPLE)] = DEFAULT_SAMPLE,
    seed: Annotated[
        int | None, Query(ge=0, lt=MAX_SEED, description="the same seed draws the same sample")
    ] = None,
) -> dict[str, Any]:
    """Closed conversations nobody has reviewed yet, drawn at random from the range (by
    default the last 30 days): any (`random`), one agent's (`agent`), or those with a CSAT
    answer of 2 or less (`low_csat`, optionally of one agent)."""
    since, until = day_range(first, last)
    request = sample_request(
        mode,
        now=desk.clock.now(),
        seed=reviews.new_seed() if seed is None else seed,
        since=since,
        until=until,
        agent_id=agent,
        size=size,
    )
    items = list_sample(conn, reviews.draw_sample(desk.analytics_uow, supervisor, request))
    return {
        "mode": request.mode.value,
        "agent": request.agent_id,
        "from": request.since,
        "to": request.until,
        "size": request.size,
        "seed": request.seed,
        "items": items,
    }


@router.post("", status_code=status.HTTP_201_CREATED, responses=ERRORS)
def submit(body: ReviewIn, desk: DeskDep, conn: ReadConn, supervisor: Supervisor) -> ReviewView:
    """Score a closed conversation on the rubric in force. A supervisor may not review their
    own work (an admin may); each reviewer reviews a conversation once."""
    review = reviews.submit_review(
        desk.analytics_uow,
        supervisor,
        reviews.ReviewDraft(
            conversation_id=body.conversation_id,
            scores=body.scores,
            comment=body.comment,
            sampled_by=body.sampled_by,
            rubric_id=body.rubric_id,
        ),
        desk.clock.now(),
    )
    assert review.id is not None
    found = get_review(conn, review.id)
    assert found is not None
    return found


@router.get("", responses=ERRORS)
def review_list(
    conn: ReadConn,
    me: CurrentAgent,
    agent: AgentParam = None,
    first: From = None,
    last: To = None,
    limit: Annotated[int, Query(ge=1, le=MAX_REVIEWS)] = 50,
    before: Annotated[int | None, Query(description="next_before of the previous page")] = None,
) -> ReviewPage:
    """Reviews made in the range, newest first; an agent sees only those of their own work."""
    since, until = day_range(first, last)
    wanted = ReviewFilter(agent_id=visible_agent(me, agent), since=since, until=until)
    return list_reviews(conn, wanted, limit=limit, before=before)


@router.get("/agents", responses=ERRORS)
def per_agent(
    conn: ReadConn, me: CurrentAgent, agent: AgentParam = None, first: From = None, last: To = None
) -> list[AgentWeek]:
    """Per agent and week (Monday to Sunday, UTC): reviews, mean score, and each criterion's
    mean as a percentage of its maximum (n/a left out)."""
    since, until = day_range(first, last)
    return agent_weeks(conn, since=since, until=until, agent_id=visible_agent(me, agent))
