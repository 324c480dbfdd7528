"""Survey rules in the playbook: `trigger: close` rules with `survey`, what they see, how they
combine, and how mistakes are reported (with their line, like every other playbook problem)."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from socialdesk.adapters.playbooks import parse_playbook
from socialdesk.domain.errors import InvalidInput
from socialdesk.domain.playbook import (
    AskSurvey,
    ConversationTag,
    Facts,
    PlaybookInvalid,
    Route,
    Rule,
)

DOCS = Path(__file__).resolve().parents[3] / "docs" / "playbook.md"
PLAYBOOK = """\
version: 1
rules:
  - name: billing
    when: {keywords: [bill]}
    then: [{route: Billing}]
  - name: CSAT on social
    trigger: close
    when: {platform: [x, facebook], not: {conversation_tag: legal}}
    then: [{survey: csat}]
  - name: NPS for resolved billing cases
    trigger: close
    when: {team: Billing, close_reason: [resolved, fixed]}
    then:
      - survey: {kind: nps, template: nps_question, quiet_days: 30, expires_hours: 48}
  - name: never after spam
    trigger: close
    when: {conversation_tag: spam}
    then: [{survey: csat}]
    enabled: false
"""

FACTS = Facts(
    platform="x",
    channel_id=1,
    channel_name="@acme",
    visibility="public",
    kind="post",
    text="my bill is wrong",
    created_at=datetime(2026, 3, 2, 9, tzinfo=UTC),
)


def errors(text: str) -> list[str]:
    with pytest.raises(PlaybookInvalid) as caught:
        parse_playbook(text, "p.yaml")
    return [str(p) for p in caught.value.errors]


class TestParsing:
    def test_close_rules_and_their_surveys(self) -> None:
        playbook = parse_playbook(PLAYBOOK)
        triggers = [(r.name, r.trigger) for r in playbook.rules]
        assert triggers == [
            ("billing", "message"),
            ("CSAT on social", "close"),
            ("NPS for resolved billing cases", "close"),
            ("never after spam", "close"),
        ]
        assert playbook.rules[1].then == (AskSurvey("csat"),)
        assert playbook.rules[2].then == (AskSurvey("nps", "nps_question", 30, 48),)

    def test_survey_templates_are_names_the_playbook_uses(self) -> None:
        refs = parse_playbook(PLAYBOOK).references()
        assert [str(r) for r in refs.templates["nps_question"]] == [
            "rule 'NPS for resolved billing cases' (line 10)"
        ]

    def test_mistakes_are_reported_with_their_lines(self) -> None:
        text = """\
rules:
  - name: survey on a message
    then: [{survey: csat}]
  - name: routing on close
    trigger: close
    then: [{route: Billing}]
  - name: typo in the trigger
    trigger: closed
    then: [{survey: csat}]
  - name: team on a message
    when: {team: Billing}
    then: [{tag: billing}]
  - name: unknown kind
    trigger: close
    then: [{survey: ces}]
  - name: unknown key
    trigger: close
    then: [{survey: {knd: csat}}]
  - name: no kind
    trigger: close
    then: [{survey: {template: q}}]
  - name: bad numbers
    trigger: close
    then: [{survey: {kind: nps, expires_hours: 0}}]
  - name: quiet days as text
    trigger: close
    then: [{survey: {kind: nps, quiet_days: a week}}]
"""
        assert errors(text) == [
            'p.yaml:3: rule "survey on a message": survey is sent when a conversation closes:'
            " put it in a rule with `trigger: close`",
            'p.yaml:6: rule "routing on close": route does nothing when a conversation closes;'
            " rules with `trigger: close` only take survey",
            "p.yaml:8: rule \"typo in the trigger\": unknown trigger 'closed' (did you mean"
            " 'close'?); use message (the default: every triaged message) or close (once, when"
            " the conversation closes)",
            'p.yaml:11: rule "team on a message": team is known only when a conversation'
            " closes: use it in a rule with `trigger: close`",
            "p.yaml:15: rule \"unknown kind\": unknown survey 'ces'; use csat (1-5) or nps (0-10)",
            "p.yaml:18: rule \"unknown key\": unknown survey key 'knd' (did you mean 'kind'?)",
            'p.yaml:21: rule "no kind": survey needs a kind: `survey: {kind: csat}` (csat or nps)',
            'p.yaml:24: rule "bad numbers": survey expires_hours 0 is outside 1..720',
            'p.yaml:27: rule "quiet days as text": survey quiet_days must be a whole number,'
            " got the text 'a week'",
        ]

    def test_rules_built_in_code_are_checked_too(self) -> None:
        with pytest.raises(InvalidInput, match=re.escape("rules with `trigger: close`")):
            Rule("r", ConversationTag(frozenset({"x"})), (Route("Billing"),), trigger="close")
        with pytest.raises(InvalidInput, match="unknown trigger"):
            Rule("r", ConversationTag(frozenset({"x"})), (AskSurvey("csat"),), trigger="closed")


class TestOnClose:
    playbook = parse_playbook(PLAYBOOK)

    def test_close_rules_never_run_on_messages(self) -> None:
        evaluation = self.playbook.evaluate(FACTS)
        assert evaluation.matched == ("billing",)

    def test_the_last_survey_asked_wins(self) -> None:
        facts = replace(FACTS, team="Billing", close_reason="Resolved")
        closing = self.playbook.on_close(facts)
        assert closing.matched == ("CSAT on social", "NPS for resolved billing cases")
        assert closing.survey == AskSurvey("nps", "nps_question", 30, 48)

    def test_conditions_on_tags_apply(self) -> None:
        legal = replace(FACTS, conversation_tags=frozenset({"legal"}))
        assert self.playbook.on_close(legal).survey is None
        assert self.playbook.on_close(replace(FACTS, platform="email")).survey is None

    def test_disabled_close_rules_are_skipped(self) -> None:
        spam = replace(FACTS, platform="email", conversation_tags=frozenset({"spam"}))
        assert self.playbook.on_close(spam).matched == ()

    def test_stop_ends_close_rules_too(self) -> None:
        playbook = parse_playbook(
            """\
rules:
  - name: no surveys for VIPs
    trigger: close
    when: {customer_tag: vip}
    then: [{survey: nps}]
    stop: true
  - name: everyone else
    trigger: close
    then: [{survey: csat}]
"""
        )
        vip = replace(FACTS, customer_tags=frozenset({"vip"}))
        assert playbook.on_close(vip).survey == AskSurvey("nps")
        assert playbook.on_close(FACTS).survey == AskSurvey("csat")


def test_the_close_rules_in_the_docs_parse() -> None:
    blocks = re.findall(r"```yaml\n(.*?)```", DOCS.read_text(encoding="utf-8"), flags=re.DOTALL)
    (block,) = [b for b in blocks if "trigger: close" in b]
    playbook = parse_playbook("rules:\n" + block, "docs/playbook.md")
    assert [r.trigger for r in playbook.rules] == ["close", "close"]
