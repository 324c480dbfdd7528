"""Routing rules without a database: team choice, agent choice, take-next, reassignment when an
agent goes offline, and collision signals between agents."""

from __future__ import annotations

import itertools
import random
from collections import Counter
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from socialdesk.domain.errors import InvalidInput
from socialdesk.domain.routing import (
    Activity,
    ActivityKind,
    AgentLoad,
    AssignmentMode,
    Capacity,
    Collision,
    Presence,
    QueueItem,
    Reassignment,
    TeamProfile,
    TeamSkills,
    choose_agent,
    choose_team,
    others_present,
    reassignments,
    reply_collision,
    take_next,
    urgency_key,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)
PLATFORMS = ("x", "email", "chat", "facebook")
RR, LL, MANUAL = AssignmentMode.ROUND_ROBIN, AssignmentMode.LEAST_LOADED, AssignmentMode.MANUAL


def agent(
    agent_id: int,
    *,
    presence: Presence = Presence.ONLINE,
    limits: Mapping[str, int] | None = None,
    open_: Mapping[str, int] | None = None,
    last: datetime | None = None,
) -> AgentLoad:
    return AgentLoad(
        agent_id=agent_id,
        presence=presence,
        capacity=Capacity({"*": 5} if limits is None else limits),
        open_by_platform={} if open_ is None else open_,
        last_assigned_at=last,
    )


def item(
    conversation_id: int,
    *,
    team_id: int | None = 1,
    assignee_id: int | None = None,
    platform: str = "x",
    priority: int = 0,
    due: datetime | None = None,
    waiting: datetime | None = T0,
    language: str | None = None,
) -> QueueItem:
    return QueueItem(
        conversation_id=conversation_id,
        team_id=team_id,
        assignee_id=assignee_id,
        platform=platform,
        priority=priority,
        sla_due_at=due,
        waiting_since=waiting,
        language=language,
    )


def id_of(found: TeamProfile | AgentLoad | QueueItem | None) -> int | None:
    """The id of what a routing function returned, or None, so one assert checks both."""
    if isinstance(found, TeamProfile):
        return found.team_id
    if isinstance(found, AgentLoad):
        return found.agent_id
    if isinstance(found, QueueItem):
        return found.conversation_id
    return None


def team(team_id: int, **skills: frozenset[str]) -> TeamProfile:
    return TeamProfile(team_id=team_id, name=f"team {team_id}", skills=TeamSkills(**skills))


# -- teams --------------------------------------------------------------------------------------


class TestTeamSkills:
    def test_a_team_without_skills_covers_everything_even_the_unknown(self) -> None:
        skills = TeamSkills()
        assert skills.covers(language=None, platform="phone", intent=None)
        assert skills.covers(language="ja", platform="x", intent="billing")
        assert skills.specificity() == 0

    def test_each_restriction_must_hold(self) -> None:
        skills = TeamSkills(
            languages=frozenset({"es"}),
            platforms=frozenset({"x"}),
            intents=frozenset({"billing"}),
        )
        assert skills.covers(language="es", platform="x", intent="billing")
        assert not skills.covers(language="en", platform="x", intent="billing")
        assert not skills.covers(language="es", platform="email", intent="billing")
        assert not skills.covers(language="es", platform="x", intent="delivery")
        assert skills.specificity() == 3

    def test_unknown_language_or_intent_is_not_assumed_to_match_a_restriction(self) -> None:
        spanish = TeamSkills(languages=frozenset({"es"}))
        billing = TeamSkills(intents=frozenset({"billing"}))
        assert not spanish.covers(language=None, platform="x", intent="billing")
        assert not billing.covers(language="es", platform="x", intent=None)

    @pytest.mark.parametrize(
        ("listed", "detected", "covered"),
        [
            ("en", "en-GB", True),
            ("EN", "en", True),
            ("pt_BR", "pt-br", True),
            ("pt-BR", "pt", False),
            ("pt-BR", "pt-PT", False),
            ("en", "eng", False),
        ],
    )
    def test_languages_compare_by_normalised_tag_and_primary_subtag(
        self, listed: str, detected: str, covered: bool
    ) -> None:
        skills = TeamSkills(languages=frozenset({listed}))
        assert skills.covers(language=detected, platform="x", intent=None) is covered

    def test_specificity_counts_restricted_traits_not_values(self) -> None:
        many_languages = TeamSkills(languages=frozenset({"en", "es", "fr", "de"}))
        language_and_intent = TeamSkills(
            languages=frozenset({"en", "es", "fr", "de"}), intents=frozenset({"billing"})
        )
        assert many_languages.specificity() == 1
        assert language_and_intent.specificity() == 2


class TestChooseTeam:
    def test_most_specific_covering_team_wins(self) -> None:
        teams = [
            team(1),
            team(2, languages=frozenset({"es"})),
            team(3, languages=frozenset({"es"}), intents=frozenset({"billing"})),
            team(4, languages=frozenset({"es"}), intents=frozenset({"delivery"})),
        ]
        chosen = choose_team(teams, language="es", platform="x", intent="billing")
        assert id_of(chosen) == 3
        chosen = choose_team(teams, language="es", platform="x", intent="refund")
        assert id_of(chosen) == 2
        chosen = choose_team(teams, language="de", platform="x", intent="billing")
        assert id_of(chosen) == 1

    def test_equal_specificity_goes_to_the_lowest_team_id_whatever_the_order(self) -> None:
        teams = [team(9, platforms=frozenset({"x"})), team(4, languages=frozenset({"en"}))]
        for order in (teams, teams[::-1]):
            chosen = choose_team(order, language="en", platform="x", intent=None)
            assert id_of(chosen) == 4

    def test_none_when_nobody_covers(self) -> None:
        teams = [team(1, platforms=frozenset({"email"})), team(2, languages=frozenset({"fr"}))]
        assert choose_team(teams, language="en", platform="x", intent=None) is None
        assert choose_team([], language="en", platform="x", intent=None) is None

    @given(
        st.lists(
            st.tuples(
                st.frozensets(st.sampled_from(["en", "es", "fr"]), max_size=2),
                st.frozensets(st.sampled_from(PLATFORMS), max_size=2),
                st.frozensets(st.sampled_from(["billing", "delivery", "other"]), max_size=2),
            ),
            max_size=8,
        ),
        st.sampled_from(["en", "es", "fr", None]),
        st.sampled_from(PLATFORMS),
        st.sampled_from(["billing", "delivery", "other", None]),
        st.randoms(use_true_random=False),
    )
    def test_choice_is_the_most_specific_cover_and_independent_of_order(
        self,
        specs: list[tuple[frozenset[str], frozenset[str], frozenset[str]]],
        language: str | None,
        platform: str,
        intent: str | None,
        rnd: random.Random,
    ) -> None:
        teams = [
            TeamProfile(i + 1, f"t{i}", TeamSkills(languages=lang, platforms=plat, intents=intn))
            for i, (lang, plat, intn) in enumerate(specs)
        ]
        chosen = choose_team(teams, language=language, platform=platform, intent=intent)
        covering = [
            t for t in teams if t.skills.covers(language=language, platform=platform, intent=intent)
        ]
        if not covering:
            assert chosen is None
            return
        assert chosen is not None
        assert chosen.skills.covers(language=language, platform=platform, intent=intent)
        for other in covering:
            assert (other.skills.specificity(), -other.team_id) <= (
                chosen.skills.specificity(),
                -chosen.team_id,
            )
        shuffled = list(teams)
        rnd.shuffle(shuffled)
        assert choose_team(shuffled, language=language, platform=platform, intent=intent) == chosen


# -- capacity and presence ----------------------------------------------------------------------


class TestCapacity:
    def test_named_platform_then_star_then_nothing(self) -> None:
        with_star = Capacity({"x": 5, "email": 10, "*": 2})
        without_star = Capacity({"x": 5})
        assert (with_star.limit("x"), with_star.limit("email"), with_star.limit("chat")) == (
            5,
            10,
            2,
        )
        assert without_star.limit("x") == 5
        assert without_star.limit("email") == 0

    def test_a_named_zero_overrides_the_star(self) -> None:
        assert Capacity({"phone": 0, "*": 3}).limit("phone") == 0

    def test_negative_limits_are_refused(self) -> None:
        with pytest.raises(InvalidInput) as caught:
            Capacity({"x": -1})
        assert caught.value.field == "capacity"

    def test_the_capacity_keeps_its_own_copy(self) -> None:
        limits = {"x": 2}
        capacity = Capacity(limits)
        limits["x"] = 50
        assert capacity.limit("x") == 2

    def test_star_is_a_default_per_platform_not_a_shared_pool(self) -> None:
        a = agent(1, limits={"*": 1}, open_={"chat": 1})
        assert not a.can_take("chat")
        assert a.can_take("email")


class TestAgentLoad:
    def test_can_take_only_under_the_platform_limit(self) -> None:
        a = agent(1, limits={"x": 2, "*": 1}, open_={"x": 1, "email": 1})
        assert a.can_take("x")
        assert not a.can_take("email")
        assert a.can_take("chat")
        full = a.with_assigned("x", T0)
        assert not full.can_take("x")
        assert (full.open_on("x"), full.last_assigned_at) == (2, T0)
        assert full.with_closed("x").can_take("x")

    def test_a_platform_without_capacity_is_never_taken(self) -> None:
        a = agent(1, limits={"x": 3})
        assert not a.can_take("email")
        assert a.load("email") == float("inf")

    @pytest.mark.parametrize("presence", [Presence.AWAY, Presence.OFFLINE])
    def test_away_and_offline_agents_take_nothing(self, presence: Presence) -> None:
        a = agent(1, presence=presence)
        assert not any(a.can_take(p) for p in PLATFORMS)

    def test_load_is_the_share_of_that_platforms_capacity(self) -> None:
        a = agent(1, limits={"x": 4, "email": 10}, open_={"x": 1, "email": 5})
        assert a.load("x") == 0.25
        assert a.load("email") == 0.5
        assert a.load("chat") == float("inf")
        over = agent(2, limits={"x": 2}, open_={"x": 3})
        assert over.load("x") == 1.5
        assert not over.can_take("x")
        assert a.total_open == 6

    def test_negative_counts_and_closing_nothing_are_refused(self) -> None:
        with pytest.raises(InvalidInput):
            agent(1, open_={"x": -1})
        with pytest.raises(InvalidInput):
            agent(1).with_closed("x")


class TestPresenceInAssignment:
    @pytest.mark.parametrize("mode", [RR, LL])
    @pytest.mark.parametrize("presence", [Presence.AWAY, Presence.OFFLINE])
    def test_only_online_agents_are_chosen(self, mode: AssignmentMode, presence: Presence) -> None:
        # The absent agent has the lowest id and no load: any rule would pick them if it could.
        agents = [agent(1, presence=presence), agent(2, open_={"x": 4})]
        chosen = choose_agent(mode, agents, platform="x")
        assert id_of(chosen) == 2
        assert choose_agent(mode, agents[:1], platform="x") is None

    def test_manual_teams_are_never_pushed_work(self) -> None:
        assert choose_agent(MANUAL, [agent(1), agent(2)], platform="x") is None


# -- round robin --------------------------------------------------------------------------------


class TestRoundRobin:
    def test_next_after_the_last_by_id_whatever_the_input_order(self) -> None:
        agents = [agent(30), agent(10), agent(20)]
        picks = [
            choose_agent(RR, agents, platform="x", last_agent_id=last)
            for last in (None, 10, 20, 30)
        ]
        assert [p.agent_id if p else None for p in picks] == [10, 20, 30, 10]

    def test_skips_agents_who_cannot_take_it_and_wraps(self) -> None:
        agents = [
            agent(1),
            agent(2, presence=Presence.AWAY),
            agent(3, limits={"x": 1}, open_={"x": 1}),
            agent(4, limits={"email": 5}),
        ]
        chosen = choose_agent(RR, agents, platform="x", last_agent_id=1)
        assert id_of(chosen) == 1
        chosen = choose_agent(RR, agents, platform="email", last_agent_id=4)
        assert id_of(chosen) == 1

    def test_a_pointer_to_an_agent_who_left_still_moves_on(self) -> None:
        agents = [agent(1), agent(5), agent(9)]
        chosen = choose_agent(RR, agents, platform="x", last_agent_id=6)
        assert id_of(chosen) == 9
        chosen = choose_agent(RR, agents, platform="x", last_agent_id=99)
        assert id_of(chosen) == 1

    def test_nobody_with_room_means_none(self) -> None:
        agents = [agent(1, limits={"x": 1}, open_={"x": 1}), agent(2, presence=Presence.OFFLINE)]
        assert choose_agent(RR, agents, platform="x", last_agent_id=1) is None

    @given(
        st.lists(st.integers(1, 50), min_size=1, max_size=8, unique=True),
        st.data(),
        st.integers(0, 80),
        st.one_of(st.none(), st.integers(0, 51)),
    )
    def test_every_eligible_agent_gets_within_one_of_the_others(
        self, ids: list[int], data: st.DataObject, rounds: int, start: int | None
    ) -> None:
        presences = data.draw(
            st.lists(st.sampled_from(Presence), min_size=len(ids), max_size=len(ids))
        )
        agents = [
            agent(i, presence=p, limits={"x": 1000}) for i, p in zip(ids, presences, strict=True)
        ]
        eligible = {a.agent_id for a in agents if a.presence is Presence.ONLINE}
        counts: Counter[int] = Counter()
        last = start
        for n in range(rounds):
            chosen = choose_agent(RR, agents, platform="x", last_agent_id=last)
            if not eligible:
                assert chosen is None
                continue
            assert id_of(chosen) in eligible
            assert chosen is not None
            counts[chosen.agent_id] += 1
            agents = [a.with_assigned("x", T0 + n * MIN) if a is chosen else a for a in agents]
            last = chosen.agent_id
        if eligible and rounds:
            per_agent = [counts[i] for i in eligible]
            assert max(per_agent) - min(per_agent) <= 1
            assert sum(per_agent) == rounds


# -- least loaded -------------------------------------------------------------------------------


class TestLeastLoaded:
    def test_lowest_share_of_capacity_not_lowest_count(self) -> None:
        agents = [
            agent(1, limits={"x": 2}, open_={"x": 1}),  # 50 %
            agent(2, limits={"x": 10}, open_={"x": 3}),  # 30 %
        ]
        chosen = choose_agent(LL, agents, platform="x")
        assert id_of(chosen) == 2

    def test_only_the_platform_in_question_counts_for_load(self) -> None:
        agents = [
            agent(1, limits={"*": 10}, open_={"email": 9, "x": 1}),
            agent(2, limits={"*": 10}, open_={"x": 2}),
        ]
        chosen = choose_agent(LL, agents, platform="x")
        assert id_of(chosen) == 1

    def test_ties_by_total_open_before_time_since_last_assignment(self) -> None:
        agents = [
            agent(1, limits={"*": 10}, open_={"x": 2, "email": 3}, last=T0),
            agent(2, limits={"*": 10}, open_={"x": 2, "email": 1}, last=T0 + 9 * MIN),
        ]
        assert id_of(choose_agent(LL, agents, platform="x")) == 2

    def test_then_longest_since_last_assignment_never_assigned_first(self) -> None:
        agents = [
            agent(1, last=T0 + 5 * MIN),
            agent(2, last=T0),
            agent(3, last=T0 + 2 * MIN),
        ]
        chosen = choose_agent(LL, agents, platform="x")
        assert id_of(chosen) == 2
        chosen = choose_agent(LL, [*agents, agent(7)], platform="x")
        assert id_of(chosen) == 7

    def test_then_lowest_id(self) -> None:
        agents = [agent(8, last=T0), agent(3, last=T0), agent(5, last=T0)]
        chosen = choose_agent(LL, agents, platform="x")
        assert id_of(chosen) == 3

    def test_a_full_agent_is_skipped_even_if_least_loaded_elsewhere(self) -> None:
        agents = [agent(1, limits={"x": 1}, open_={"x": 1}), agent(2, open_={"x": 4})]
        chosen = choose_agent(LL, agents, platform="x")
        assert id_of(chosen) == 2

    @given(st.integers(1, 6), st.integers(0, 60))
    def test_equal_agents_share_new_work_evenly(self, n_agents: int, rounds: int) -> None:
        agents = {i: agent(i, limits={"x": 100}) for i in range(1, n_agents + 1)}
        for n in range(rounds):
            chosen = choose_agent(LL, list(agents.values()), platform="x")
            assert chosen is not None
            agents[chosen.agent_id] = chosen.with_assigned("x", T0 + n * MIN)
        held = [a.open_on("x") for a in agents.values()]
        assert max(held) - min(held) <= 1


# -- capacity over time (stateful) --------------------------------------------------------------


class DeskMachine(RuleBasedStateMachine):
    """Assignments, pulls, closes, presence changes and reassignments in any order: no agent is
    ever pushed past a limit, and "nobody" is answered only when nobody has room."""

    def __init__(self) -> None:
        super().__init__()
        self.capacities: dict[int, Capacity] = {}
        self.presence: dict[int, Presence] = {}
        self.held: dict[int, tuple[int, str]] = {}  # conversation -> (agent, platform)
        self.queued: dict[int, str] = {}  # conversation -> platform, unassigned
        self.last: int | None = None
        self.next_id = itertools.count(1)

    @initialize(
        limits=st.lists(
            st.dictionaries(
                st.sampled_from(["x", "email", "chat", "*"]), st.integers(0, 3), max_size=4
            ),
            min_size=1,
            max_size=5,
        )
    )
    def hire(self, limits: list[dict[str, int]]) -> None:
        for agent_id, per_platform in enumerate(limits, start=1):
            self.capacities[agent_id] = Capacity(per_platform)
            self.presence[agent_id] = Presence.ONLINE

    def loads(self) -> list[AgentLoad]:
        counts: dict[int, Counter[str]] = {a: Counter() for a in self.capacities}
        for holder, platform in self.held.values():
            counts[holder][platform] += 1
        return [
            AgentLoad(a, self.presence[a], self.capacities[a], dict(counts[a]))
            for a in self.capacities
        ]

    @rule(platform=st.sampled_from(PLATFORMS), mode=st.sampled_from([RR, LL]))
    def new_conversation(self, platform: str, mode: AssignmentMode) -> None:
        conversation = next(self.next_id)
        loads = self.loads()
        chosen = choose_agent(mode, loads, platform=platform, last_agent_id=self.last)
        if chosen is None:
            assert not any(a.can_take(platform) for a in loads)
            self.queued[conversation] = platform
            return
        assert chosen.can_take(platform)
        self.held[conversation] = (chosen.agent_id, platform)
        self.last = chosen.agent_id

    @precondition(lambda self: bool(self.queued))
    @rule(who=st.integers(1, 5))
    def pull(self, who: int) -> None:
        loads = {a.agent_id: a for a in self.loads()}
        me = loads.get(who)
        if me is None:
            return
        queue = [
            item(c, team_id=None, platform=p, waiting=T0 + c * MIN) for c, p in self.queued.items()
        ]
        got = take_next(queue, me, team_ids=frozenset({1}), now=T0)
        if got is None:
            assert not any(me.can_take(p) for p in self.queued.values())
            return
        assert me.can_take(got.platform)
        del self.queued[got.conversation_id]
        self.held[got.conversation_id] = (who, got.platform)

    @precondition(lambda self: bool(self.held))
    @rule(data=st.data())
    def close(self, data: st.DataObject) -> None:
        conversation = data.draw(st.sampled_from(sorted(self.held)))
        del self.held[conversation]

    @rule(who=st.integers(1, 5), presence=st.sampled_from(Presence))
    def set_presence(self, who: int, presence: Presence) -> None:
        if who in self.presence:
            self.presence[who] = presence

    @rule(who=st.integers(1, 5), mode=st.sampled_from([RR, LL, MANUAL]))
    def go_offline(self, who: int, mode: AssignmentMode) -> None:
        if who not in self.presence:
            return
        self.presence[who] = Presence.OFFLINE
        theirs = [
            item(c, assignee_id=who, platform=p, waiting=T0 + c * MIN)
            for c, (holder, p) in self.held.items()
            if holder == who
        ]
        moves = reassignments(self.loads(), theirs, mode=mode, now=T0, last_agent_id=self.last)
        assert sorted(m.conversation_id for m in moves) == sorted(i.conversation_id for i in theirs)
        for move in moves:
            platform = self.held[move.conversation_id][1]
            if move.agent_id is None:
                del self.held[move.conversation_id]
                self.queued[move.conversation_id] = platform
            else:
                assert move.agent_id != who
                assert self.presence[move.agent_id] is Presence.ONLINE
                self.held[move.conversation_id] = (move.agent_id, platform)

    @invariant()
    def nobody_over_a_limit(self) -> None:
        for load in self.loads():
            for platform, count in load.open_by_platform.items():
                assert count <= load.capacity.limit(platform), (load.agent_id, platform)


DeskMachine.TestCase.settings = settings(max_examples=60, stateful_step_count=40, deadline=None)
TestDeskCapacity = DeskMachine.TestCase


# -- take next ----------------------------------------------------------------------------------


def ids(items: list[QueueItem], now: datetime = T0) -> list[int]:
    return [i.conversation_id for i in sorted(items, key=lambda i: urgency_key(i, now))]


class TestUrgency:
    def test_breached_sla_comes_before_any_priority(self) -> None:
        breached = item(1, priority=0, due=T0 - MIN)
        important = item(2, priority=100, due=T0 + 10 * MIN)
        no_sla = item(3, priority=100)
        assert ids([no_sla, important, breached]) == [1, 2, 3]

    def test_a_deadline_at_now_is_breached(self) -> None:
        # Breached items go by priority: the one due exactly now outranks an older, lesser breach.
        at_now = item(1, priority=9, due=T0)
        running = item(2, priority=9, due=T0 + MIN)
        breached_earlier = item(3, priority=5, due=T0 - MIN)
        assert ids([running, breached_earlier, at_now]) == [1, 3, 2]

    def test_among_breached_priority_first_then_most_overdue(self) -> None:
        a = item(1, priority=1, due=T0 - 60 * MIN)
        b = item(2, priority=5, due=T0 - MIN)
        c = item(3, priority=5, due=T0 - 30 * MIN)
        assert ids([a, b, c]) == [3, 2, 1]

    def test_among_running_slas_soonest_due_first_then_priority(self) -> None:
        a = item(1, priority=9, due=T0 + 30 * MIN)
        b = item(2, priority=0, due=T0 + 5 * MIN)
        c = item(3, priority=4, due=T0 + 30 * MIN)
        assert ids([a, b, c]) == [2, 1, 3]

    def test_priority_before_age_and_age_before_id(self) -> None:
        old_low = item(1, priority=1, waiting=T0 - 60 * MIN)
        new_high = item(2, priority=7, waiting=T0 - MIN)
        old_high = item(3, priority=7, waiting=T0 - 30 * MIN)
        twin = item(4, priority=7, waiting=T0 - 30 * MIN)
        assert ids([twin, old_low, new_high, old_high]) == [3, 4, 2, 1]

    def test_not_waiting_sorts_after_waiting_of_the_same_priority(self) -> None:
        assert ids([item(1, waiting=None), item(2, waiting=T0)]) == [2, 1]

    def test_time_moving_on_turns_a_running_sla_into_a_breach(self) -> None:
        soon_low = item(1, priority=0, due=T0 + 5 * MIN)
        later_high = item(2, priority=9, due=T0 + 10 * MIN)
        assert ids([later_high, soon_low], T0) == [1, 2]
        assert ids([later_high, soon_low], T0 + 20 * MIN) == [2, 1]

    @given(
        st.lists(
            st.builds(
                item,
                st.integers(1, 10_000),
                priority=st.integers(0, 100),
                due=st.one_of(st.none(), st.integers(-600, 600).map(lambda m: T0 + m * MIN)),
                waiting=st.one_of(st.none(), st.integers(-600, 0).map(lambda m: T0 + m * MIN)),
            ),
            min_size=1,
            max_size=20,
            unique_by=lambda i: i.conversation_id,
        )
    )
    def test_every_breached_item_precedes_every_other(self, items: list[QueueItem]) -> None:
        ordered = sorted(items, key=lambda i: urgency_key(i, T0))
        breached = [i.sla_due_at is not None and i.sla_due_at <= T0 for i in ordered]
        assert breached == sorted(breached, reverse=True)
        with_sla = [
            i.sla_due_at is not None for i, late in zip(ordered, breached, strict=True) if not late
        ]
        assert with_sla == sorted(with_sla, reverse=True)


class TestTakeNext:
    def test_the_most_urgent_eligible_item(self) -> None:
        me = agent(5)
        items = [
            item(1, priority=3),
            item(2, priority=1, due=T0 - MIN),
            item(3, priority=9),
        ]
        got = take_next(items, me, team_ids=frozenset({1}), now=T0)
        assert id_of(got) == 2

    def test_only_unassigned_items_of_my_teams_or_of_no_team(self) -> None:
        me = agent(5)
        items = [
            item(1, team_id=2, priority=99),
            item(2, assignee_id=6, priority=98),
            item(3, team_id=None, priority=5),
            item(4, team_id=1, priority=4),
        ]
        got = take_next(items, me, team_ids=frozenset({1, 3}), now=T0)
        assert id_of(got) == 3
        got = take_next(items[:2] + items[3:], me, team_ids=frozenset({1}), now=T0)
        assert id_of(got) == 4
        assert take_next(items[:2], me, team_ids=frozenset({1}), now=T0) is None

    def test_only_platforms_with_room(self) -> None:
        me = agent(5, limits={"x": 1, "email": 3}, open_={"x": 1, "email": 1})
        items = [
            item(1, platform="x", priority=9),
            item(2, platform="chat", priority=8),
            item(3, platform="email", priority=1),
        ]
        got = take_next(items, me, team_ids=frozenset({1}), now=T0)
        assert id_of(got) == 3

    @pytest.mark.parametrize("presence", [Presence.AWAY, Presence.OFFLINE])
    def test_an_agent_who_is_not_online_gets_nothing(self, presence: Presence) -> None:
        me = agent(5, presence=presence)
        assert take_next([item(1)], me, team_ids=frozenset({1}), now=T0) is None

    def test_languages_when_given_and_unknown_languages_for_everyone(self) -> None:
        me = agent(5)
        items = [
            item(1, language="de", priority=9),
            item(2, language="es-MX", priority=5),
            item(3, language=None, priority=3),
            item(4, language="en", priority=1),
        ]
        mine = frozenset({"ES", "en"})
        got = take_next(items, me, team_ids=frozenset({1}), now=T0, languages=mine)
        assert id_of(got) == 2
        got = take_next(items[2:], me, team_ids=frozenset({1}), now=T0, languages=mine)
        assert id_of(got) == 3
        got = take_next(items, me, team_ids=frozenset({1}), now=T0)
        assert id_of(got) == 1

    @given(
        st.lists(
            st.builds(
                item,
                st.integers(1, 10_000),
                team_id=st.sampled_from([None, 1, 2]),
                assignee_id=st.sampled_from([None, None, 7]),
                platform=st.sampled_from(PLATFORMS),
                priority=st.integers(0, 3),
                due=st.one_of(st.none(), st.integers(-5, 5).map(lambda m: T0 + m * MIN)),
                waiting=st.one_of(st.none(), st.integers(-5, 0).map(lambda m: T0 + m * MIN)),
            ),
            max_size=15,
            unique_by=lambda i: i.conversation_id,
        ),
        st.randoms(use_true_random=False),
    )
    def test_the_pick_is_eligible_unbeaten_and_independent_of_order(
        self, items: list[QueueItem], rnd: random.Random
    ) -> None:
        me = agent(5, limits={"x": 2, "email": 1}, open_={"email": 1})
        got = take_next(items, me, team_ids=frozenset({1}), now=T0)
        eligible = [
            i
            for i in items
            if i.assignee_id is None and i.team_id in (None, 1) and i.platform == "x"
        ]
        if not eligible:
            assert got is None
            return
        assert got in eligible
        assert all(urgency_key(got, T0) <= urgency_key(i, T0) for i in eligible)
        shuffled = list(items)
        rnd.shuffle(shuffled)
        assert take_next(shuffled, me, team_ids=frozenset({1}), now=T0) == got


# -- reassignment -------------------------------------------------------------------------------


class TestReassignments:
    def test_the_most_urgent_find_room_first_and_the_rest_go_back_to_the_queue(self) -> None:
        leaving = agent(1, presence=Presence.OFFLINE, open_={"x": 3})
        mate = agent(2, limits={"x": 2}, open_={"x": 1})  # room for one
        theirs = [
            item(10, assignee_id=1, priority=1),
            item(11, assignee_id=1, priority=2, due=T0 - MIN),  # breached: most urgent
            item(12, assignee_id=1, priority=9),
        ]
        moves = reassignments([leaving, mate], theirs, mode=RR, now=T0)
        assert moves == [
            Reassignment(11, 2),
            Reassignment(12, None),
            Reassignment(10, None),
        ]

    @pytest.mark.parametrize("mode", [RR, LL])
    def test_capacity_is_counted_across_the_moves(self, mode: AssignmentMode) -> None:
        mates = [agent(2, limits={"x": 2}), agent(3, limits={"x": 1}), agent(4, limits={"x": 1})]
        theirs = [item(c, assignee_id=1, priority=10 - c) for c in range(1, 7)]
        moves = reassignments(mates, theirs, mode=mode, now=T0)
        assert [m.conversation_id for m in moves] == [1, 2, 3, 4, 5, 6]
        given_to = Counter(m.agent_id for m in moves)
        assert given_to == Counter({2: 2, 3: 1, 4: 1, None: 2})
        assert [m.agent_id for m in moves][4:] == [None, None]

    def test_round_robin_continues_from_the_teams_pointer(self) -> None:
        mates = [agent(2), agent(3), agent(4)]
        theirs = [item(c, assignee_id=1, waiting=T0 + c * MIN) for c in range(1, 5)]
        moves = reassignments(mates, theirs, mode=RR, now=T0, last_agent_id=3)
        assert [m.agent_id for m in moves] == [4, 2, 3, 4]

    def test_least_loaded_spreads_by_load(self) -> None:
        mates = [agent(2, limits={"x": 4}, open_={"x": 2}), agent(3, limits={"x": 4})]
        theirs = [item(c, assignee_id=1, waiting=T0 + c * MIN) for c in range(1, 4)]
        moves = reassignments(mates, theirs, mode=LL, now=T0)
        assert [m.agent_id for m in moves] == [3, 3, 2]

    def test_platforms_are_respected(self) -> None:
        mates = [agent(2, limits={"email": 5}), agent(3, limits={"x": 5})]
        theirs = [
            item(1, assignee_id=1, platform="email", priority=3),
            item(2, assignee_id=1, platform="x", priority=2),
            item(3, assignee_id=1, platform="phone", priority=1),
        ]
        moves = reassignments(mates, theirs, mode=RR, now=T0)
        assert moves == [Reassignment(1, 2), Reassignment(2, 3), Reassignment(3, None)]

    def test_the_current_assignee_is_never_chosen_even_if_still_online(self) -> None:
        # A supervisor may hand back the work of someone who is merely away or swamped.
        me = agent(1, limits={"x": 50})
        moves = reassignments([me], [item(1, assignee_id=1)], mode=LL, now=T0)
        assert moves == [Reassignment(1, None)]

    @pytest.mark.parametrize("presence", [Presence.AWAY, Presence.OFFLINE])
    def test_absent_teammates_get_nothing(self, presence: Presence) -> None:
        mates = [agent(2, presence=presence), agent(3, presence=presence)]
        moves = reassignments(mates, [item(1, assignee_id=1)], mode=RR, now=T0)
        assert moves == [Reassignment(1, None)]

    def test_a_manual_team_gets_everything_back_in_its_queue(self) -> None:
        moves = reassignments(
            [agent(2), agent(3)],
            [item(1, assignee_id=1), item(2, assignee_id=1, priority=5)],
            mode=MANUAL,
            now=T0,
        )
        assert moves == [Reassignment(2, None), Reassignment(1, None)]

    def test_nothing_to_move(self) -> None:
        assert reassignments([agent(2)], [], mode=RR, now=T0) == []

    @given(
        st.lists(
            st.dictionaries(st.sampled_from(["x", "email", "*"]), st.integers(0, 3), max_size=3),
            min_size=1,
            max_size=4,
        ),
        st.lists(
            st.tuples(st.sampled_from(PLATFORMS), st.integers(0, 5), st.integers(-30, 30)),
            max_size=12,
        ),
        st.sampled_from([RR, LL]),
    )
    def test_no_limit_is_exceeded_and_queue_leftovers_had_no_room(
        self,
        limits: list[dict[str, int]],
        specs: list[tuple[str, int, int]],
        mode: AssignmentMode,
    ) -> None:
        mates = [agent(i, limits=lim) for i, lim in enumerate(limits, start=2)]
        theirs = [
            item(c, assignee_id=1, platform=p, priority=prio, due=T0 + d * MIN)
            for c, (p, prio, d) in enumerate(specs, start=1)
        ]
        moves = reassignments(mates, theirs, mode=mode, now=T0)
        by_id = {i.conversation_id: i for i in theirs}
        assert sorted(m.conversation_id for m in moves) == sorted(by_id)
        assert [m.conversation_id for m in moves] == ids(theirs)
        loads = {a.agent_id: a for a in mates}
        for move in moves:
            platform = by_id[move.conversation_id].platform
            if move.agent_id is None:
                # Going back to the queue is only for when nobody had room at that moment.
                assert not any(a.can_take(platform) for a in loads.values())
            else:
                assert loads[move.agent_id].can_take(platform)
                loads[move.agent_id] = loads[move.agent_id].with_assigned(platform, T0)
        for load in loads.values():
            for platform, count in load.open_by_platform.items():
                assert count <= load.capacity.limit(platform)


# -- presence in a conversation -----------------------------------------------------------------


def beat(agent_id: int, kind: ActivityKind, seconds_ago: float, conversation: int = 1) -> Activity:
    return Activity(agent_id, conversation, kind, T0 - timedelta(seconds=seconds_ago))


VIEW, TYPE = ActivityKind.VIEWING, ActivityKind.TYPING


class TestOthersPresent:
    def test_beats_expire_after_the_ttl(self) -> None:
        assert beat(2, VIEW, 29.9).live(T0)
        assert not beat(2, VIEW, 30).live(T0)
        assert beat(2, VIEW, 50).live(T0, ttl=timedelta(minutes=1))
        assert beat(2, VIEW, -3).live(T0)  # a clock slightly ahead is still fresh
        assert others_present([beat(2, VIEW, 31), beat(3, TYPE, 45)], 1, me=1, now=T0) == []

    def test_me_and_other_conversations_are_left_out(self) -> None:
        seen = others_present(
            [beat(1, TYPE, 1), beat(2, VIEW, 1, conversation=2), beat(3, VIEW, 2)],
            1,
            me=1,
            now=T0,
        )
        assert [(a.agent_id, a.kind) for a in seen] == [(3, VIEW)]

    def test_typing_beats_viewing_for_the_same_agent(self) -> None:
        seen = others_present([beat(2, TYPE, 10), beat(2, VIEW, 1)], 1, me=1, now=T0)
        assert [(a.agent_id, a.kind, a.at) for a in seen] == [(2, TYPE, T0 - timedelta(seconds=10))]
        seen = others_present([beat(2, VIEW, 1), beat(2, TYPE, 10)], 1, me=1, now=T0)
        assert [(a.agent_id, a.kind) for a in seen] == [(2, TYPE)]

    def test_an_expired_typing_beat_does_not_beat_a_live_view(self) -> None:
        seen = others_present([beat(2, TYPE, 40), beat(2, VIEW, 1)], 1, me=1, now=T0)
        assert [(a.agent_id, a.kind) for a in seen] == [(2, VIEW)]

    def test_one_entry_per_agent_freshest_first(self) -> None:
        seen = others_present(
            [
                beat(2, VIEW, 20),
                beat(2, VIEW, 5),
                beat(3, VIEW, 2),
                beat(4, TYPE, 12),
                beat(5, VIEW, 2),
            ],
            1,
            me=1,
            now=T0,
        )
        assert [(a.agent_id, a.at) for a in seen] == [
            (3, T0 - timedelta(seconds=2)),
            (5, T0 - timedelta(seconds=2)),
            (2, T0 - timedelta(seconds=5)),
            (4, T0 - timedelta(seconds=12)),
        ]


# -- reply collisions ---------------------------------------------------------------------------


class TestReplyCollision:
    def test_nothing_new_is_no_collision(self) -> None:
        assert reply_collision(seen_up_to=T0, me=1, brand_replies=[]) is None
        replies = [(10, 2, T0 - MIN), (11, 3, T0)]  # before, and at, the moment I looked
        assert reply_collision(seen_up_to=T0, me=1, brand_replies=replies) is None

    def test_my_own_replies_never_collide(self) -> None:
        replies = [(10, 1, T0 + MIN), (11, 1, T0 + 2 * MIN)]
        assert reply_collision(seen_up_to=T0, me=1, brand_replies=replies) is None

    def test_a_colleagues_reply_after_i_looked(self) -> None:
        replies = [(10, 1, T0 + MIN), (11, 2, T0 + 2 * MIN), (9, 3, T0 - MIN)]
        assert reply_collision(seen_up_to=T0, me=1, brand_replies=replies) == Collision(
            by_agent_id=2, message_id=11, at=T0 + 2 * MIN
        )

    def test_a_native_reply_is_flagged_with_no_agent(self) -> None:
        replies = [(12, None, T0 + MIN)]
        assert reply_collision(seen_up_to=T0, me=1, brand_replies=replies) == Collision(
            by_agent_id=None, message_id=12, at=T0 + MIN
        )

    def test_the_newest_of_several_is_reported(self) -> None:
        replies = [(11, 2, T0 + 3 * MIN), (12, None, T0 + MIN), (13, 3, T0 + 3 * MIN)]
        found = reply_collision(seen_up_to=T0, me=1, brand_replies=iter(replies))
        assert found == Collision(by_agent_id=3, message_id=13, at=T0 + 3 * MIN)
