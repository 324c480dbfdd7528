"""The playbook language: every condition, every action, how rules combine and resolve. Pure."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from socialdesk.domain.errors import InvalidInput
from socialdesk.domain.playbook import (
    CACHE_LIMIT,
    AddTags,
    AllOf,
    Always,
    AnyOf,
    ApplySla,
    AutoAcknowledge,
    ChannelIs,
    Compare,
    Condition,
    CustomerTag,
    EscalationTarget,
    Facts,
    Flag,
    HasPii,
    Keywords,
    ListeningQuery,
    Not,
    Notify,
    OneOf,
    Playbook,
    PlaybookInvalid,
    PlaybookProblem,
    PrivateChannel,
    Regex,
    Route,
    Rule,
    RuleRef,
    SetPriority,
    Suppress,
)

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def facts(**changes: Any) -> Facts:
    base = Facts(
        platform="x",
        channel_id=7,
        channel_name="Acme Support",
        visibility="public",
        kind="post",
        text="my bill is wrong",
        created_at=NOW,
    )
    return replace(base, **changes)


def rule(name: str, when: Condition, *then: Any, stop: bool = False, **kw: Any) -> Rule:
    return Rule(name, when, tuple(then), stop=stop, **kw)


# -- text facts ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fact", "value", "other"),
    [
        ("platform", "x", "facebook"),
        ("visibility", "public", "private"),
        ("kind", "post", "dm"),
        ("sentiment", "negative", "positive"),
        ("intent", "billing", "delivery"),
        ("language", "en", "de"),
    ],
)
def test_text_facts_match_their_value_and_not_another(fact: str, value: str, other: str) -> None:
    condition = OneOf(fact, frozenset({value}))
    assert condition.matches(facts(**{fact: value}))
    assert not condition.matches(facts(**{fact: other}))
    # a list means any of them
    assert OneOf(fact, frozenset({other, value})).matches(facts(**{fact: value}))


def test_text_facts_compare_case_insensitively_both_ways() -> None:
    assert OneOf("platform", frozenset({"X"})).matches(facts(platform="x"))
    assert OneOf("intent", frozenset({"billing"})).matches(facts(intent="Billing"))
    assert OneOf("intent", frozenset({"billing", "refund_return"})).matches(facts(intent="BILLING"))


def test_a_missing_text_fact_never_matches() -> None:
    assert not OneOf("sentiment", frozenset({"negative"})).matches(facts(sentiment=None))
    assert not OneOf("language", frozenset({"en", "de"})).matches(facts(language=None))


@pytest.mark.parametrize(
    ("fact", "value", "expected"),
    [
        ("sentiment", "negtive", "unknown sentiment 'negtive' (did you mean 'negative'?)"),
        ("visibility", "publik", "unknown visibility 'publik' (did you mean 'public'?)"),
        ("kind", "tweet", "unknown kind 'tweet'"),
        ("platform", "face book", "is not a platform name"),
    ],
)
def test_closed_vocabularies_refuse_unknown_values(fact: str, value: str, expected: str) -> None:
    with pytest.raises(InvalidInput, match=re.escape(expected)):
        OneOf(fact, frozenset({value}))


def test_one_of_needs_a_text_fact_and_a_value() -> None:
    with pytest.raises(InvalidInput, match="not a text fact"):
        OneOf("followers", frozenset({"1"}))
    with pytest.raises(InvalidInput, match="at least one value"):
        OneOf("intent", frozenset())


def test_channel_by_name_case_insensitive_or_by_id() -> None:
    assert ChannelIs(names=frozenset({"acme support"})).matches(facts())
    assert ChannelIs(ids=frozenset({7})).matches(facts())
    assert ChannelIs(frozenset({"Other"}), frozenset({7})).matches(facts())
    assert ChannelIs(frozenset({"Acme Support"}), frozenset({8})).matches(facts())
    assert not ChannelIs(frozenset({"Other"}), frozenset({8})).matches(facts())
    assert not ChannelIs(ids=frozenset({8})).matches(facts())
    with pytest.raises(InvalidInput):
        ChannelIs()


# -- yes/no facts ------------------------------------------------------------------------------------


@pytest.mark.parametrize("fact", ["verified", "business_hours", "question", "first_message"])
def test_flags_match_their_value(fact: str) -> None:
    assert Flag(fact, True).matches(facts(**{fact: True}))
    assert not Flag(fact, True).matches(facts(**{fact: False}))
    assert Flag(fact, False).matches(facts(**{fact: False}))
    assert not Flag(fact, False).matches(facts(**{fact: True}))


def test_needs_response_unknown_matches_neither_true_nor_false() -> None:
    assert Flag("needs_response", True).matches(facts(needs_response=True))
    assert Flag("needs_response", False).matches(facts(needs_response=False))
    assert not Flag("needs_response", True).matches(facts(needs_response=None))
    assert not Flag("needs_response", False).matches(facts(needs_response=None))


def test_flag_refuses_other_facts_and_non_booleans() -> None:
    with pytest.raises(InvalidInput, match="did you mean 'verified'"):
        Flag("verifed", True)
    with pytest.raises(InvalidInput, match="true or false"):
        Flag("verified", "yes")  # type: ignore[arg-type]


# -- numeric facts ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("op", "threshold", "true_at", "false_at"),
    [
        ("gt", 0.5, [0.51, 1.0], [0.5, 0.0]),
        ("gte", 0.5, [0.5, 0.9], [0.49]),
        ("lt", 0.5, [0.49, 0.0], [0.5, 0.7]),
        ("lte", 0.5, [0.5, 0.1], [0.51]),
        ("eq", 0.5, [0.5], [0.4, 0.6]),
    ],
)
def test_comparators_at_their_boundaries(
    op: str, threshold: float, true_at: list[float], false_at: list[float]
) -> None:
    condition = Compare("spam_p", ((op, threshold),))
    for value in true_at:
        assert condition.matches(facts(spam_p=value)), (op, value)
    for value in false_at:
        assert not condition.matches(facts(spam_p=value)), (op, value)
    assert not condition.matches(facts(spam_p=None))


@pytest.mark.parametrize(
    ("fact", "inside", "outside"),
    [
        ("needs_response_p", 0.8, 0.2),
        ("spam_p", 0.95, 0.1),
        ("priority", 70, 30),
        ("followers", 120_000, 900),
    ],
)
def test_every_numeric_fact_compares_and_a_missing_one_never_does(
    fact: str, inside: float, outside: float
) -> None:
    low = 0.5 if fact.endswith("_p") else (50 if fact == "priority" else 10_000)
    above = Compare(fact, (("gte", low),))
    assert above.matches(facts(**{fact: inside}))
    assert not above.matches(facts(**{fact: outside}))
    assert not above.matches(facts(**{fact: None}))
    assert not Compare(fact, (("lt", low),)).matches(facts(**{fact: None}))


def test_several_comparators_must_all_hold() -> None:
    band = Compare("priority", (("gte", 40), ("lt", 60)))
    assert [band.matches(facts(priority=p)) for p in (39, 40, 59, 60)] == [
        False,
        True,
        True,
        False,
    ]


def test_comparisons_refuse_nonsense() -> None:
    with pytest.raises(InvalidInput, match=r"unknown comparator 'gtee' \(did you mean 'gte'\?\)"):
        Compare("spam_p", (("gtee", 0.5),))
    with pytest.raises(InvalidInput, match=r"85 is outside it \(did you mean 0.85\?\)"):
        Compare("spam_p", (("gte", 85),))
    with pytest.raises(InvalidInput, match="0 to 100"):
        Compare("priority", (("gt", 101),))
    with pytest.raises(InvalidInput, match="0 or more"):
        Compare("followers", (("gt", -1),))
    with pytest.raises(InvalidInput, match="expected a number"):
        Compare("followers", (("gt", True),))
    with pytest.raises(InvalidInput, match="needs a comparator"):
        Compare("followers", ())
    with pytest.raises(InvalidInput, match="not a numeric fact"):
        Compare("sentiment", (("eq", 1),))


# -- sets, listening, text -------------------------------------------------------------------------


def test_pii_any_or_some_kinds() -> None:
    card = facts(pii=frozenset({"card"}))
    assert HasPii().matches(card)
    assert not HasPii().matches(facts())
    assert HasPii(frozenset({"card", "iban"})).matches(card)
    assert HasPii(frozenset({"CARD"})).matches(card)
    assert not HasPii(frozenset({"email"})).matches(card)
    assert Not(HasPii()).matches(facts())


def test_customer_tag_any_of() -> None:
    vip = facts(customer_tags=frozenset({"vip", "press"}))
    assert CustomerTag(frozenset({"VIP"})).matches(vip)
    assert CustomerTag(frozenset({"gold", "press"})).matches(vip)
    assert not CustomerTag(frozenset({"gold"})).matches(vip)
    assert not CustomerTag(frozenset({"vip"})).matches(facts())


def test_listening_query_any_or_by_name() -> None:
    found = facts(listening_query="Competitors")
    assert ListeningQuery().matches(found)
    assert not ListeningQuery().matches(facts())
    assert ListeningQuery(frozenset({"competitors"})).matches(found)
    assert not ListeningQuery(frozenset({"brand"})).matches(found)
    assert not ListeningQuery(frozenset({"brand"})).matches(facts())


def test_listening_query_sees_the_desks_own_queries() -> None:
    matched = facts(listening_queries=frozenset({"outage watch", "refunds"}))
    assert ListeningQuery().matches(matched)
    assert ListeningQuery(frozenset({"Outage Watch"})).matches(matched)
    assert ListeningQuery(frozenset({"competitors", "refunds"})).matches(matched)
    assert not ListeningQuery(frozenset({"competitors"})).matches(matched)


@pytest.mark.parametrize(
    ("words", "text", "expected"),
    [
        (("refund",), "I want a REFUND now", True),
        (("refund",), "I was refunded already", False),  # whole words only
        (("refund",), "prerefund", False),
        (("refund",), "refund.", True),
        (("money back",), "give me my money\n  back", True),  # any run of white space
        (("money back",), "moneyback", False),
        (("@acme",), "hey @acme why", True),  # terms may start with punctuation
        (("@acme",), "hey @acmeco why", False),
        (("c++",), "your c++ sdk", True),
        (("5g",), "no 5G here", True),
        (("5g",), "no 5Ghz here", False),
        (("bill", "invoice"), "where is my invoice?", True),
        (("bill", "billing"), "billing question", True),
        (("café",), "CAFÉ closed", True),
        (("down",), "countdown", False),  # the substring is there, the word is not
    ],
)
def test_keywords_are_whole_words_case_insensitive(
    words: tuple[str, ...], text: str, expected: bool
) -> None:
    assert Keywords(words).matches(facts(text=text)) is expected


def test_keywords_refuse_empty_terms() -> None:
    with pytest.raises(InvalidInput):
        Keywords(())
    with pytest.raises(InvalidInput):
        Keywords(("ok", "  "))


def test_keyword_predicates_see_each_new_text() -> None:
    """The lower-cased text is remembered between rules; it must never leak to the next message."""
    pred = Keywords(("refund",)).compile()
    other = Keywords(("bill",)).compile()
    texts = ["refund please", "my bill", "refund please", "nothing", "Bill me"]
    assert [(pred(facts(text=t)), other(facts(text=t))) for t in texts] == [
        (True, False),
        (False, True),
        (True, False),
        (False, False),
        (False, True),
    ]


word = st.text(alphabet="abcdeéß1_", min_size=1, max_size=5)


@given(
    terms=st.lists(word, min_size=1, max_size=4),
    text=st.lists(
        st.one_of(word, st.sampled_from([" ", ".", "-", "\n", "A", "É"])), max_size=20
    ).map("".join),
)
@settings(max_examples=300)
def test_keywords_agree_with_matching_on_words(terms: list[str], text: str) -> None:
    """Reference: split the lower-cased text into words; a single-word term matches when it is
    one of them."""
    expected = any(t.lower() in re.findall(r"\w+", text.lower()) for t in terms)
    assert Keywords(tuple(terms)).matches(facts(text=text)) is expected


def test_regex_searches_case_insensitively_and_reports_bad_patterns() -> None:
    assert Regex(r"order\s*#?\d{6}").matches(facts(text="ORDER #123456 is late"))
    assert not Regex(r"^order").matches(facts(text="my order"))
    with pytest.raises(
        InvalidInput,
        match=r"bad regex '\(unclosed': missing \), unterminated subpattern at position 0",
    ):
        Regex("(unclosed")
    with pytest.raises(InvalidInput):
        Regex("")


# -- combinators ----------------------------------------------------------------------------------


def test_all_any_not_nest() -> None:
    vip_complaint = AllOf(
        (
            CustomerTag(frozenset({"vip"})),
            OneOf("sentiment", frozenset({"negative"})),
            Not(AnyOf((OneOf("platform", frozenset({"email"})), Flag("business_hours", False)))),
        )
    )
    base = facts(customer_tags=frozenset({"vip"}), sentiment="negative")
    assert vip_complaint.matches(base)
    assert not vip_complaint.matches(replace(base, platform="email"))
    assert not vip_complaint.matches(replace(base, business_hours=False))
    assert not vip_complaint.matches(replace(base, sentiment="neutral"))
    assert not vip_complaint.matches(replace(base, customer_tags=frozenset()))
    assert Always().matches(base)


def test_empty_all_or_any_is_refused() -> None:
    with pytest.raises(InvalidInput, match="`all` needs"):
        AllOf(())
    with pytest.raises(InvalidInput, match="`any` needs"):
        AnyOf(())


LEAVES: list[Condition] = [
    OneOf("sentiment", frozenset({"negative"})),
    OneOf("platform", frozenset({"x", "email"})),
    Flag("needs_response", True),
    Flag("business_hours", False),
    Compare("spam_p", (("gte", 0.5),)),
    Compare("followers", (("gt", 1000), ("lte", 100_000))),
    HasPii(),
    HasPii(frozenset({"card"})),
    CustomerTag(frozenset({"vip"})),
    ListeningQuery(),
    Keywords(("refund", "money back")),
    Regex(r"\bbill"),
    ChannelIs(ids=frozenset({7})),
    Always(),
]

conditions = st.recursive(
    st.sampled_from(LEAVES),
    lambda children: st.one_of(
        st.lists(children, min_size=1, max_size=4).map(lambda cs: AllOf(tuple(cs))),
        st.lists(children, min_size=1, max_size=4).map(lambda cs: AnyOf(tuple(cs))),
        children.map(Not),
    ),
    max_leaves=12,
)

random_facts = st.builds(
    facts,
    platform=st.sampled_from(["x", "email", "facebook"]),
    channel_id=st.sampled_from([7, 8]),
    text=st.sampled_from(["refund please", "my bill", "money  back?", "hello", "billing"]),
    sentiment=st.sampled_from([None, "negative", "neutral", "positive"]),
    needs_response=st.sampled_from([None, True, False]),
    spam_p=st.one_of(st.none(), st.floats(0, 1)),
    followers=st.one_of(st.none(), st.integers(0, 1_000_000)),
    pii=st.sampled_from([frozenset(), frozenset({"card"}), frozenset({"email"})]),
    customer_tags=st.sampled_from([frozenset(), frozenset({"vip"})]),
    business_hours=st.booleans(),
    listening_query=st.sampled_from([None, "competitors"]),
)


@given(condition=conditions, f=random_facts)
@settings(max_examples=400)
def test_not_is_the_complement(condition: Condition, f: Facts) -> None:
    assert Not(condition).matches(f) is (not condition.matches(f))


@given(children=st.lists(conditions, min_size=1, max_size=5), f=random_facts)
@settings(max_examples=300)
def test_all_and_any_mean_every_and_some_whatever_order_they_run_in(
    children: list[Condition], f: Facts
) -> None:
    results = [c.matches(f) for c in children]
    assert AllOf(tuple(children)).matches(f) is all(results)
    assert AnyOf(tuple(children)).matches(f) is any(results)
    # De Morgan, as a cross-check of the compiled forms
    assert Not(AllOf(tuple(children))).matches(f) is AnyOf(tuple(Not(c) for c in children)).matches(
        f
    )


# -- actions and resolution ------------------------------------------------------------------------


def test_every_action_lands_in_the_evaluation() -> None:
    playbook = Playbook(
        (
            rule(
                "everything",
                Always(),
                Route("Billing"),
                SetPriority(60),
                AddTags(("VIP", "complaint")),
                ApplySla("vip"),
                AutoAcknowledge("ack_after_hours"),
                Notify("pr"),
                Suppress("spam"),
                PrivateChannel("required"),
            ),
        ),
        {"pr": EscalationTarget("pr", webhook="https://hooks.example/pr")},
    )
    result = playbook.evaluate(facts())
    assert result.matched == ("everything",)
    assert len(result.actions) == 8
    assert (result.team, result.priority, result.tags) == ("Billing", 60, ("vip", "complaint"))
    assert (result.sla_policy, result.auto_ack, result.notify) == (
        "vip",
        "ack_after_hours",
        ("pr",),
    )
    assert (result.suppress, result.private) == ("spam", "required")
    assert playbook.targets["pr"].webhook == "https://hooks.example/pr"
    assert result.as_dict()["actions"] == [
        {"action": "route", "team": "Billing"},
        {"action": "priority", "value": 60},
        {"action": "tag", "tags": ["vip", "complaint"]},
        {"action": "sla", "policy": "vip"},
        {"action": "auto_ack", "template": "ack_after_hours"},
        {"action": "notify", "target": "pr"},
        {"action": "suppress", "reason": "spam"},
        {"action": "private", "mode": "required"},
    ]
    assert result.as_dict()["team"] == "Billing"
    assert result.as_dict()["tags"] == ["vip", "complaint"]


def test_nothing_matched_changes_nothing() -> None:
    playbook = Playbook((rule("never", Flag("verified", True), Route("A")),))
    result = playbook.evaluate(facts(priority=42))
    assert result.matched == ()
    assert result.actions == ()
    assert (result.team, result.priority, result.tags, result.notify) == (None, 42, (), ())
    assert (result.sla_policy, result.auto_ack, result.suppress, result.private) == (None,) * 4


def test_rules_run_in_order_and_the_last_single_value_wins() -> None:
    playbook = Playbook(
        (
            rule(
                "general",
                Always(),
                Route("General"),
                ApplySla("standard"),
                PrivateChannel("suggested"),
            ),
            rule("billing", Keywords(("bill",)), Route("Billing"), AutoAcknowledge("a1")),
            rule("never", Flag("verified", True), Route("Press")),
            rule("ack", Always(), AutoAcknowledge("a2"), Suppress("x"), Suppress("y")),
            rule("private", HasPii(), PrivateChannel("required")),
        )
    )
    result = playbook.evaluate(facts(text="my bill"))
    assert result.matched == ("general", "billing", "ack")
    assert (result.team, result.sla_policy, result.auto_ack) == ("Billing", "standard", "a2")
    assert (result.suppress, result.private) == ("y", "suggested")
    assert playbook.evaluate(facts(text="hi", pii=frozenset({"card"}))).private == "required"


def test_stop_ends_evaluation_only_when_its_rule_matches() -> None:
    playbook = Playbook(
        (
            rule("spam", Compare("spam_p", (("gte", 0.9),)), Suppress("spam"), stop=True),
            rule("not spam but stops", Flag("verified", True), Route("Press"), stop=True),
            rule("everything", Always(), Route("General"), AddTags(("seen",))),
        )
    )
    spam = playbook.evaluate(facts(spam_p=0.95))
    assert spam.matched == ("spam",)
    assert spam.tags == ()
    assert spam.team is None
    ham = playbook.evaluate(facts(spam_p=0.1))
    assert ham.matched == ("everything",)
    assert ham.team == "General"
    press = playbook.evaluate(facts(verified=True))
    assert press.matched == ("not spam but stops",)
    assert press.team == "Press"


def test_disabled_rules_do_not_run() -> None:
    playbook = Playbook(
        (rule("off", Always(), Route("Off"), enabled=False), rule("on", Always(), AddTags(("x",))))
    )
    assert playbook.evaluate(facts()).matched == ("on",)
    assert playbook.evaluate(facts()).team is None


@pytest.mark.parametrize(
    ("incoming", "actions", "expected"),
    [
        (None, [], None),  # untouched: the facts' own
        (30, [], 30),
        (130, [], 130),  # untouched values are not the playbook's to clamp
        (30, [SetPriority(add=15)], 45),  # adds build on the facts' priority
        (None, [SetPriority(add=15)], 15),  # ... or on 0
        (30, [SetPriority(add=15), SetPriority(add=10)], 55),  # and accumulate
        (30, [SetPriority(80)], 80),
        (30, [SetPriority(add=15), SetPriority(80), SetPriority(add=5)], 85),  # on the last set
        (30, [SetPriority(80, add=5)], 85),
        (90, [SetPriority(add=20)], 100),  # clamped at 100
        (10, [SetPriority(add=-30)], 0),  # and at 0
        (95, [SetPriority(add=20), SetPriority(add=-20)], 95),  # clamped once, at the end
    ],
)
def test_priority_resolution(
    incoming: int | None, actions: list[SetPriority], expected: int | None
) -> None:
    rules = tuple(rule(f"r{i}", Always(), a) for i, a in enumerate(actions))
    assert Playbook(rules).evaluate(facts(priority=incoming)).priority == expected


def test_tags_union_and_notify_distinct_in_first_seen_order() -> None:
    playbook = Playbook(
        (
            rule("a", Always(), AddTags(("vip", "complaint")), Notify("pr")),
            rule("b", Always(), AddTags(("complaint", "press")), Notify("legal"), Notify("pr")),
        ),
        {"pr": EscalationTarget("pr", email=("pr@x.example",)), "legal": EscalationTarget("legal")},
    )
    result = playbook.evaluate(facts())
    assert result.tags == ("vip", "complaint", "press")
    assert result.notify == ("pr", "legal")


@given(
    incoming=st.one_of(st.none(), st.integers(0, 100)),
    steps=st.lists(
        st.tuples(
            st.one_of(st.none(), st.integers(0, 100)), st.one_of(st.none(), st.integers(-100, 100))
        ).filter(lambda s: s != (None, None)),
        min_size=1,
        max_size=6,
    ),
)
def test_priority_is_always_within_0_and_100_after_a_priority_action(
    incoming: int | None, steps: list[tuple[int | None, int | None]]
) -> None:
    rules = tuple(rule(f"r{i}", Always(), SetPriority(v, a)) for i, (v, a) in enumerate(steps))
    result = Playbook(rules).evaluate(facts(priority=incoming))
    # reference: apply in order, clamp at the end
    value = incoming
    for v, a in steps:
        value = v if v is not None else value
        value = (value or 0) + a if a is not None else value
    assert result.priority == min(100, max(0, value or 0))


def test_shared_evaluations_still_follow_each_message() -> None:
    """Evaluations are shared per (rules matched, incoming priority): different priorities and
    different matches must never see each other's, even past the cache limit."""
    playbook = Playbook((rule("bump", Keywords(("bill",)), SetPriority(add=10)),))
    for p in range(CACHE_LIMIT + 50):
        assert playbook.evaluate(facts(priority=p, text="bill")).priority == min(100, p + 10)
        assert playbook.evaluate(facts(priority=p, text="hello")).priority == p


def test_actions_check_their_values() -> None:
    with pytest.raises(InvalidInput, match="team name"):
        Route(" ")
    with pytest.raises(InvalidInput, match="needs a value"):
        SetPriority()
    with pytest.raises(InvalidInput, match=r"priority 101 is outside 0..100"):
        SetPriority(101)
    with pytest.raises(InvalidInput, match=r"priority add -101 is outside -100..100"):
        SetPriority(add=-101)
    with pytest.raises(InvalidInput, match="whole number"):
        SetPriority(1.5)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="not valid"):
        AddTags(("no spaces allowed",))
    with pytest.raises(InvalidInput, match="list of tags"):
        AddTags("vip")  # type: ignore[arg-type]
    with pytest.raises(
        InvalidInput, match=r"unknown private mode 'requird' \(did you mean 'required'\?\)"
    ):
        PrivateChannel("requird")
    for make in (ApplySla, AutoAcknowledge, Notify, Suppress):
        with pytest.raises(InvalidInput):
            make("")
    with pytest.raises(InvalidInput, match="no actions"):
        Rule("empty", Always(), ())
    assert AddTags(("VIP", "vip", "Press")).tags == ("vip", "press")
    assert SetPriority(add=-5).as_dict() == {"action": "priority", "add": -5}
    assert SetPriority(10, 5).as_dict() == {"action": "priority", "value": 10, "add": 5}


# -- references and problems -------------------------------------------------------------------------


def test_references_name_each_use_with_rule_and_line() -> None:
    playbook = Playbook(
        (
            rule("vip", Always(), Route("Escalations"), ApplySla("vip"), Notify("pr"), line=12),
            rule("billing", Always(), Route("Billing"), AutoAcknowledge("ack"), line=20),
            rule("off", Always(), Route("Escalations"), enabled=False, line=30),
        ),
        {"pr": EscalationTarget("pr", webhook="https://h.example")},
    )
    refs = playbook.references()
    assert refs.teams == {
        "Escalations": (RuleRef("vip", 12), RuleRef("off", 30)),
        "Billing": (RuleRef("billing", 20),),
    }
    assert refs.sla_policies == {"vip": (RuleRef("vip", 12),)}
    assert refs.templates == {"ack": (RuleRef("billing", 20),)}
    assert refs.targets == {"pr": (RuleRef("vip", 12),)}
    assert refs.missing(teams=["Billing", "Escalation"], templates=["ack"]) == [
        "rule 'vip' (line 12): team 'Escalations' does not exist (did you mean 'Escalation'?)",
        "rule 'off' (line 30): team 'Escalations' does not exist (did you mean 'Escalation'?)",
    ]
    assert refs.missing(sla_policies=[]) == [
        "rule 'vip' (line 12): SLA policy 'vip' does not exist"
    ]
    assert refs.missing() == []


def test_problems_read_like_compiler_errors() -> None:
    one = PlaybookProblem("pb.yaml", 14, "VIP complaint", "unknown condition 'sentimnet'")
    assert str(one) == "pb.yaml:14: rule \"VIP complaint\": unknown condition 'sentimnet'"
    assert str(PlaybookProblem("pb.yaml", 3, None, "bad")) == "pb.yaml:3: bad"
    assert str(PlaybookProblem("pb.yaml", None, None, "bad")) == "pb.yaml: bad"
    error = PlaybookInvalid([one, PlaybookProblem("pb.yaml", 20, None, "bad")])
    assert isinstance(error, InvalidInput)
    assert error.code == "playbook_invalid"
    assert error.errors[0] is one
    assert error.message.splitlines() == [str(one), "pb.yaml:20: bad"]
