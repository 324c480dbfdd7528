"""One conversation as an agent works it: the thread, why triage and the playbook decided what
they did, the customer's permanent record, and every action (reply, note, assign, tag, snooze,
close, reopen, remind, retry a failed reply).

Actions are plain form posts answered with a redirect back to the page (so a reload never sends
twice); a refused action shows the page again with the reason and everything typed kept. Each
reply form carries an idempotency key made when the page was drawn, so a double click or a
resubmitted form queues one reply, and the newest message time on screen, so a reply that crossed
a colleague's is held back until the agent has read theirs.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.responses import RedirectResponse, Response

from socialdesk.domain.conversations import Status
from socialdesk.domain.errors import DomainError, InvalidInput, NotFound
from socialdesk.domain.messages import Visibility
from socialdesk.queries.configuration import list_templates
from socialdesk.queries.conversation_view import ConversationView, get_conversation_view
from socialdesk.queries.directory import list_teams, list_users
from socialdesk.queries.workspace import viewers
from socialdesk.services import conversations as actions
from socialdesk.services import routing, templates, workspace
from socialdesk.services.customers import retag_customer
from socialdesk.services.delivery import retry_reply
from socialdesk.web.deps import DeskDep
from socialdesk.web.errors import status_of
from socialdesk.web.ui.auth import CurrentUser, Posted, PostedForm, User, frame
from socialdesk.web.ui.pages import PageRoute, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)

DONE = {
    "replied": "Reply queued; its delivery state shows below.",
    "noted": "Note added.",
    "assigned": "Assignment saved.",
    "tagged": "Tags saved.",
    "snoozed": "Snoozed.",
    "closed": "Conversation closed.",
    "reopened": "Conversation reopened.",
    "reminded": "Reminder set; it will show among your notices.",
    "retried": "Sending again.",
}
LATER = {  # the choices of the snooze and reminder menus, in hours
    "1h": 1,
    "4h": 4,
    "24h": 24,
    "3d": 72,
    "7d": 168,
}


def _view(desk: DeskDep, conversation_id: int) -> ConversationView:
    with desk.engine.connect() as conn:
        view = get_conversation_view(conn, conversation_id)
    if view is None:
        raise NotFound(f"conversation {conversation_id} does not exist")
    return view


def _thread_context(desk: DeskDep, view: ConversationView) -> dict[str, Any]:
    caps = desk.connectors.capabilities(view.conversation.platform)
    newest = max((m.created_at for m in view.messages), default=None)
    return {"view": view, "c": view.conversation, "caps": caps, "seen_up_to": newest}


def page(
    desk: DeskDep,
    user: User,
    conversation_id: int,
    *,
    problem: str | None = None,
    status: int = 200,
    draft: dict[str, str] | None = None,
    done: str | None = None,
) -> HTMLResponse:
    view = _view(desk, conversation_id)
    with desk.engine.connect() as conn:
        present = viewers(conn, [conversation_id], desk.clock.now(), me=user.id)
        context = frame(
            desk,
            user,
            **_thread_context(desk, view),
            present=present.get(conversation_id, []),
            templates=list_templates(conn),
            agents=[u for u in list_users(conn) if u.active],
            teams=list_teams(conn),
        )
    context.update(
        problem=problem,
        done=DONE.get(done or ""),
        draft=draft or {},
        reply_key=secrets.token_urlsafe(16),
        later=LATER,
        open_statuses=(Status.OPEN.value, Status.PENDING.value),
    )
    return render("ui/conversation.html", context, status)


def _again(desk: DeskDep, post: Posted, conversation_id: int, error: DomainError) -> Response:
    """The page again with the reason the action was refused and what the agent typed."""
    draft = {k: v for k, v in post.form.items() if isinstance(v, str) and k != "csrf_token"}
    return page(
        desk,
        post.user,
        conversation_id,
        problem=error.message,
        status=status_of(error),
        draft=draft,
    )


def _done(conversation_id: int, what: str) -> Response:
    return RedirectResponse(f"/conversations/{conversation_id}?done={what}", status_code=303)


def _later(post: Posted, field: str, now: datetime) -> datetime:
    """A time from a menu choice ('4h') or a local date-time field with the browser's offset."""
    choice = post.text(field)
    if choice in LATER:
        return now + timedelta(hours=LATER[choice])
    raw = post.text(f"{field}_at")
    if not raw:
        raise InvalidInput(f"choose when ({field})", field=field)
    try:
        local = datetime.fromisoformat(raw)
        offset = int(post.text("tz_offset") or "0")
    except ValueError as exc:
        raise InvalidInput(f"{raw!r} is not a date and time", field=field) from exc
    if local.tzinfo is not None or not -900 <= offset <= 900:
        raise InvalidInput(f"{raw!r} is not a local date and time", field=field)
    return (local + timedelta(minutes=offset)).replace(tzinfo=now.tzinfo)


@router.get("/conversations/{conversation_id}", response_class=HTMLResponse)
def conversation(
    conversation_id: int, request: Request, desk: DeskDep, user: CurrentUser
) -> Response:
    draft: dict[str, str] = {}
    name = request.query_params.get("template")
    problem = None
    if name:
        try:
            with desk.uow(read_only=True) as unit:
                rendered = templates.render_for(
                    unit, name, conversation_id, user.agent, desk.connectors.capabilities
                )
            draft["text"] = rendered.text
        except DomainError as exc:
            problem = exc.message
    return page(
        desk,
        user,
        conversation_id,
        problem=problem,
        draft=draft,
        done=request.query_params.get("done"),
    )


@router.get("/ui/conversations/{conversation_id}/thread", response_class=HTMLResponse)
def thread(conversation_id: int, desk: DeskDep, user: CurrentUser) -> Response:
    context = _thread_context(desk, _view(desk, conversation_id))
    return render("ui/_thread_live.html", {**context, "csrf": user.csrf})


@router.get("/ui/conversations/{conversation_id}/compose", response_class=HTMLResponse)
def compose(conversation_id: int, request: Request, desk: DeskDep, user: CurrentUser) -> Response:
    """The composer's text box filled with a template (chosen from the menu)."""
    name = request.query_params.get("template", "")
    view = _view(desk, conversation_id)
    text = ""
    if name:
        with desk.uow(read_only=True) as unit:
            text = templates.render_for(
                unit, name, conversation_id, user.agent, desk.connectors.capabilities
            ).text
    caps = desk.connectors.capabilities(view.conversation.platform)
    return render("ui/_composer_text.html", {"text": text, "caps": caps})


@router.post("/ui/conversations/{conversation_id}/activity", response_class=HTMLResponse)
def activity(conversation_id: int, desk: DeskDep, post: PostedForm) -> Response:
    """A viewing/typing beat; answers who else is here."""
    now = desk.clock.now()
    routing.record_activity(desk.uow(), post.user.id, conversation_id, post.text("kind"), now)
    with desk.engine.connect() as conn:
        present = viewers(conn, [conversation_id], now, me=post.user.id)
    return render("ui/_present.html", {"present": present.get(conversation_id, [])})


def _act(
    desk: DeskDep, post: Posted, conversation_id: int, done: str, action: Callable[[], object]
) -> Response:
    """Run an action; back to the page with what happened, or with why it was refused."""
    try:
        action()
    except DomainError as exc:
        return _again(desk, post, conversation_id, exc)
    desk.notify_work()  # replies and retries wait in the outbox for the worker
    return _done(conversation_id, done)


def _draft(post: Posted) -> actions.ReplyDraft:
    try:
        visibility = Visibility(post.text("visibility")) if post.text("visibility") else None
        status_after = Status(post.text("status_after") or Status.PENDING.value)
        seen = post.text("seen_up_to")
        seen_up_to = datetime.fromisoformat(seen) if seen else None
    except ValueError as exc:
        raise InvalidInput("the reply form is not valid; reload the page") from exc
    return actions.ReplyDraft(
        text=post.text("text"),
        visibility=visibility,
        idempotency_key=post.text("idempotency_key") or None,
        status_after=status_after,
        seen_up_to=seen_up_to,
        force=post.text("force") == "yes",
    )


@router.post("/conversations/{conversation_id}/reply")
def reply(conversation_id: int, desk: DeskDep, post: PostedForm) -> Response:
    return _act(
        desk,
        post,
        conversation_id,
        "replied",
        lambda: actions.reply(
            desk.uow(),
            post.user.agent,
            conversation_id,
            _draft(post),
            desk.clock.now(),
            desk.connectors.capabilities,
        ),
    )


@router.post("/conversations/{conversation_id}/notes")
def note(conversation_id: int, desk: DeskDep, post: PostedForm) -> Response:
    return _act(
        desk,
        post,
        conversation_id,
        "noted",
        lambda: actions.add_note(
            desk.uow(), post.user.agent, conversation_id, post.text("note"), desk.clock.now()
        ),
    )


def _ref(raw: str, me: int | None) -> int | None:
    """An agent or team chosen in a menu: an id, 'none', or (for agents) 'me'."""
    if raw == "me" and me is not None:
        return me
    if raw in ("", "none"):
        return None
    if raw.isdigit():
        return int(raw)
    raise InvalidInput(f"{raw!r} is not an agent or a team")


def _assignment(post: Posted) -> actions.Assignment:
    return actions.Assignment(
        assignee_id=_ref(post.text("assignee"), post.user.id),
        team_id=_ref(post.text("team"), None),
        assignee_given="assignee" in post.form,
        team_given="team" in post.form,
    )


@router.post("/conversations/{conversation_id}/assign")
def assign(conversation_id: int, desk: DeskDep, post: PostedForm) -> Response:
    return _act(
        desk,
        post,
        conversation_id,
        "assigned",
        lambda: actions.assign(
            desk.uow(), post.user.agent, conversation_id, _assignment(post), desk.clock.now()
        ),
    )


def _tag_changes(post: Posted) -> tuple[list[str], list[str]]:
    """Tags to add (comma-separated) and to remove (one, from its remove button)."""
    add = [t.strip() for t in post.text("add").split(",") if t.strip()]
    remove = [post.text("remove")] if post.text("remove") else []
    if not add and not remove:
        raise InvalidInput("type a tag to add", field="add")
    return add, remove


def _retag(desk: DeskDep, post: Posted, conversation_id: int) -> None:
    add, remove = _tag_changes(post)
    actions.retag(desk.uow(), post.user.agent, conversation_id, add, remove, desk.clock.now())


def _retag_customer(desk: DeskDep, post: Posted, conversation_id: int) -> None:
    add, remove = _tag_changes(post)
    customer_id = _view(desk, conversation_id).conversation.customer.id
    retag_customer(desk.uow(), post.user.agent, customer_id, add, remove, desk.clock.now())


@router.post("/conversations/{conversation_id}/tags")
def tags(conversation_id: int, desk: DeskDep, post: PostedForm) -> Response:
    return _act(desk, post, conversation_id, "tagged", lambda: _retag(desk, post, conversation_id))


@router.post("/conversations/{conversation_id}/customer-tags")
def customer_tags(conversation_id: int, desk: DeskDep, post: PostedForm) -> Response:
    """The customer's own tags (VIP, press, …): they follow the customer to every channel."""
    return _act(
        desk, post, conversation_id, "tagged", lambda: _retag_customer(desk, post, conversation_id)
    )


@router.post("/conversations/{conversation_id}/snooze")
def snooze(conversation_id: int, desk: DeskDep, post: PostedForm) -> Response:
    now = desk.clock.now()
    return _act(
        desk,
        post,
        conversation_id,
        "snoozed",
        lambda: actions.snooze(
            desk.uow(), post.user.agent, conversation_id, _later(post, "until", now), now
        ),
    )


@router.post("/conversations/{conversation_id}/close")
def close(conversation_id: int, desk: DeskDep, post: PostedForm) -> Response:
    reason = post.text("reason").strip() or None
    return _act(
        desk,
        post,
        conversation_id,
        "closed",
        lambda: actions.close(
            desk.uow(), post.user.agent, conversation_id, reason, desk.clock.now()
        ),
    )


@router.post("/conversations/{conversation_id}/reopen")
def reopen(conversation_id: int, desk: DeskDep, post: PostedForm) -> Response:
    return _act(
        desk,
        post,
        conversation_id,
        "reopened",
        lambda: actions.reopen(
            desk.uow(), post.user.agent, conversation_id, desk.clock.now(), desk.policy.targets
        ),
    )


@router.post("/conversations/{conversation_id}/remind")
def remind(conversation_id: int, desk: DeskDep, post: PostedForm) -> Response:
    now = desk.clock.now()
    return _act(
        desk,
        post,
        conversation_id,
        "reminded",
        lambda: workspace.remind(
            desk.uow(),
            post.user.agent,
            conversation_id,
            _later(post, "when", now),
            post.text("reminder"),
            now,
        ),
    )


@router.post("/conversations/{conversation_id}/messages/{message_id}/retry")
def retry(conversation_id: int, message_id: int, desk: DeskDep, post: PostedForm) -> Response:
    return _act(
        desk,
        post,
        conversation_id,
        "retried",
        lambda: retry_reply(
            desk.uow(), post.user.agent, conversation_id, message_id, desk.clock.now()
        ),
    )
