"""The unified queue and what agents do on a conversation."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response, status

from socialdesk.domain.errors import InvalidInput, NotFound
from socialdesk.domain.platforms import PLATFORM_NAME
from socialdesk.queries.conversation_view import (
    ConversationView,
    MessageView,
    get_conversation_view,
    get_message_view,
)
from socialdesk.queries.inbox import (
    SENTIMENTS,
    ConversationSummary,
    InboxFilter,
    InboxPage,
    Sort,
    get_summary,
    list_inbox,
    parse_statuses,
)
from socialdesk.services import conversations as actions
from socialdesk.services.delivery import retry_reply
from socialdesk.web.api.schemas import AssignIn, CloseIn, NoteIn, ReplyIn, SnoozeIn, TagsIn
from socialdesk.web.deps import CurrentAgent, DeskDep, ReadConn, ReplicaConn
from socialdesk.web.routing import StrictJsonRoute

router = APIRouter(
    prefix="/api/v1/conversations", tags=["conversations"], route_class=StrictJsonRoute
)

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "the body is not JSON or not UTF-8"},
    401: {"description": "no valid API token"},
    404: {"description": "no such conversation"},
    409: {"description": "the conversation's state does not allow this"},
    415: {"description": "the body is not JSON"},
    422: {"description": "invalid input; nothing was changed"},
}


def _ref(raw: str | None, field: str, me: int | None) -> tuple[int | None, bool]:
    """An id filter: a number, 'none' (nobody), or for assignee 'me'."""
    if raw is None:
        return None, False
    value = raw.strip().lower()
    if value == "none":
        return None, True
    if value == "me" and me is not None:
        return me, False
    if value.isdigit():
        return int(value), False
    choices = "a number, 'none' or 'me'" if me is not None else "a number or 'none'"
    raise InvalidInput(f"{field} must be {choices}", field=field)


@router.get("", responses=ERRORS)
def list_conversations(
    conn: ReplicaConn,
    agent: CurrentAgent,
    status_: Annotated[
        str, Query(alias="status", description="comma-separated statuses, or 'all'")
    ] = "open",
    platform: Annotated[str | None, Query(max_length=32)] = None,
    channel: int | None = None,
    team: Annotated[str | None, Query(description="team id or 'none'")] = None,
    assignee: Annotated[str | None, Query(description="agent id, 'me' or 'none'")] = None,
    priority_min: Annotated[int | None, Query(ge=0, le=100)] = None,
    priority_max: Annotated[int | None, Query(ge=0, le=100)] = None,
    sentiment: Annotated[str | None, Query(description="negative, neutral or positive")] = None,
    intent: Annotated[str | None, Query(max_length=64, description="triage intent")] = None,
    language: Annotated[str | None, Query(max_length=8, description="ISO 639-1, e.g. en")] = None,
    tag: Annotated[str | None, Query(max_length=50)] = None,
    q: Annotated[str | None, Query(max_length=500, description="words in any message")] = None,
    sort: Sort = Sort.PRIORITY,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 25,
) -> InboxPage:
    """The unified queue across platforms. Follow `next_cursor` for the next page."""
    if platform is not None and not PLATFORM_NAME.match(platform):
        raise InvalidInput("platform is not a platform name", field="platform")
    if sentiment is not None and sentiment not in SENTIMENTS:
        raise InvalidInput("sentiment must be negative, neutral or positive", field="sentiment")
    team_id, no_team = _ref(team, "team", None)
    assignee_id, unassigned = _ref(assignee, "assignee", agent.id)
    filters = InboxFilter(
        statuses=parse_statuses(status_),
        platform=platform,
        channel_id=channel,
        team_id=team_id,
        no_team=no_team,
        assignee_id=assignee_id,
        unassigned=unassigned,
        priority_min=priority_min,
        priority_max=priority_max,
        sentiment=sentiment,
        intent=intent,
        language=language,
        tag=tag,
        text=q,
    )
    return list_inbox(conn, filters, sort=sort, cursor=cursor, limit=limit)


@router.get("/{conversation_id}", responses=ERRORS)
def get_conversation(conversation_id: int, conn: ReadConn, _: CurrentAgent) -> ConversationView:
    """The conversation with its messages and the customer's record on every channel."""
    view = get_conversation_view(conn, conversation_id)
    if view is None:
        raise NotFound(f"conversation {conversation_id} does not exist")
    return view


def _summary(desk: DeskDep, conversation_id: int) -> ConversationSummary:
    with desk.engine.connect() as conn:
        summary = get_summary(conn, conversation_id)
    assert summary is not None
    return summary


def _message(desk: DeskDep, message_id: int | None) -> MessageView:
    assert message_id is not None
    with desk.engine.connect() as conn:
        view = get_message_view(conn, message_id)
    assert view is not None
    return view


@router.post("/{conversation_id}/reply", status_code=status.HTTP_201_CREATED, responses=ERRORS)
def reply(
    conversation_id: int,
    body: ReplyIn,
    response: Response,
    desk: DeskDep,
    agent: CurrentAgent,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> MessageView:
    """Queue a reply in the outbox. Repeating a request with the same idempotency key (body field
    or `Idempotency-Key` header) returns the first reply (200) instead of sending twice."""
    draft = actions.ReplyDraft(
        text=body.text,
        visibility=body.visibility,
        idempotency_key=body.idempotency_key or idempotency_key,
        status_after=body.status,
        in_reply_to_message_id=body.in_reply_to_message_id,
        seen_up_to=body.seen_up_to,
        force=body.force,
    )
    result = actions.reply(
        desk.uow(), agent, conversation_id, draft, desk.clock.now(), desk.connectors.capabilities
    )
    desk.notify_work()
    if not result.created:
        response.status_code = status.HTTP_200_OK
    return _message(desk, result.message.id)


@router.post("/{conversation_id}/messages/{message_id}/retry", responses=ERRORS)
def retry(conversation_id: int, message_id: int, desk: DeskDep, agent: CurrentAgent) -> MessageView:
    """Send a failed reply again: a fresh round of attempts starts now."""
    retry_reply(desk.uow(), agent, conversation_id, message_id, desk.clock.now())
    desk.notify_work()
    return _message(desk, message_id)


@router.post("/{conversation_id}/notes", status_code=status.HTTP_201_CREATED, responses=ERRORS)
def add_note(conversation_id: int, body: NoteIn, desk: DeskDep, agent: CurrentAgent) -> MessageView:
    """An internal note, visible to the team only."""
    note = actions.add_note(desk.uow(), agent, conversation_id, body.text, desk.clock.now())
    return _message(desk, note.id)


@router.post("/{conversation_id}/assign", responses=ERRORS)
def assign(
    conversation_id: int, body: AssignIn, desk: DeskDep, agent: CurrentAgent
) -> ConversationSummary:
    """Set the assignee and/or team; omit a field to keep it, send null to clear it."""
    given = body.model_fields_set
    if not given:
        raise InvalidInput("give assignee_id and/or team_id", field="assignee_id")
    wanted = actions.Assignment(
        assignee_id=body.assignee_id,
        team_id=body.team_id,
        assignee_given="assignee_id" in given,
        team_given="team_id" in given,
    )
    actions.assign(desk.uow(), agent, conversation_id, wanted, desk.clock.now())
    return _summary(desk, conversation_id)


@router.post("/{conversation_id}/tags", responses=ERRORS)
def tags(
    conversation_id: int, body: TagsIn, desk: DeskDep, agent: CurrentAgent
) -> ConversationSummary:
    """Add and remove tags."""
    actions.retag(desk.uow(), agent, conversation_id, body.add, body.remove, desk.clock.now())
    return _summary(desk, conversation_id)


@router.post("/{conversation_id}/snooze", responses=ERRORS)
def snooze(
    conversation_id: int, body: SnoozeIn, desk: DeskDep, agent: CurrentAgent
) -> ConversationSummary:
    """Put aside until a time; it comes back open then, or as soon as the customer writes."""
    actions.snooze(desk.uow(), agent, conversation_id, body.until, desk.clock.now())
    return _summary(desk, conversation_id)


@router.post("/{conversation_id}/close", responses=ERRORS)
def close(
    conversation_id: int, body: CloseIn, desk: DeskDep, agent: CurrentAgent
) -> ConversationSummary:
    """Close, with an optional reason."""
    actions.close(desk.uow(), agent, conversation_id, body.reason, desk.clock.now())
    return _summary(desk, conversation_id)


@router.post("/{conversation_id}/reopen", responses=ERRORS)
def reopen(conversation_id: int, desk: DeskDep, agent: CurrentAgent) -> ConversationSummary:
    """Reopen a closed or snoozed conversation."""
    actions.reopen(desk.uow(), agent, conversation_id, desk.clock.now(), desk.policy.targets)
    return _summary(desk, conversation_id)
