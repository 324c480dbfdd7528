"""The playbook parser under hostile and generated files: any text gives a Playbook or
PlaybookInvalid (never a YAML, date, regex or recursion error), and a generated playbook written
as YAML reads back as the rules it was written from."""

from __future__ import annotations

import dataclasses
from typing import Any

import yaml
from hypothesis import example, given, settings
from hypothesis import strategies as st

from socialdesk.adapters.playbooks import parse_playbook
from socialdesk.domain.playbook import (
    Action,
    AddTags,
    AllOf,
    AnyOf,
    ApplySla,
    Compare,
    Condition,
    CustomerTag,
    EscalationTarget,
    Flag,
    Keywords,
    Not,
    Notify,
    OneOf,
    Playbook,
    PlaybookInvalid,
    Route,
    Rule,
    SetPriority,
    Suppress,
)

RULE = "rules:\n  - name: r\n    when: {when}\n    then: [{{route: A}}]\n"
LAUGHS = "a0: &a0 {spam_p: 1}\n" + "".join(
    f"a{n}: &a{n} {{all: [{', '.join([f'*a{n - 1}'] * 9)}]}}\n" for n in range(1, 9)
)
YAML_PIECES = st.sampled_from(
    ["rules:", "\n  - ", "name: r", "when:", "then:", "{", "}", "[", "]", ": ", ", ", "&a ", "*a",
     "<<: ", "!!binary ", "!!python/object ", "2026-13-45", "1" * 5000, ".nan", "'", '"', "\t",
     "\x00", "not:", "all:", "regex: ", "(", "spam_p: ", "route: A", "- ", "\n"]
)  # fmt: skip


@given(text=st.one_of(st.text(max_size=80), st.lists(YAML_PIECES, max_size=25).map("".join)))
@settings(max_examples=200, deadline=None)
@example(text="rules: \x00")  # the reader refuses the character before parsing starts
@example(text=RULE.format(when="{regex: 2026-13-45}"))
@example(text="rules:\n  - name: r\n    then: [{priority: 2026-02-30}]\n")
@example(text="rules:\n  - name: r\n    then: [{priority: " + "1" * 5000 + "}]\n")
@example(text=RULE.format(when="&a {not: *a}"))  # a condition that contains itself
@example(text=RULE.format(when="&a {all: [*a]}"))
@example(text=RULE.format(when="{not: " * 400 + "{spam_p: 1}" + "}" * 400))
@example(text="rules: " + "[" * 5000 + "]" * 5000)
@example(text=RULE.format(when="{regex: '" + "(" * 2000 + ")" * 2000 + "'}"))
@example(text=RULE.format(when="{regex: 'a{99999999999}'}"))
@example(text=RULE.format(when="{spam_p: .nan}"))
@example(text=LAUGHS + RULE.format(when="*a8"))  # 9^8 conditions from nine lines
def test_any_text_gives_a_playbook_or_every_problem(text: str) -> None:
    try:
        parse_playbook(text)
    except PlaybookInvalid as exc:
        problems = exc.errors
    else:
        return
    assert problems
    assert all(problem.message for problem in problems)


# -- round trip ------------------------------------------------------------------------------------

NAME = st.text(
    st.characters(categories=("L", "N", "Zs"), exclude_characters="\x85"), min_size=1, max_size=12
).filter(lambda s: s.strip() == s and s != "")
WORD = st.text(st.characters(categories=("Ll", "Nd")), min_size=1, max_size=8)


def leaf() -> st.SearchStrategy[tuple[dict[str, Any], Condition]]:
    """A condition as YAML data and as the domain value it must read as."""
    sentiments = st.lists(st.sampled_from(["negative", "neutral", "positive"]), min_size=1,
                          max_size=3, unique=True)  # fmt: skip
    return st.one_of(
        sentiments.map(lambda v: ({"sentiment": v}, OneOf("sentiment", frozenset(v)))),
        st.tuples(st.sampled_from(["verified", "question"]), st.booleans()).map(
            lambda fv: ({fv[0]: fv[1]}, Flag(fv[0], fv[1]))
        ),
        st.tuples(st.sampled_from(["gt", "gte", "lt", "lte", "eq"]), st.floats(0, 1)).map(
            lambda on: ({"spam_p": {on[0]: on[1]}}, Compare("spam_p", (on,)))
        ),
        st.lists(WORD, min_size=1, max_size=3).map(
            lambda tags: ({"customer_tag": tags}, CustomerTag(frozenset(tags)))
        ),
        st.lists(NAME, min_size=1, max_size=3).map(
            lambda words: ({"keywords": words}, Keywords(tuple(words)))
        ),
    )


def tree(
    children: st.SearchStrategy[tuple[dict[str, Any], Condition]],
) -> st.SearchStrategy[tuple[dict[str, Any], Condition]]:
    many = st.lists(children, min_size=1, max_size=3)
    return st.one_of(
        children.map(lambda c: ({"not": c[0]}, Not(c[1]))),
        many.map(lambda cs: ({"all": [c[0] for c in cs]}, AllOf(tuple(c[1] for c in cs)))),
        many.map(lambda cs: ({"any": [c[0] for c in cs]}, AnyOf(tuple(c[1] for c in cs)))),
    )


CONDITIONS = st.recursive(leaf(), tree, max_leaves=6)
ACTIONS: st.SearchStrategy[tuple[dict[str, Any], Action]] = st.one_of(
    NAME.map(lambda team: ({"route": team}, Route(team))),
    st.integers(0, 100).map(lambda n: ({"priority": n}, SetPriority(n))),
    st.integers(-100, 100).map(lambda n: ({"priority": {"add": n}}, SetPriority(add=n))),
    st.lists(WORD, min_size=1, max_size=3).map(lambda t: ({"tags": t}, AddTags(tuple(t)))),
    NAME.map(lambda policy: ({"sla": policy}, ApplySla(policy))),
    NAME.map(lambda reason: ({"suppress": reason}, Suppress(reason))),
    st.just(({"notify": "pr"}, Notify("pr"))),
)


@st.composite
def playbooks(draw: st.DrawFn) -> tuple[str, Playbook]:
    names = draw(st.lists(NAME, min_size=1, max_size=4, unique=True))
    data: list[dict[str, Any]] = []
    rules: list[Rule] = []
    for name in names:
        when = draw(CONDITIONS)
        then = draw(st.lists(ACTIONS, min_size=1, max_size=3))
        stop, enabled = draw(st.booleans()), draw(st.booleans())
        data.append({"name": name, "when": when[0], "then": [a[0] for a in then], "stop": stop,
                     "enabled": enabled})  # fmt: skip
        rules.append(Rule(name, when[1], tuple(a[1] for a in then), stop=stop, enabled=enabled))
    targets = {"pr": {"webhook": "https://hooks.example/pr", "email": ["pr@acme.example"]}}
    text = yaml.safe_dump({"version": 1, "targets": targets, "rules": data}, allow_unicode=True,
                          default_flow_style=draw(st.booleans()), sort_keys=False)  # fmt: skip
    pr = EscalationTarget("pr", "https://hooks.example/pr", ("pr@acme.example",))
    return text, Playbook(tuple(rules), {"pr": pr})


@given(written=playbooks())
@settings(max_examples=150, deadline=None)
def test_a_written_playbook_reads_back_as_its_rules(written: tuple[str, Playbook]) -> None:
    text, expected = written
    parsed = parse_playbook(text)
    assert [dataclasses.replace(rule, line=None) for rule in parsed.rules] == list(expected.rules)
    assert parsed.targets == expected.targets
