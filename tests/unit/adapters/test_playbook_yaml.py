"""The playbook YAML format: what parses into what, and how every kind of mistake is reported
(file, line, rule, a sentence that says what to do), all of them at once."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from socialdesk.adapters.playbooks import parse_playbook
from socialdesk.domain.playbook import (
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
    Flag,
    HasPii,
    Keywords,
    ListeningQuery,
    Not,
    Notify,
    OneOf,
    PlaybookInvalid,
    PlaybookProblem,
    PrivateChannel,
    Regex,
    Route,
    SetPriority,
    Suppress,
)

DOCS = Path(__file__).resolve().parents[3] / "docs" / "playbook.md"

EXAMPLE = """\
version: 1
targets:
  pr: {webhook: https://hooks.example/pr, email: [pr@acme.example]}
rules:
  - name: spam and bots
    when: {spam_p: {gte: 0.85}}
    then: [{suppress: spam}]
    stop: true
  - name: VIP complaint
    when:
      all:
        - customer_tag: vip
        - sentiment: negative
    then:
      - route: Escalations
      - priority: {add: 20}
      - notify: pr
"""


def problems(text: str) -> list[PlaybookProblem]:
    with pytest.raises(PlaybookInvalid) as caught:
        parse_playbook(text)
    return list(caught.value.errors)


def only_problem(text: str) -> PlaybookProblem:
    found = problems(text)
    assert len(found) == 1, [str(p) for p in found]
    return found[0]


def when_of(condition_yaml: str) -> Condition:
    text = f"rules:\n  - name: r\n    when: {condition_yaml}\n    then: [{{route: A}}]\n"
    return parse_playbook(text).rules[0].when


def then_of(actions_yaml: str, targets: str = "") -> tuple[object, ...]:
    text = f"{targets}rules:\n  - name: r\n    then: {actions_yaml}\n"
    return parse_playbook(text).rules[0].then


def test_the_example_parses_into_rules_with_their_lines() -> None:
    playbook = parse_playbook(EXAMPLE)
    spam, vip = playbook.rules
    assert spam.name == "spam and bots"
    assert spam.when == Compare("spam_p", (("gte", 0.85),))
    assert spam.then == (Suppress("spam"),)
    assert spam.stop is True
    assert spam.line == 5
    assert vip.when == AllOf(
        (CustomerTag(frozenset({"vip"})), OneOf("sentiment", frozenset({"negative"})))
    )
    assert vip.then == (Route("Escalations"), SetPriority(add=20), Notify("pr"))
    assert (vip.stop, vip.enabled, vip.line) == (False, True, 9)
    assert playbook.targets["pr"] == EscalationTarget(
        "pr", "https://hooks.example/pr", ("pr@acme.example",)
    )


@pytest.mark.parametrize(
    ("yaml_text", "expected"),
    [
        ("{platform: x}", OneOf("platform", frozenset({"x"}))),
        ("{platform: [x, Facebook]}", OneOf("platform", frozenset({"x", "facebook"}))),
        ("{channel: Acme Support}", ChannelIs(frozenset({"acme support"}))),
        ("{channel: [12, Acme]}", ChannelIs(frozenset({"acme"}), frozenset({12}))),
        ("{visibility: public}", OneOf("visibility", frozenset({"public"}))),
        ("{kind: [dm, chat]}", OneOf("kind", frozenset({"dm", "chat"}))),
        ("{sentiment: negative}", OneOf("sentiment", frozenset({"negative"}))),
        ("{needs_response: true}", Flag("needs_response", True)),
        ("{needs_response_p: {gte: 0.7}}", Compare("needs_response_p", (("gte", 0.7),))),
        ("{intent: billing}", OneOf("intent", frozenset({"billing"}))),
        ("{language: no}", OneOf("language", frozenset({"no"}))),  # Norwegian, not false
        ("{pii: true}", HasPii()),
        ("{pii: false}", Not(HasPii())),
        ("{pii: card}", HasPii(frozenset({"card"}))),
        ("{pii: [card, iban]}", HasPii(frozenset({"card", "iban"}))),
        ("{spam_p: {gt: 0.5, lte: 0.9}}", Compare("spam_p", (("gt", 0.5), ("lte", 0.9)))),
        ("{priority: 80}", Compare("priority", (("eq", 80),))),
        (
            "{priority: [10, 20]}",
            AnyOf((Compare("priority", (("eq", 10),)), Compare("priority", (("eq", 20),)))),
        ),
        ("{followers: {gte: 10000}}", Compare("followers", (("gte", 10000),))),
        ("{verified: true}", Flag("verified", True)),
        ("{customer_tag: [vip, press]}", CustomerTag(frozenset({"vip", "press"}))),
        ("{business_hours: false}", Flag("business_hours", False)),
        ("{listening_query: true}", ListeningQuery()),
        ("{listening_query: false}", Not(ListeningQuery())),
        ("{listening_query: competitors}", ListeningQuery(frozenset({"competitors"}))),
        ("{first_message: true}", Flag("first_message", True)),
        ("{follow_up: true}", Flag("first_message", False)),
        ("{question: true}", Flag("question", True)),
        ("{keywords: [refund, money back]}", Keywords(("refund", "money back"))),
        ("{keywords: refund}", Keywords(("refund",))),
        ("{regex: 'order\\s*#?\\d+'}", Regex(r"order\s*#?\d+")),
        ("{regex: 404}", Regex("404")),
        (
            "{all: [{platform: x}, {not: {verified: true}}]}",
            AllOf((OneOf("platform", frozenset({"x"})), Not(Flag("verified", True)))),
        ),
        (
            "{any: [{platform: x}, {sentiment: negative}]}",
            AnyOf(
                (OneOf("platform", frozenset({"x"})), OneOf("sentiment", frozenset({"negative"})))
            ),
        ),
        (
            "{platform: x, sentiment: negative}",  # several keys: all of them
            AllOf(
                (OneOf("platform", frozenset({"x"})), OneOf("sentiment", frozenset({"negative"})))
            ),
        ),
    ],
)
def test_every_condition_spelling(yaml_text: str, expected: Condition) -> None:
    assert when_of(yaml_text) == expected


def test_a_rule_without_when_matches_everything() -> None:
    playbook = parse_playbook("rules:\n  - name: default\n    then: [{route: General}]\n")
    assert playbook.rules[0].when == Always()


@pytest.mark.parametrize(
    ("yaml_text", "expected"),
    [
        ("[{route: Billing}]", (Route("Billing"),)),
        ("[{route: 911}]", (Route("911"),)),
        ("[{priority: 80}]", (SetPriority(80),)),
        ("[{priority: {add: 15}}]", (SetPriority(add=15),)),
        ("[{priority: {add: -10}}]", (SetPriority(add=-10),)),
        ("[{priority: {set: 50, add: 5}}]", (SetPriority(50, 5),)),
        ("[{tag: vip}]", (AddTags(("vip",)),)),
        ("[{tag: [vip, complaint]}]", (AddTags(("vip", "complaint")),)),
        ("[{sla: vip}]", (ApplySla("vip"),)),
        ("[{auto_ack: ack_x}]", (AutoAcknowledge("ack_x"),)),
        ("[{notify: pr}]", (Notify("pr"),)),
        ("[{escalate: [pr, legal]}]", (Notify("pr"), Notify("legal"))),
        ("[{suppress: spam}]", (Suppress("spam"),)),
        ("[{suppress: true}]", (Suppress("r"),)),  # the rule's name is the reason
        ("[{private: required}]", (PrivateChannel("required"),)),
        ("[{private: suggested}]", (PrivateChannel("suggested"),)),
        ("{route: A, tag: x}", (Route("A"), AddTags(("x",)))),  # one mapping, in order
    ],
)
def test_every_action_spelling(yaml_text: str, expected: tuple[object, ...]) -> None:
    targets = "targets:\n  pr: {email: pr@a.example}\n  legal: {webhook: 'http://h.example/l'}\n"
    assert then_of(yaml_text, targets) == expected


def test_rule_flags_and_empty_sections() -> None:
    text = """\
description: nothing yet
targets:
rules:
  - name: off
    description: kept for later
    when: {platform: x}
    then: [{route: A}]
    enabled: false
"""
    rule = parse_playbook(text).rules[0]
    assert (rule.enabled, rule.stop, rule.description) == (False, False, "kept for later")
    assert parse_playbook("rules:\n").rules == ()


def test_merge_keys_are_understood() -> None:
    text = """\
rules:
  - &base
    name: a
    when: {platform: x}
    then: [{route: A}]
  - <<: *base
    name: b
"""
    a, b = parse_playbook(text).rules
    assert (b.name, b.when, b.then) == ("b", a.when, a.then)


# -- errors ------------------------------------------------------------------------------------------

RULE = """\
version: 1
targets:
  pr: {{webhook: https://hooks.example/pr}}
rules:
  - name: first
    when: {{platform: x}}
    then: [{{route: A}}]
  - name: VIP complaint
    when:
{when}
    then:
{then}
"""


def in_rule(when: str = "      sentiment: negative", then: str = "      - route: B") -> str:
    return RULE.format(when=when, then=then)


@pytest.mark.parametrize(
    ("when", "then", "line", "message"),
    [
        (
            "      sentimnet: negative",
            None,
            10,
            "unknown condition 'sentimnet' (did you mean 'sentiment'?)",
        ),
        (
            "      sentiment: negtive",
            None,
            10,
            "unknown sentiment 'negtive' (did you mean 'negative'?); use negative, neutral, positive",
        ),
        (
            "      route: B",
            None,
            10,
            "unknown condition 'route' ('route' is an action: put it under `then`)",
        ),
        ("      sentiment: [1, {a: b}]", None, 10, "sentiment must be a text, got a mapping"),
        ("      verified: maybe", None, 10, "verified must be true or false, got the text 'maybe'"),
        ("      spam_p: high", None, 10, "spam_p must be a number, got the text 'high'"),
        (
            "      spam_p: {gtee: 0.5}",
            None,
            10,
            "unknown comparator 'gtee' (did you mean 'gte'?); use gt, gte, lt, lte or eq",
        ),
        (
            "      spam_p: {gte: 85}",
            None,
            10,
            "spam_p is a probability from 0 to 1; 85 is outside it (did you mean 0.85?)",
        ),
        (
            "      regex: '(unclosed'",
            None,
            10,
            "bad regex '(unclosed': missing ), unterminated subpattern at position 0",
        ),
        ("      keywords: []", None, 10, "keywords needs at least one value, got an empty list"),
        ("      all: []", None, 10, "`all` needs a list of conditions, got an empty list"),
        (
            "      not: [platform: x]",
            None,
            10,
            "a condition must be a mapping (key: value), got a list",
        ),
        ("      {}", None, 10, "empty condition: name at least one fact"),
        (
            "      sentiment: negative\n      sentiment: neutral",
            None,
            11,
            "duplicate key 'sentiment' (first at line 10)",
        ),
        (None, "      - rout: B", 12, "unknown action 'rout' (did you mean 'route'?)"),
        (None, "      []", 12, "`then` is empty: list at least one action"),
        (None, "      - priority: 120", 12, "priority 120 is outside 0..100"),
        (None, "      - priority: {add: 250}", 12, "priority add 250 is outside -100..100"),
        (
            None,
            "      - priority: 12.5",
            12,
            "priority must be a whole number, got the number 12.5",
        ),
        (None, "      - priority: {ad: 5}", 12, "unknown priority key 'ad' (did you mean 'add'?)"),
        (
            None,
            "      - private: requird",
            12,
            "unknown private mode 'requird' (did you mean 'required'?); use required or suggested",
        ),
        (
            None,
            "      - notify: legal",
            12,
            "notify names target 'legal', which is not in `targets`; declared: pr",
        ),
        (
            None,
            "      - escalate: [p r]",
            12,
            "escalate names target 'p r', which is not in `targets` (did you mean 'pr'?)",
        ),
        (None, "      - tag: bad tag", 12, "tag 'bad tag' is not valid"),
        (None, "      - suppress: false", 12, "suppress: false does nothing; remove it"),
        (None, "      - route: [A, B]", 12, "route (a team name) must be a text, got a list"),
        (None, "      route: B", 12, "`then` must be a list of actions"),
    ],
)
def test_each_mistake_names_file_line_and_rule(
    when: str | None, then: str | None, line: int, message: str
) -> None:
    text = in_rule(when=when or "      sentiment: negative", then=then or "      - route: B")
    if then == "      route: B":  # a bare mapping is allowed: test a bare scalar instead
        text = in_rule(then="      route")
    problem = only_problem(text)
    assert (problem.source, problem.line, problem.rule) == ("playbook.yaml", line, "VIP complaint")
    assert message in problem.message
    assert str(problem).startswith(f'playbook.yaml:{line}: rule "VIP complaint": ')


@pytest.mark.parametrize(
    ("text", "line", "rule", "message"),
    [
        ("version: 2\nrules: []\n", 1, None, "unsupported version 2: this desk reads version 1"),
        ("rulez: []\n", 1, None, "unknown top-level key 'rulez' (did you mean 'rules'?)"),
        ("version: 1\n", 1, None, "the playbook has no `rules:` list"),
        ("rules: {a: b}\n", 1, None, "`rules` must be a list of rules, got a mapping"),
        ("- a\n- b\n", 1, None, "a playbook must be a mapping (key: value), got a list"),
        ("", 1, None, "the playbook is empty"),
        (
            "rules:\n  - name: a\n    wehn: {platform: x}\n    then: [{route: A}]\n",
            3,
            "a",
            "unknown rule key 'wehn' (did you mean 'when'?)",
        ),
        (
            "rules:\n  - name: a\n    sentiment: negative\n    then: [{route: A}]\n",
            3,
            "a",
            "unknown rule key 'sentiment' ('sentiment' is a condition: put it under `when`)",
        ),
        ("rules:\n  - name: a\n    when: {platform: x}\n", 2, "a", "the rule has no `then`"),
        ("rules:\n  - then: [{route: A}]\n", 2, "#1", "the rule has no `name`"),
        (
            "rules:\n  - name: a\n    then: [{route: A}]\n    stop: sometimes\n",
            4,
            "a",
            "stop must be true or false",
        ),
        (
            "targets:\n  pr: {webhook: ftp://hooks.example}\nrules: []\n",
            2,
            None,
            "target 'pr': webhook 'ftp://hooks.example' is not an https:// (or http://) URL",
        ),
        (
            "targets:\n  pr: {webhook: hooks.example/pr}\nrules: []\n",
            2,
            None,
            "is not an https:// (or http://) URL",
        ),
        (
            "targets:\n  pr: {email: [pr-at-acme]}\nrules: []\n",
            2,
            None,
            "target 'pr': 'pr-at-acme' is not an e-mail address",
        ),
        ("targets:\n  pr: {}\nrules: []\n", 2, None, "target 'pr' needs a webhook or an email"),
        (
            "targets:\n  pr: {webhook: https://h.example, slack: x}\nrules: []\n",
            2,
            None,
            "unknown target key 'slack'; use webhook, email",
        ),
    ],
)
def test_file_and_rule_level_mistakes(text: str, line: int, rule: str | None, message: str) -> None:
    problem = only_problem(text)
    assert (problem.line, problem.rule) == (line, rule)
    assert message in problem.message


def test_duplicate_rule_names_point_at_both() -> None:
    text = (
        "rules:\n"
        "  - name: billing\n    then: [{route: A}]\n"
        "  - name: billing\n    then: [{route: B}]\n"
    )
    problem = only_problem(text)
    assert (problem.line, problem.rule) == (4, "billing")
    assert problem.message == "duplicate rule name (first at line 2); rule names must be unique"


def test_yaml_syntax_errors_give_their_line() -> None:
    text = "version: 1\nrules:\n  - name: a\n    when: {platform: x\n    then: [{route: A}]\n"
    problem = only_problem(text)
    assert problem.line == 5
    assert problem.rule is None
    assert problem.message.startswith("YAML syntax error: ")
    assert "started at line 4" in problem.message
    tabs = only_problem("rules:\n\t- name: a\n")
    assert tabs.line == 2
    assert "'\\t'" in tabs.message


def test_every_problem_in_a_file_is_reported_in_line_order() -> None:
    text = """\
version: 1
targets:
  pr: {webhook: ftp://x}
rules:
  - name: spam
    when: {spam_p: {gte: 85}}
    then: []
  - name: vip
    when: {customer_tag: vip, sentimnet: negative}
    then:
      - route: Escalations
      - notify: legal
      - private: maybe
  - name: spam
    when: {regex: "(["}
    then: [{route: A}]
"""
    with pytest.raises(PlaybookInvalid) as caught:
        parse_playbook(text, source="care.yaml")
    found = [(p.line, p.rule) for p in caught.value.errors]
    assert found == [
        (3, None),
        (6, "spam"),
        (7, "spam"),
        (9, "vip"),
        (12, "vip"),
        (13, "vip"),
        (14, "spam"),
        (15, "spam"),
    ]
    lines = str(caught.value).splitlines()
    assert len(lines) == 8
    assert all(re.match(r"care\.yaml:\d+: ", line) for line in lines)
    assert lines[3] == (
        "care.yaml:9: rule \"vip\": unknown condition 'sentimnet' (did you mean 'sentiment'?)"
    )


def test_a_bad_target_does_not_also_fail_every_notify_of_it() -> None:
    text = "targets:\n  pr: {webhook: ftp://x}\nrules:\n  - name: a\n    then: [{notify: pr}]\n"
    assert [p.line for p in problems(text)] == [2]


# -- the documentation's examples ----------------------------------------------------------------------


def yaml_blocks() -> list[str]:
    return re.findall(r"```yaml\n(.*?)```", DOCS.read_text(encoding="utf-8"), flags=re.DOTALL)


def test_every_complete_playbook_in_the_docs_parses() -> None:
    complete = [b for b in yaml_blocks() if b.startswith("version: 1")]
    assert len(complete) >= 2
    for block in complete:
        playbook = parse_playbook(block, source="docs/playbook.md")
        assert playbook.rules


def test_the_docs_show_the_errors_their_broken_example_gives() -> None:
    text = DOCS.read_text(encoding="utf-8")
    broken = next(b for b in yaml_blocks() if b.startswith("# broken.yaml"))
    shown = re.search(r"```yaml\n# broken\.yaml.*?```.*?```text\n(.*?)```", text, re.DOTALL)
    assert shown is not None
    with pytest.raises(PlaybookInvalid) as caught:
        parse_playbook(broken, source="broken.yaml")
    assert str(caught.value) == shown.group(1).strip()
