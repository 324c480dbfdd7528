"""The playbook: versions supervisors save, check, activate and roll back, and the worker job that
runs the live one on every triaged message.

Checking a file parses it (every syntax and shape problem with its line and rule) and then looks
up every team, SLA policy and template it names, so a version that routes to a team that does not
exist is refused before it can go live. Running it: the worker claims triaged inbound messages the
playbook has not seen, evaluates the live version on each message's facts, and applies what the
rules decided to the conversation in the same transaction that records the outcome on the message
(`messages.playbook`), so a crash re-runs a message rather than half-applying it, and an auto-
acknowledgement or an escalation is never made twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from socialdesk.domain.agents import Agent
from socialdesk.domain.calendars import BusinessCalendar
from socialdesk.domain.conversations import Conversation, Status
from socialdesk.domain.errors import InvalidInput, NotFound
from socialdesk.domain.events import (
    ConversationSuppressed,
    ConversationTagged,
    Event,
    PlaybookActivated,
    PlaybookMatched,
    settings_changed,
)
from socialdesk.domain.platforms import PlatformCapabilities, capabilities_for
from socialdesk.domain.playbook import (
    Evaluation,
    Facts,
    Playbook,
    PlaybookInvalid,
    PlaybookProblem,
    SetPriority,
)
from socialdesk.domain.playbook_versions import MAX_COMMENT, MAX_SOURCE, PlaybookVersion, diff
from socialdesk.domain.sla import SlaState
from socialdesk.domain.text import text_problem
from socialdesk.domain.triage import PriorityWeights
from socialdesk.services import routing, sla
from socialdesk.services.automatic_replies import automatic_message, queue_message, takes_written
from socialdesk.services.notifications import Destination, enqueue
from socialdesk.services.ports import Holidays, PlaybookParser, UnitOfWork, UnitOfWorkFactory
from socialdesk.services.templates import render_for

BATCH = 200
CLAIM_LEASE = timedelta(minutes=5)
# Messages older than this when the playbook first sees them are history (an import, a backlog
# after an outage): their conversations are tagged and prioritised like any, but nobody is
# acknowledged, escalated, re-routed or suppressed for something that happened long ago.
HISTORY = timedelta(hours=24)
DEFAULT_CALENDAR = "default"

Capabilities = Callable[[str], PlatformCapabilities]


# -- versions ------------------------------------------------------------------------------


def check(unit: UnitOfWork, parse: PlaybookParser, text: str, source: str) -> Playbook:
    """The playbook in `text`, or PlaybookInvalid listing every problem: the file's own, then
    each name it uses that does not exist here (with the rule and line that use it)."""
    if len(text) > MAX_SOURCE:
        raise InvalidInput(
            f"a playbook file has at most {MAX_SOURCE // 1024} KiB", field="playbook"
        )
    playbook = parse(text, source)
    refs = playbook.references()
    problems: list[PlaybookProblem] = []
    existing: dict[str, Callable[[str], object]] = {
        "team": unit.teams.find,
        "SLA policy": unit.sla_policies.find,
        "template": unit.templates.find,
    }
    for kind, used in (
        ("team", refs.teams),
        ("SLA policy", refs.sla_policies),
        ("template", refs.templates),
    ):
        for name, uses in sorted(used.items()):
            if existing[kind](name) is None:
                problems.extend(
                    PlaybookProblem(source, ref.line, ref.rule, f"{kind} {name!r} does not exist")
                    for ref in uses
                )
    if problems:
        raise PlaybookInvalid(sorted(problems, key=lambda p: (p.line or 0, p.message)))
    return playbook


def save_version(
    uow: UnitOfWork,
    parse: PlaybookParser,
    actor: Agent | None,
    text: str,
    comment: str,
    now: datetime,
    *,
    activate: bool = True,
    source: str = "playbook.yaml",
) -> PlaybookVersion:
    """Check and store a new version (import), live at once unless asked otherwise."""
    comment = comment.strip()
    if not comment or len(comment) > MAX_COMMENT or text_problem(comment):
        raise InvalidInput(
            f"say what changed in a comment of 1-{MAX_COMMENT} characters", field="comment"
        )
    with uow:
        check(uow, parse, text, source)
        version = PlaybookVersion(
            version=uow.playbooks.latest_number() + 1,
            source=text,
            comment=comment,
            created_at=now,
            author_agent_id=actor.id if actor else None,
        )
        uow.playbooks.add(version)
        if activate:
            _activate(uow, version, actor, now)
        else:  # a draft: no other event says who saved it
            uow.events.append(
                [
                    settings_changed(
                        now=now,
                        actor_id=actor.id if actor else None,
                        subject="playbook_draft",
                        subject_id=version.version,
                        before=None,
                        after={"comment": comment},
                    )
                ]
            )
        uow.commit()
    return version


def activate(
    uow: UnitOfWork, parse: PlaybookParser, actor: Agent | None, number: int, now: datetime
) -> PlaybookVersion:
    """Make a stored version live (checked again: a team it names may have gone since)."""
    with uow:
        version = uow.playbooks.get(number)
        if version is None:
            raise NotFound(f"playbook version {number} does not exist")
        check(uow, parse, version.source, f"v{number}")
        _activate(uow, version, actor, now)
        uow.commit()
    return version


def rollback(
    uow: UnitOfWork, parse: PlaybookParser, actor: Agent | None, now: datetime
) -> PlaybookVersion:
    """One action back: the version that was live before the current one goes live again."""
    with uow:
        live = uow.playbooks.live()
        if live is None:
            raise InvalidInput("no playbook is live, so there is nothing to roll back")
        previous = uow.playbooks.previously_live(live.version)
        if previous is None:
            raise InvalidInput(
                f"version {live.version} is the only one that was ever live; nothing to roll "
                "back to"
            )
    return activate(uow, parse, actor, previous.version, now)


def _activate(
    uow: UnitOfWork, version: PlaybookVersion, actor: Agent | None, now: datetime
) -> None:
    live = uow.playbooks.live()
    uow.playbooks.activate(version.version, now)
    version.live, version.activated_at = True, now
    uow.events.append(
        [
            PlaybookActivated(
                occurred_at=now,
                actor_agent_id=actor.id if actor else None,
                version=version.version,
                previous=live.version if live else None,
                comment=version.comment,
            )
        ]
    )


def version_diff(uow: UnitOfWork, number: int) -> tuple[PlaybookVersion, str]:
    with uow:
        version = uow.playbooks.get(number)
        if version is None:
            raise NotFound(f"playbook version {number} does not exist")
        previous = uow.playbooks.get(number - 1) if number > 1 else None
    return version, diff(previous, version)


# -- running the live playbook ----------------------------------------------------------------


@dataclass
class LivePlaybook:
    """The live version, parsed once and kept until another version goes live."""

    parse: PlaybookParser
    version: int | None = None
    playbook: Playbook | None = None

    def current(self, unit: UnitOfWork) -> tuple[int | None, Playbook | None]:
        live = unit.playbooks.live()
        if live is None:
            self.version, self.playbook = None, None
        elif live.version != self.version:
            self.version, self.playbook = live.version, self.parse(live.source, f"v{live.version}")
        return self.version, self.playbook


@dataclass
class Runtime:
    """What applying a playbook needs besides storage."""

    live: LivePlaybook
    holidays: Holidays
    weights: PriorityWeights
    target_minutes: float
    public_url: str
    capabilities: Capabilities = capabilities_for


@dataclass(slots=True)
class PlaybookReport:
    messages: int = 0
    matched: int = 0
    suppressed: int = 0
    escalations: int = 0
    auto_acks: int = 0
    routed: int = 0
    notes: list[str] = field(default_factory=list)


def run_pending(
    uow: UnitOfWorkFactory, runtime: Runtime, *, now: datetime, limit: int = BATCH
) -> PlaybookReport:
    """Apply the live playbook to triaged messages it has not seen (one transaction per
    message, so one message's failure does not hold the others back)."""
    report = PlaybookReport()
    with uow() as unit:
        ids = unit.messages.claim_for_playbook(now, now - CLAIM_LEASE, limit)
        unit.commit()
    for message_id in ids:
        with uow() as unit:
            found = unit.messages.playbook_facts([message_id])
            if not found:
                continue
            facts, team_id = found[0]
            version, playbook = runtime.live.current(unit)
            conversation = unit.conversations.get(facts.conversation_id or -1, for_update=True)
            assert conversation is not None
            facts = replace(facts, business_hours=_business_hours(unit, runtime, team_id, facts))
            result = apply(unit, runtime, conversation, facts, version, playbook, now, report)
            unit.messages.set_playbook(message_id, result)
            unit.commit()
        report.messages += 1
    return report


def _business_hours(unit: UnitOfWork, runtime: Runtime, team_id: int | None, facts: Facts) -> bool:
    calendar = calendar_for(unit, runtime.holidays, team_id, facts.created_at)
    return calendar.is_open(facts.created_at)


def calendar_for(
    unit: UnitOfWork, holidays: Holidays, team_id: int | None, now: datetime
) -> BusinessCalendar:
    """The team's calendar, else the one named `default`, else always open."""
    spec = None
    if team_id is not None:
        team = unit.teams.get(team_id)
        if team is not None and team.calendar_id is not None:
            spec = unit.calendars.get(team.calendar_id)
    if spec is None:
        spec = unit.calendars.find(DEFAULT_CALENDAR)
    if spec is None:
        return BusinessCalendar.always_open()
    return sla.build_calendar(spec, holidays, now)


def apply(
    unit: UnitOfWork,
    runtime: Runtime,
    conversation: Conversation,
    facts: Facts,
    version: int | None,
    playbook: Playbook | None,
    now: datetime,
    report: PlaybookReport,
) -> dict[str, Any]:
    """Evaluate and apply; returns what to record on the message. A message that is history
    (older than HISTORY) or whose conversation was closed meanwhile only gets the decisions that
    describe it (tags, priority, SLA policy, private mode), none that act."""
    assert conversation.id is not None
    acting = conversation.status is not Status.CLOSED and now - facts.created_at <= HISTORY
    if playbook is None:
        if (
            acting
            and conversation.team_id is None
            and routing.route_by_skills(unit, conversation, now)
        ):
            report.routed += 1
        unit.conversations.update_many([conversation])
        return {"version": None}
    evaluation = playbook.evaluate(facts)
    notes: list[str] = []
    events: list[Event] = []
    if evaluation.matched:
        report.matched += 1
    if not acting:
        notes.append("history or closed: tags, priority and SLA only")
        evaluation = replace(evaluation, team=None, notify=(), suppress=None, auto_ack=None)
    _apply_route(unit, conversation, evaluation, now, notes, report, acting)
    _apply_priority(conversation, evaluation, runtime, now)
    if evaluation.tags:
        added, removed = conversation.retag(list(evaluation.tags), [], now)
        if added:
            unit.conversations.set_tags(conversation.id, conversation.tags)
            events.append(
                ConversationTagged(
                    occurred_at=now, conversation_id=conversation.id, added=added, removed=removed
                )
            )
    if evaluation.private:
        conversation.private_mode = evaluation.private
    if evaluation.sla_policy:
        sla.apply_policy(unit, conversation, evaluation.sla_policy, runtime.holidays, now)
    for target in evaluation.notify:
        destination = playbook.targets.get(target)
        if destination is None:
            notes.append(f"notify {target}: no such target")
            continue
        queued = enqueue(
            unit,
            Destination(target, destination.webhook, destination.email),
            escalation_payload(runtime, conversation, facts, evaluation, target),
            key=f"playbook:{facts.message_id}:{target}",
            now=now,
            conversation_id=conversation.id,
        )
        report.escalations += int(queued > 0)
    if evaluation.suppress:
        conversation.suppress(evaluation.suppress, now)
        events.append(
            ConversationSuppressed(
                occurred_at=now, conversation_id=conversation.id, reason=evaluation.suppress
            )
        )
        report.suppressed += 1
    elif (
        evaluation.auto_ack
        and conversation.auto_acked_at is None
        and _auto_acknowledge(unit, runtime, conversation, evaluation.auto_ack, now, notes)
    ):
        report.auto_acks += 1
    unit.conversations.update_many([conversation])
    if evaluation.matched:
        events.append(
            PlaybookMatched(
                occurred_at=now,
                conversation_id=conversation.id,
                message_id=facts.message_id or 0,
                version=version or 0,
                rules=list(evaluation.matched),
                actions=[a.as_dict()["action"] for a in evaluation.actions],
            )
        )
    unit.events.append(events)
    report.notes.extend(notes)
    return {"version": version, **evaluation.as_dict(), **({"notes": notes} if notes else {})}


def _apply_route(
    unit: UnitOfWork,
    conversation: Conversation,
    evaluation: Evaluation,
    now: datetime,
    notes: list[str],
    report: PlaybookReport,
    acting: bool,
) -> None:
    if evaluation.suppress or not acting:
        return
    if evaluation.team:
        team = unit.teams.find(evaluation.team)
        if team is None:
            notes.append(f"route {evaluation.team}: no such team")
        elif conversation.team_id != team.id or conversation.assignee_id is None:
            routing.route(unit, conversation, team, now)
            report.routed += 1
    elif conversation.team_id is None and routing.route_by_skills(unit, conversation, now):
        report.routed += 1


def _apply_priority(
    conversation: Conversation, evaluation: Evaluation, runtime: Runtime, now: datetime
) -> None:
    """The last `priority: N` of the matched rules sets it, later `{add: n}` move it; kept on
    the conversation so the waiting-time rescoring keeps honouring it."""
    rule: dict[str, int] = {}
    for action in evaluation.actions:
        if isinstance(action, SetPriority):
            if action.value is not None:
                rule = {"set": action.value}
            if action.add:
                rule["add"] = rule.get("add", 0) + action.add
    if rule:
        conversation.priority_rule = rule
        conversation.rescore(runtime.weights, runtime.target_minutes, now)


def _auto_acknowledge(
    unit: UnitOfWork,
    runtime: Runtime,
    conversation: Conversation,
    template: str,
    now: datetime,
    notes: list[str],
) -> bool:
    """Send the template once per conversation, where the platform allows it; the customer still
    waits for a person, so the SLA clock and the queue are not touched."""
    assert conversation.id is not None
    caps = runtime.capabilities(conversation.platform)
    if not takes_written(conversation, caps):
        notes.append(f"auto_ack {template}: {caps.label} takes no written replies here")
        return False
    rendered = render_for(unit, template, conversation.id, None, runtime.capabilities)
    if not rendered.fits:
        notes.append(
            f"auto_ack {template}: {rendered.length} characters, {caps.label} allows "
            f"{rendered.max_length}"
        )
        return False
    message = automatic_message(unit, conversation, rendered.text, {"auto_ack": template}, now)
    queue_message(unit, conversation, message, f"auto-ack-{conversation.id}", now)
    conversation.auto_acked_at = now
    return True


def escalate_sla(
    unit: UnitOfWork,
    runtime: Runtime,
    conversation: Conversation,
    state: SlaState,
    now: datetime,
) -> int:
    """A conversation's SLA entered warning or breach: run the live rules on its customer's
    latest message with `sla_state` set, and send the escalations they name (once per state and
    due time). Tags they add are applied too; nothing else changes. Returns how many queued."""
    assert conversation.id is not None
    _, playbook = runtime.live.current(unit)
    latest = unit.messages.latest_inbound(conversation.id)
    if playbook is None or latest is None or latest.id is None:
        return 0
    if now - latest.created_at > HISTORY:
        return 0  # an imported or long-abandoned thread: its lateness is not news
    found = unit.messages.playbook_facts([latest.id])
    if not found:
        return 0
    facts = replace(found[0][0], sla_state=state.value)
    evaluation = playbook.evaluate(facts)
    if evaluation.tags:
        added, _ = conversation.retag(list(evaluation.tags), [], now)
        if added:
            unit.conversations.set_tags(conversation.id, conversation.tags)
    queued = 0
    due = conversation.sla_due_at.isoformat() if conversation.sla_due_at else "none"
    for target in evaluation.notify:
        destination = playbook.targets.get(target)
        if destination is None:
            continue
        reason = f"SLA {state.value} (due {due})"
        queued += enqueue(
            unit,
            Destination(target, destination.webhook, destination.email),
            escalation_payload(runtime, conversation, facts, evaluation, target, reason),
            key=f"sla:{conversation.id}:{state.value}:{due}:{target}",
            now=now,
            conversation_id=conversation.id,
        )
    return queued


def escalation_payload(
    runtime: Runtime,
    conversation: Conversation,
    facts: Facts,
    evaluation: Evaluation | None,
    target: str,
    reason: str | None = None,
) -> dict[str, Any]:
    """What an escalation carries: the message, why, and a link to the conversation; `subject`
    and `text` are what an e-mail shows."""
    link = f"{runtime.public_url.rstrip('/')}/conversations/{conversation.id}"
    why = reason or ("rules: " + ", ".join(evaluation.matched) if evaluation else "escalation")
    excerpt = facts.text if len(facts.text) <= 500 else facts.text[:499] + "…"
    return {
        "event": "escalation",
        "target": target,
        "reason": why,
        "conversation": {"id": conversation.id, "url": link, "platform": facts.platform},
        "message": {
            "id": facts.message_id,
            "text": facts.text,
            "channel": facts.channel_name,
            "created_at": facts.created_at.isoformat(),
            "sentiment": facts.sentiment,
            "intent": facts.intent,
            "followers": facts.followers,
        },
        "subject": f"[socialdesk] {target}: {facts.platform} conversation {conversation.id} ({why})",
        "text": f"{why}\n\n{facts.channel_name} · {facts.platform}\n\n{excerpt}\n\n{link}\n",
    }


def history(
    uow: UnitOfWorkFactory,
    since: datetime | None,
    business_hours: Callable[[int | None, datetime], bool] | None = None,
    chunk: int = 5000,
    id_range: tuple[int, int] | None = None,
) -> Iterator[tuple[Facts, int | None, float | None]]:
    """Every stored inbound message (since a date; with ids in `id_range` when given), in id
    order, read a chunk at a time."""
    after, last = (id_range[0] - 1, id_range[1]) if id_range else (0, None)
    while True:
        with uow(read_only=True) as unit:
            rows = unit.messages.history(since, after, chunk, business_hours)
        if last is not None:
            rows = [r for r in rows if (r[0].message_id or 0) <= last]
        if not rows:
            return
        yield from rows
        after = rows[-1][0].message_id or after
