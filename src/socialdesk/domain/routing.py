"""Routing: which team gets a conversation, which agent, what "take next" hands out, where the work
of an agent who went offline goes, and when two agents are about to collide.

Everything here is a pure decision over snapshots (team profiles, agent loads, queue items,
activity beats) that services read from storage; nothing is stored or sent from here, and time
comes in as `now`. The rules, in short:

* **Teams** have skills (languages, platforms, intents; an empty set means "any"). Of the teams
  whose skills cover a conversation, the most specific one wins, so a "Spanish billing on X" team
  gets its conversations before the catch-all team; equal specificity goes to the lowest team id,
  so the choice never depends on the order storage returned the rows in.
* **Agents** have a capacity per platform (`"*"` for the platforms not named; a platform neither
  named nor covered by `"*"` is one the agent does not take) and a presence. Only online agents
  under their limit are assigned anything, by round robin or by least load; manual teams are never
  pushed work, their agents pull it with take-next.
* **Take next** hands an agent the most urgent unassigned conversation of their teams (or of no
  team) on a platform they have room for, in the order of `urgency_key`.
* **Reassignment** moves an offline agent's open conversations to teammates, most urgent first so
  that those find the free capacity, and leaves the rest in the team queue.
* **Collisions**: live "viewing"/"typing" beats show who else is in a conversation, and a reply
  someone else sent after this agent last looked is flagged before this agent's reply goes out.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import NamedTuple

from socialdesk.domain.errors import InvalidInput

ANY_PLATFORM = "*"
"""Capacity key for every platform the capacity does not name itself."""

ACTIVITY_TTL = timedelta(seconds=30)
"""How long a viewing/typing beat counts; clients send one every ~10 s while the page is open."""


class Presence(StrEnum):
    ONLINE = "online"
    AWAY = "away"
    OFFLINE = "offline"


class AssignmentMode(StrEnum):
    ROUND_ROBIN = "round_robin"
    LEAST_LOADED = "least_loaded"
    MANUAL = "manual"


# -- teams --------------------------------------------------------------------------------------


def normalise_language(code: str) -> str:
    """Language tags compare case-insensitively and with `-` or `_` alike ("pt_BR" is "pt-br")."""
    return code.strip().casefold().replace("_", "-")


def language_matches(accepted: frozenset[str], language: str | None) -> bool:
    """Whether a language is among `accepted` (normalised tags; empty means any).

    A primary tag accepts its regional variants ("en" takes "en-gb"), because detectors and
    platforms disagree on whether they report the region; a regional tag ("pt-br") accepts only
    itself. An unknown language (None) is accepted only where any language is.
    """
    if not accepted:
        return True
    if language is None:
        return False
    tag = normalise_language(language)
    return tag in accepted or tag.split("-", 1)[0] in accepted


@dataclass(frozen=True, slots=True)
class TeamSkills:
    """What a team handles. Each empty set means "any"; a non-empty one is a restriction.

    Languages are normalised (see `normalise_language`); platforms and intents are the desk's own
    identifiers and compare exactly.
    """

    languages: frozenset[str] = frozenset()
    platforms: frozenset[str] = frozenset()
    intents: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        # Accept any iterable of strings from callers (lists from YAML or JSON) but keep sets.
        object.__setattr__(
            self, "languages", frozenset(normalise_language(v) for v in self.languages)
        )
        object.__setattr__(self, "platforms", frozenset(self.platforms))
        object.__setattr__(self, "intents", frozenset(self.intents))

    def covers(self, *, language: str | None, platform: str, intent: str | None) -> bool:
        """Whether a conversation with these traits is this team's to handle.

        An unknown language or intent is covered only by teams that do not restrict it: a
        "Spanish only" team should not receive a message whose language nobody detected.
        """
        if self.platforms and platform not in self.platforms:
            return False
        if self.intents and intent not in self.intents:
            return False
        return language_matches(self.languages, language)

    def specificity(self) -> int:
        """How many of the three traits the team restricts (0 for a catch-all team, up to 3).

        Counting restricted traits, not listed values, keeps the rule one a supervisor can predict:
        a team that names a language and an intent beats one that only names a language,
        whatever the number of languages each lists.
        """
        return sum(1 for values in (self.languages, self.platforms, self.intents) if values)


@dataclass(frozen=True, slots=True)
class TeamProfile:
    team_id: int
    name: str
    skills: TeamSkills
    mode: AssignmentMode = AssignmentMode.ROUND_ROBIN


def choose_team(
    teams: Sequence[TeamProfile], *, language: str | None, platform: str, intent: str | None
) -> TeamProfile | None:
    """The covering team with the most specific skills (ties: lowest team id); None if none covers."""
    covering = [
        t for t in teams if t.skills.covers(language=language, platform=platform, intent=intent)
    ]
    if not covering:
        return None
    return min(covering, key=lambda t: (-t.skills.specificity(), t.team_id))


# -- agents -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Capacity:
    """How many open conversations an agent may hold at once, per platform.

    `{"x": 5, "email": 10, "*": 3}` allows five on X, ten e-mails and three on each other platform
    (each separately: `"*"` is a default limit, not a shared pool). Without `"*"`, a platform not
    named gets a limit of 0: the agent does not take it (a phone-only agent is never sent a DM).
    """

    per_platform: Mapping[str, int]

    def __post_init__(self) -> None:
        for platform, limit in self.per_platform.items():
            if limit < 0:
                raise InvalidInput(
                    f"capacity for {platform!r} is {limit}; use 0 or more (0: does not take it)",
                    field="capacity",
                )
        # A private read-only copy: a caller mutating its dict later cannot change a decision.
        object.__setattr__(self, "per_platform", MappingProxyType(dict(self.per_platform)))

    def limit(self, platform: str) -> int:
        if platform in self.per_platform:
            return self.per_platform[platform]
        return self.per_platform.get(ANY_PLATFORM, 0)


@dataclass(frozen=True, slots=True)
class AgentLoad:
    """An agent as routing sees them: presence, capacity and what they hold now."""

    agent_id: int
    presence: Presence
    capacity: Capacity
    open_by_platform: Mapping[str, int]
    last_assigned_at: datetime | None = None

    def __post_init__(self) -> None:
        for platform, count in self.open_by_platform.items():
            if count < 0:
                raise InvalidInput(
                    f"agent {self.agent_id} has {count} open on {platform!r}; counts are 0 or more",
                    field="open_by_platform",
                )
        object.__setattr__(self, "open_by_platform", MappingProxyType(dict(self.open_by_platform)))

    def open_on(self, platform: str) -> int:
        return self.open_by_platform.get(platform, 0)

    @property
    def total_open(self) -> int:
        return sum(self.open_by_platform.values())

    def can_take(self, platform: str) -> bool:
        """Online and under the limit for that platform. Away agents keep what they hold but get
        nothing new; an agent over a lowered limit gets nothing until they are back under it."""
        return self.presence is Presence.ONLINE and self.open_on(platform) < self.capacity.limit(
            platform
        )

    def load(self, platform: str) -> float:
        """Share of the platform's capacity in use (above 1 after a limit was lowered).

        A platform the agent does not take has an infinite load, so no comparison prefers them.
        """
        limit = self.capacity.limit(platform)
        if limit == 0:
            return math.inf
        return self.open_on(platform) / limit

    def with_assigned(self, platform: str, at: datetime) -> AgentLoad:
        """This agent after one more conversation on `platform` was assigned at `at`."""
        counts = dict(self.open_by_platform)
        counts[platform] = counts.get(platform, 0) + 1
        return replace(self, open_by_platform=counts, last_assigned_at=at)

    def with_closed(self, platform: str) -> AgentLoad:
        """This agent after one of their conversations on `platform` was closed or moved away."""
        if self.open_on(platform) == 0:
            raise InvalidInput(
                f"agent {self.agent_id} holds nothing open on {platform!r} to close",
                field="platform",
            )
        counts = dict(self.open_by_platform)
        counts[platform] -= 1
        return replace(self, open_by_platform=counts)


def _least_loaded_key(agent: AgentLoad, platform: str) -> tuple[float, int, float, int]:
    # Never assigned counts as the longest wait of all (-inf sorts first).
    since = -math.inf if agent.last_assigned_at is None else agent.last_assigned_at.timestamp()
    return (agent.load(platform), agent.total_open, since, agent.agent_id)


def choose_agent(
    mode: AssignmentMode,
    agents: Sequence[AgentLoad],
    *,
    platform: str,
    last_agent_id: int | None = None,
) -> AgentLoad | None:
    """The agent a new conversation on `platform` goes to, or None to leave it in the team queue.

    ROUND_ROBIN: the first agent, by agent id, after `last_agent_id` who can take it, wrapping
    around (the pointer is an id, not a position, so agents joining or leaving the team do not
    shift whose turn it is). LEAST_LOADED: the lowest share of capacity used on that platform;
    ties by fewest open conversations overall, then longest since their last assignment (never
    assigned first), then lowest id. MANUAL: always None, agents pull with take-next.
    """
    if mode is AssignmentMode.MANUAL:
        return None
    eligible = sorted((a for a in agents if a.can_take(platform)), key=lambda a: a.agent_id)
    if not eligible:
        return None
    if mode is AssignmentMode.LEAST_LOADED:
        return min(eligible, key=lambda a: _least_loaded_key(a, platform))
    if last_agent_id is None:
        return eligible[0]
    return next((a for a in eligible if a.agent_id > last_agent_id), eligible[0])


# -- the queue ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QueueItem:
    """One open conversation as take-next and reassignment see it."""

    conversation_id: int
    team_id: int | None
    assignee_id: int | None
    platform: str
    priority: int
    sla_due_at: datetime | None
    waiting_since: datetime | None
    language: str | None = None


def urgency_key(item: QueueItem, now: datetime) -> tuple[int, float, float, float, int]:
    """Sort key, most urgent first. Three tiers, then the oldest wait, then the id:

    1. SLA already breached: highest priority first, then the most overdue. Every one of these is
       late already; the one that matters most should be rescued first.
    2. SLA running: soonest due first, then highest priority. Response targets are set per
       priority, so the due time already carries the priority; the soonest deadline is the one
       that can still be met.
    3. No SLA: highest priority first.

    A conversation not waiting on us (`waiting_since` None) sorts after the waiting ones of its
    tier; the id breaks the last ties so the order is total and stable.
    """
    waited = math.inf if item.waiting_since is None else item.waiting_since.timestamp()
    priority = float(-item.priority)
    if item.sla_due_at is None:
        return (2, priority, 0.0, waited, item.conversation_id)
    due = item.sla_due_at.timestamp()
    if item.sla_due_at <= now:
        return (0, priority, due, waited, item.conversation_id)
    return (1, due, priority, waited, item.conversation_id)


def take_next(
    items: Iterable[QueueItem],
    agent: AgentLoad,
    *,
    team_ids: frozenset[int],
    now: datetime,
    languages: frozenset[str] = frozenset(),
) -> QueueItem | None:
    """The most urgent item this agent may take now, or None.

    Eligible: unassigned; of one of the agent's teams, or of no team yet (unrouted work belongs to
    whoever has room); on a platform the agent can take now (online and under its limit); and,
    when `languages` is given, in one of them (regional variants of a listed primary language
    too). A conversation whose language is unknown is eligible for everyone: somebody has to read
    it to find out.
    """
    accepted = frozenset(normalise_language(v) for v in languages)
    eligible = [
        item
        for item in items
        if item.assignee_id is None
        and (item.team_id is None or item.team_id in team_ids)
        and agent.can_take(item.platform)
        and (item.language is None or language_matches(accepted, item.language))
    ]
    if not eligible:
        return None
    return min(eligible, key=lambda item: urgency_key(item, now))


class Reassignment(NamedTuple):
    """Where one conversation goes: an agent, or back to the team queue (`agent_id` None)."""

    conversation_id: int
    agent_id: int | None


def reassignments(
    agents: Sequence[AgentLoad],
    assigned: Sequence[QueueItem],
    *,
    mode: AssignmentMode,
    now: datetime,
    last_agent_id: int | None = None,
) -> list[Reassignment]:
    """Where the open conversations of an agent who went offline go, most urgent first.

    `agents` are the team's agents as they are now (the one who left may be among them: being
    offline, and the current assignee, they are never chosen); `assigned` are the conversations
    to move, all of that team. Each goes to another agent chosen by the team's `mode`, counting
    the conversations already handed out in this call against capacity (and, for round robin,
    moving the pointer on from `last_agent_id`), or to the team queue when nobody has room. Going
    in urgency order means that when room is short it is the urgent ones that find it. A manual
    team gets everything back in its queue.
    """
    loads = {a.agent_id: a for a in agents}
    pointer = last_agent_id
    moves: list[Reassignment] = []
    for item in sorted(assigned, key=lambda i: urgency_key(i, now)):
        candidates = [a for a in loads.values() if a.agent_id != item.assignee_id]
        chosen = choose_agent(mode, candidates, platform=item.platform, last_agent_id=pointer)
        if chosen is None:
            moves.append(Reassignment(item.conversation_id, None))
            continue
        loads[chosen.agent_id] = chosen.with_assigned(item.platform, now)
        pointer = chosen.agent_id
        moves.append(Reassignment(item.conversation_id, chosen.agent_id))
    return moves


# -- collisions ---------------------------------------------------------------------------------


class ActivityKind(StrEnum):
    VIEWING = "viewing"
    TYPING = "typing"


@dataclass(frozen=True, slots=True)
class Activity:
    """A beat from an agent's workspace: they are viewing, or typing in, a conversation."""

    agent_id: int
    conversation_id: int
    kind: ActivityKind
    at: datetime

    def live(self, now: datetime, ttl: timedelta = ACTIVITY_TTL) -> bool:
        """Younger than `ttl`. A beat stamped slightly ahead of `now` (clocks of two processes
        disagree) still counts: it is as fresh as can be."""
        return now - self.at < ttl


def others_present(
    activities: Iterable[Activity],
    conversation_id: int,
    me: int,
    now: datetime,
    ttl: timedelta = ACTIVITY_TTL,
) -> list[Activity]:
    """Who else is live in this conversation: one entry per agent, freshest first.

    An agent both typing and viewing shows as typing (the stronger warning: a reply is coming),
    even if their latest viewing beat is newer; otherwise their newest beat stands. Ties in time
    go to the lower agent id, so the list is stable between refreshes.
    """
    best: dict[int, Activity] = {}
    for beat in activities:
        if beat.conversation_id != conversation_id or beat.agent_id == me:
            continue
        if not beat.live(now, ttl):
            continue
        held = best.get(beat.agent_id)
        if held is None or _stronger(beat, held):
            best[beat.agent_id] = beat
    return sorted(best.values(), key=lambda b: (-b.at.timestamp(), b.agent_id))


def _stronger(beat: Activity, held: Activity) -> bool:
    typing_new = beat.kind is ActivityKind.TYPING
    typing_held = held.kind is ActivityKind.TYPING
    if typing_new != typing_held:
        return typing_new
    return beat.at > held.at


@dataclass(frozen=True, slots=True)
class Collision:
    """Someone else replied after this agent last looked. `by_agent_id` None: the reply was made
    outside the desk (natively on the platform)."""

    by_agent_id: int | None
    message_id: int
    at: datetime


def reply_collision(
    *, seen_up_to: datetime, me: int, brand_replies: Iterable[tuple[int, int | None, datetime]]
) -> Collision | None:
    """The newest reply by someone else sent after `seen_up_to`, or None when it is safe to send.

    `brand_replies` are (message_id, agent_id, at) of the conversation's outbound replies. The
    agent's own replies never collide; a reply at exactly `seen_up_to` was on screen and is not
    news. The newest one is reported because it is the answer the customer reads last and the one
    the agent must check theirs against; ties in time go to the higher message id (stored later).
    """
    newest: tuple[datetime, int, int | None] | None = None
    for message_id, agent_id, at in brand_replies:
        if agent_id == me or at <= seen_up_to:
            continue
        if newest is None or (at, message_id) > (newest[0], newest[1]):
            newest = (at, message_id, agent_id)
    if newest is None:
        return None
    at, message_id, agent_id = newest
    return Collision(by_agent_id=agent_id, message_id=message_id, at=at)
