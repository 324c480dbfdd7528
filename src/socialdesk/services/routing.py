"""Who handles a conversation: teams by skills, agents by the team's assignment mode, capacity
and presence; "take next" for teams that pull; hand-over when an agent goes offline; and who is
looking at or typing in a conversation, so two agents do not answer at once.

The decisions are the pure functions of `domain/routing.py`; this module loads what they need,
applies their answer and records it (ConversationAssigned events), in one unit of work.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from socialdesk.domain.agents import Agent, Team
from socialdesk.domain.conversations import Conversation
from socialdesk.domain.errors import InvalidInput, NotFound
from socialdesk.domain.events import ConversationAssigned, settings_changed
from socialdesk.domain.platforms import PLATFORM_NAME
from socialdesk.domain.routing import (
    ACTIVITY_TTL,
    ANY_PLATFORM,
    Activity,
    ActivityKind,
    AgentLoad,
    AssignmentMode,
    Capacity,
    Presence,
    QueueItem,
    TeamProfile,
    TeamSkills,
    choose_agent,
    choose_team,
    normalise_language,
    others_present,
    reassignments,
    take_next,
)
from socialdesk.services.ports import UnitOfWork

SKILL_KINDS = ("languages", "platforms", "intents")
TAKE_WINDOW = 200  # candidates read for take-next: the most urgent ones, of which one is taken


def profile(team: Team) -> TeamProfile:
    assert team.id is not None
    return TeamProfile(
        team_id=team.id,
        name=team.name,
        skills=TeamSkills(**{k: frozenset(team.skills.get(k, ())) for k in SKILL_KINDS}),
        mode=AssignmentMode(team.assignment_mode),
    )


def load_of(agent: Agent, counts: Mapping[str, int]) -> AgentLoad:
    assert agent.id is not None
    return AgentLoad(
        agent_id=agent.id,
        presence=Presence(agent.presence),
        capacity=Capacity(agent.capacity or {"*": 10}),
        open_by_platform=counts,
        last_assigned_at=agent.last_assigned_at,
    )


def team_loads(unit: UnitOfWork, team_id: int) -> tuple[list[Agent], list[AgentLoad]]:
    agents = unit.agents.in_team(team_id)
    counts = unit.conversations.open_counts([a.id for a in agents if a.id is not None])
    return agents, [load_of(a, counts.get(a.id or -1, {})) for a in agents]


# -- configuring ---------------------------------------------------------------------------


def configure_team(
    unit: UnitOfWork,
    team_id: int,
    *,
    skills: Mapping[str, Sequence[str]] | None = None,
    mode: str | None = None,
    calendar: str | None = None,
    sla_policy: str | None = None,
) -> Team:
    """Change a team's skills, assignment mode, calendar or default SLA policy (names; "" clears
    the calendar or policy). Inside the caller's unit of work."""
    team = unit.teams.get(team_id)
    if team is None:
        raise NotFound(f"team {team_id} does not exist")
    if skills is not None:
        unknown = set(skills) - set(SKILL_KINDS)
        if unknown:
            raise InvalidInput(
                f"unknown skill kinds {sorted(unknown)}; use {list(SKILL_KINDS)}", field="skills"
            )
        team.skills = {k: _skill_values(k, skills.get(k, ())) for k in SKILL_KINDS}
    if mode is not None:
        try:
            team.assignment_mode = AssignmentMode(mode).value
        except ValueError as exc:
            raise InvalidInput(
                f"assignment mode {mode!r}: use {[m.value for m in AssignmentMode]}",
                field="assignment_mode",
            ) from exc
    if calendar is not None:
        found = unit.calendars.find(calendar) if calendar else None
        if calendar and found is None:
            raise InvalidInput(f"there is no calendar named {calendar!r}", field="calendar")
        team.calendar_id = found.id if found else None
    if sla_policy is not None:
        policy = unit.sla_policies.find(sla_policy) if sla_policy else None
        if sla_policy and policy is None:
            raise InvalidInput(f"there is no SLA policy named {sla_policy!r}", field="sla_policy")
        team.sla_policy_id = policy.id if policy else None
    unit.teams.update(team)
    return team


def _skill_values(kind: str, values: Sequence[str]) -> list[str]:
    """A skill list as routing compares it: languages normalised ("pt_BR" is "pt-br"),
    platforms lower case and real platform names, intents as written; blanks and repeats
    dropped."""
    cleaned = {str(v).strip() for v in values} - {""}
    if kind == "languages":
        return sorted({normalise_language(v) for v in cleaned})
    if kind == "platforms":
        cleaned = {v.casefold() for v in cleaned}
        bad = sorted(v for v in cleaned if not PLATFORM_NAME.match(v))
        if bad:
            raise InvalidInput(f"{bad[0]!r} is not a platform name, e.g. x", field="skills")
    return sorted(cleaned)


def set_capacity(unit: UnitOfWork, agent_id: int, capacity: Mapping[str, int]) -> Agent:
    agent = unit.agents.get(agent_id)
    if agent is None:
        raise NotFound(f"agent {agent_id} does not exist")
    Capacity(capacity)  # validates
    unknown = sorted(k for k in capacity if k != ANY_PLATFORM and not PLATFORM_NAME.match(k))
    if unknown:
        raise InvalidInput(
            f"capacity keys are platforms (x, email, …) or '*' for any other; got {unknown[0]!r}",
            field="capacity",
        )
    if any(not 0 <= v <= 1000 for v in capacity.values()):
        raise InvalidInput("a capacity is 0 to 1000 conversations", field="capacity")
    agent.capacity = dict(capacity)
    unit.agents.update(agent)
    return agent


# -- assigning ------------------------------------------------------------------------------


def assign_to(
    unit: UnitOfWork,
    conversation: Conversation,
    team_id: int | None,
    agent_id: int | None,
    now: datetime,
    actor_id: int | None = None,
) -> None:
    before = (conversation.assignee_id, conversation.team_id)
    conversation.assign(agent_id, team_id, now)
    if before == (agent_id, team_id):
        return
    if agent_id is not None:
        agent = unit.agents.get(agent_id)
        if agent is not None:
            agent.last_assigned_at = now
            unit.agents.update(agent)
    unit.events.append(
        [
            ConversationAssigned(
                occurred_at=now,
                actor_agent_id=actor_id,
                conversation_id=conversation.id,
                assignee_before=before[0],
                assignee_after=agent_id,
                team_before=before[1],
                team_after=team_id,
            )
        ]
    )


def route(unit: UnitOfWork, conversation: Conversation, team: Team, now: datetime) -> int | None:
    """Send a conversation to a team and, unless the team pulls work (manual), to one of its
    agents by the team's mode. Returns the agent chosen (None: it waits in the team's queue).
    The caller stores the conversation."""
    assert team.id is not None
    agent_id = conversation.assignee_id if conversation.team_id == team.id else None
    mode = AssignmentMode(team.assignment_mode)
    if agent_id is None and mode is not AssignmentMode.MANUAL:
        _, loads = team_loads(unit, team.id)
        chosen = choose_agent(
            mode, loads, platform=conversation.platform, last_agent_id=team.last_assigned_agent_id
        )
        if chosen is not None:
            agent_id = chosen.agent_id
            team.last_assigned_agent_id = agent_id
            unit.teams.update(team)
    assign_to(unit, conversation, team.id, agent_id, now)
    return agent_id


def route_by_skills(unit: UnitOfWork, conversation: Conversation, now: datetime) -> Team | None:
    """A conversation no rule routed goes to the most specific team whose skills cover its
    language, platform and intent (teams without skills take nothing this way)."""
    teams = [t for t in unit.teams.list_all() if any(t.skills.get(k) for k in SKILL_KINDS)]
    chosen = choose_team(
        [profile(t) for t in teams],
        language=conversation.language,
        platform=conversation.platform,
        intent=conversation.intent,
    )
    if chosen is None:
        return None
    team = next(t for t in teams if t.id == chosen.team_id)
    route(unit, conversation, team, now)
    return team


def take_next_for(unit: UnitOfWork, agent: Agent, now: datetime) -> Conversation | None:
    """The most urgent open, unassigned conversation this agent may take (their teams', on a
    platform they have room for), assigned to them; None when there is nothing for them."""
    assert agent.id is not None
    counts = unit.conversations.open_counts([agent.id]).get(agent.id, {})
    load = load_of(agent, counts)
    items = [
        _queue_item(c) for c in unit.conversations.take_candidates(agent.team_ids, TAKE_WINDOW)
    ]
    while True:
        picked = take_next(items, load, team_ids=frozenset(agent.team_ids), now=now)
        if picked is None:
            return None
        conversation = unit.conversations.claim_free(picked.conversation_id)
        if conversation is not None:
            break
        # Another agent took it (or holds it) meanwhile: the next most urgent one.
        items = [i for i in items if i.conversation_id != picked.conversation_id]
    assign_to(unit, conversation, conversation.team_id, agent.id, now, actor_id=agent.id)
    unit.conversations.update_many([conversation])
    return conversation


def _queue_item(conversation: Conversation) -> QueueItem:
    assert conversation.id is not None
    return QueueItem(
        conversation_id=conversation.id,
        team_id=conversation.team_id,
        assignee_id=conversation.assignee_id,
        platform=conversation.platform,
        priority=conversation.priority,
        sla_due_at=conversation.sla_due_at,
        waiting_since=conversation.waiting_since,
        language=conversation.language,
    )


def set_presence(unit: UnitOfWork, agent: Agent, presence: str, now: datetime) -> int:
    """Change an agent's presence; going offline hands their open conversations on (to team
    mates by each team's mode, or back to the team queue). Returns how many moved."""
    try:
        wanted = Presence(presence)
    except ValueError as exc:
        raise InvalidInput(
            f"presence {presence!r}: use {[p.value for p in Presence]}", field="presence"
        ) from exc
    agent.presence, agent.presence_at = wanted.value, now
    unit.agents.update(agent)
    if wanted is not Presence.OFFLINE or agent.id is None:
        return 0
    held = unit.conversations.assigned_open(agent.id)
    moved = 0
    by_team: dict[int | None, list[Conversation]] = {}
    for conversation in held:
        by_team.setdefault(conversation.team_id, []).append(conversation)
    for team_id, conversations in by_team.items():
        team = unit.teams.get(team_id) if team_id is not None else None
        if team is None or team.id is None:
            for conversation in conversations:
                assign_to(unit, conversation, team_id, None, now)
            moved += len(conversations)
            continue
        _, loads = team_loads(unit, team.id)
        plan = reassignments(
            loads,
            [_queue_item(c) for c in conversations],
            mode=AssignmentMode(team.assignment_mode),
            now=now,
            last_agent_id=team.last_assigned_agent_id,
        )
        for move in plan:
            conversation = next(c for c in conversations if c.id == move.conversation_id)
            assign_to(unit, conversation, team.id, move.agent_id, now)
            if move.agent_id is not None:
                team.last_assigned_agent_id = move.agent_id
        unit.teams.update(team)
        moved += len(plan)
    unit.conversations.update_many(held)
    return moved


# -- who is here ---------------------------------------------------------------------------


def beat(
    unit: UnitOfWork,
    agent: Agent,
    conversation_id: int,
    kind: str,
    now: datetime,
    seen_up_to: datetime | None = None,
) -> list[Activity]:
    """An agent's workspace says they are viewing or typing in a conversation; returns who else
    is there now."""
    assert agent.id is not None
    try:
        activity_kind = ActivityKind(kind)
    except ValueError as exc:
        raise InvalidInput(f"activity {kind!r}: use viewing or typing", field="kind") from exc
    if seen_up_to is not None and seen_up_to.utcoffset() is None:
        raise InvalidInput(
            "seen_up_to needs a time zone, e.g. 2026-03-02T09:00:00Z", field="seen_up_to"
        )
    if unit.conversations.get(conversation_id) is None:
        raise NotFound(f"conversation {conversation_id} does not exist")
    unit.activities.beat(Activity(agent.id, conversation_id, activity_kind, now), seen_up_to)
    return present(unit, conversation_id, agent.id, now)


def present(unit: UnitOfWork, conversation_id: int, me: int, now: datetime) -> list[Activity]:
    recent = unit.activities.in_conversation(
        conversation_id, now - ACTIVITY_TTL - timedelta(seconds=1)
    )
    return others_present(recent, conversation_id, me, now)


# -- use cases (each its own transaction) ---------------------------------------------------


def update_team(
    uow: UnitOfWork,
    team_id: int,
    *,
    actor_id: int | None,
    now: datetime,
    skills: Mapping[str, Sequence[str]] | None = None,
    mode: str | None = None,
    calendar: str | None = None,
    sla_policy: str | None = None,
) -> Team:
    with uow:
        found = uow.teams.get(team_id)
        before = _team_routing(found) if found else None
        team = configure_team(
            uow, team_id, skills=skills, mode=mode, calendar=calendar, sla_policy=sla_policy
        )
        _audit(uow, now, actor_id, "team_routing", team_id, before, _team_routing(team))
        uow.commit()
    return team


def _audit(
    uow: UnitOfWork,
    now: datetime,
    actor_id: int | None,
    subject: str,
    subject_id: int,
    before: dict[str, Any] | None,
    after: dict[str, Any],
) -> None:
    uow.events.append(
        [
            settings_changed(
                now=now,
                actor_id=actor_id,
                subject=subject,
                subject_id=subject_id,
                before=before,
                after=after,
            )
        ]
    )


def _team_routing(team: Team) -> dict[str, Any]:
    return {
        "skills": {k: list(v) for k, v in team.skills.items()},
        "assignment_mode": team.assignment_mode,
        "calendar_id": team.calendar_id,
        "sla_policy_id": team.sla_policy_id,
    }


def update_capacity(
    uow: UnitOfWork, agent_id: int, capacity: Mapping[str, int], *, actor_id: int, now: datetime
) -> Agent:
    with uow:
        found = uow.agents.get(agent_id)
        before = dict(found.capacity) if found else None
        agent = set_capacity(uow, agent_id, capacity)
        after = {"capacity": dict(agent.capacity)}
        _audit(uow, now, actor_id, "capacity", agent_id, {"capacity": before}, after)
        uow.commit()
    return agent


def change_presence(uow: UnitOfWork, agent_id: int, presence: str, now: datetime) -> int:
    """The agent's own presence change, audited with how many conversations it handed on."""
    with uow:
        agent = uow.agents.get(agent_id)
        if agent is None:
            raise NotFound(f"agent {agent_id} does not exist")
        before = agent.presence
        moved = set_presence(uow, agent, presence, now)
        after = {"presence": agent.presence, "handed_on": moved}
        _audit(uow, now, agent_id, "presence", agent_id, {"presence": before}, after)
        uow.commit()
    return moved


def take_next_conversation(uow: UnitOfWork, agent_id: int, now: datetime) -> int | None:
    """The id of the conversation just assigned to the agent, or None."""
    with uow:
        agent = uow.agents.get(agent_id)
        if agent is None:
            raise NotFound(f"agent {agent_id} does not exist")
        conversation = take_next_for(uow, agent, now)
        uow.commit()
    return conversation.id if conversation else None


def record_activity(
    uow: UnitOfWork,
    agent_id: int,
    conversation_id: int,
    kind: str,
    now: datetime,
    seen_up_to: datetime | None = None,
) -> list[Activity]:
    with uow:
        agent = uow.agents.get(agent_id)
        if agent is None:
            raise NotFound(f"agent {agent_id} does not exist")
        others = beat(uow, agent, conversation_id, kind, now, seen_up_to)
        uow.commit()
    return others


def who_is_here(uow: UnitOfWork, conversation_id: int, me: int, now: datetime) -> list[Activity]:
    with uow:
        if uow.conversations.get(conversation_id) is None:
            raise NotFound(f"conversation {conversation_id} does not exist")
        return present(uow, conversation_id, me, now)
