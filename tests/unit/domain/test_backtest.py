"""The backtest on a hand-checked history of 12 messages: every count below is worked out in the
comments, message by message, from the two playbooks and the SLA targets."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from socialdesk.domain.backtest import BacktestReport, HistoricalMessage, RoutingChange, backtest
from socialdesk.domain.playbook import (
    AddTags,
    Always,
    ApplySla,
    AutoAcknowledge,
    Compare,
    CustomerTag,
    EscalationTarget,
    Evaluation,
    Facts,
    Flag,
    Keywords,
    Notify,
    Playbook,
    PrivateChannel,
    Route,
    Rule,
    Suppress,
)

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

# Candidate: spam (stop), billing words → Billing, VIP → vip SLA + notify pr, out of hours → ack.
CANDIDATE = Playbook(
    (
        Rule("spam", Compare("spam_p", (("gte", 0.9),)), (Suppress("spam"),), stop=True),
        Rule("billing", Keywords(("bill", "refund")), (Route("Billing"), AddTags(("billing",)))),
        Rule("vip", CustomerTag(frozenset({"vip"})), (ApplySla("vip"), Notify("pr"))),
        Rule("after hours", Flag("business_hours", False), (AutoAcknowledge("ack"),)),
    ),
    {"pr": EscalationTarget("pr", webhook="https://hooks.example/pr")},
)
# Live: everything → General, then "bill" → Billing (last wins), then a stricter spam rule.
LIVE = Playbook(
    (
        Rule("default", Always(), (Route("General"),)),
        Rule("billing", Keywords(("bill",)), (Route("Billing"),)),
        Rule("spam", Compare("spam_p", (("gte", 0.99),)), (Suppress("spam"),)),
    )
)

SLA = {"vip": 30.0}


def sla_minutes(facts: Facts, evaluation: Evaluation) -> float | None:
    """vip policy: 30 minutes; no policy: 60; reviews have no target at all."""
    if facts.kind == "review":
        return None
    return SLA.get(evaluation.sla_policy or "", 60.0)


def msg(
    text: str,
    *,
    team: str | None,
    answered: float | None,
    spam: float | None = 0.1,
    vip: bool = False,
    after_hours: bool = False,
    follow_up: bool = False,
    kind: str = "post",
) -> HistoricalMessage:
    facts = Facts(
        platform="x",
        channel_id=1,
        channel_name="Acme",
        visibility="public",
        kind=kind,
        text=text,
        created_at=NOW,
        spam_p=spam,
        customer_tags=frozenset({"vip"}) if vip else frozenset(),
        business_hours=not after_hours,
        first_message=not follow_up,
    )
    return HistoricalMessage(facts, team, answered)


# Each message, worked by hand: candidate rules → team; SLA target: verdict || the same for live.
HISTORY = [
    # 1: billing → Billing; 60 min: 50 met || default+billing → Billing; 60: met
    msg("my bill is wrong", team="Billing", answered=50),
    # 2: billing → Billing; 60: 70 missed || default → General; 60: missed
    msg("refund please", team="General", answered=70),
    # 3: spam (stop) → suppressed, no SLA || default → General (0.95 < 0.99); 60: never, missed
    msg("WIN free stuff", team=None, answered=None, spam=0.95),
    # 4: vip → sla vip, notify pr; 30: 20 met || General; 60: met
    msg("hello", team="General", answered=20, vip=True),
    # 5: vip + after hours → notify, ack; 30: 40 missed || General; 60: met
    msg("hello", team="General", answered=40, vip=True, after_hours=True),
    # 6: billing → Billing; follow-up, no SLA || default+billing → Billing
    msg("bill again", team="Billing", answered=None, follow_up=True),
    # 7: nothing; 60: never, missed || General; 60: missed
    msg("thanks", team="General", answered=None),
    # 8: billing + vip → Billing, notify; 30: 35 missed || General (no "bill"); 60: met
    msg("refund now", team="Billing", answered=35, vip=True),
    # 9: nothing; a review has no target || General; no target
    msg("review text", team=None, answered=10, kind="review"),
    # 10: spam → suppressed; follow-up || default+spam → General, suppressed; follow-up
    msg("spam spam", team=None, answered=None, spam=0.995, follow_up=True),
    # 11: billing + after hours → Billing, ack; 60: 61 missed || Billing; 60: missed
    msg("my bill", team="General", answered=61, after_hours=True),
    # 12: nothing (a missing spam_p never matches); 60: 60 on the dot, met || General; met
    msg("question", team="General", answered=60, spam=None),
]


def test_candidate_side_counts() -> None:
    report = backtest(CANDIDATE, LIVE, HISTORY, sla_minutes=sla_minutes)
    side = report.candidate
    assert report.messages == side.messages == 12
    # spam: 3, 10; billing: 1, 2, 6, 8, 11; vip: 4, 5, 8; after hours: 5, 11
    assert side.rule_matches == {"spam": 2, "billing": 5, "vip": 3, "after hours": 2}
    # at least one rule: all but 7, 9, 12
    assert side.matched == 9
    # Billing: 1, 2, 6, 8, 11; the other 7 have no team
    assert side.teams == {"Billing": 5}
    assert side.unrouted == 7
    assert side.suppressed == 2  # 3, 10
    assert side.escalated == 3  # 4, 5, 8 (vip → notify pr)
    assert side.auto_acknowledged == 2  # 5, 11
    assert side.private_required == 0
    # first messages, not suppressed, with a target: 1, 2, 4, 5, 7, 8, 11, 12 (3 is suppressed,
    # 6 and 10 are follow-ups, 9 is a review); met within target: 1 (50≤60), 4 (20≤30), 12 (60≤60)
    assert (side.sla_measured, side.sla_met) == (8, 3)
    assert side.sla_attainment == pytest.approx(3 / 8)


def test_live_side_counts() -> None:
    report = backtest(CANDIDATE, LIVE, HISTORY, sla_minutes=sla_minutes)
    side = report.live
    assert side is not None
    # default: all 12; billing ("bill" only): 1, 6, 11; spam (≥0.99): 10
    assert side.rule_matches == {"default": 12, "billing": 3, "spam": 1}
    assert side.matched == 12
    assert side.teams == {"General": 9, "Billing": 3}
    assert side.unrouted == 0
    assert (side.suppressed, side.escalated, side.auto_acknowledged) == (1, 0, 0)
    # measured: 1, 2, 3, 4, 5, 7, 8, 11, 12 (3 is not suppressed by live; all targets 60)
    # met: 1 (50), 4 (20), 5 (40), 8 (35), 12 (60)
    assert (side.sla_measured, side.sla_met) == (9, 5)
    assert side.sla_attainment == pytest.approx(5 / 9)


def test_routing_changes_against_the_live_playbook() -> None:
    report = backtest(CANDIDATE, LIVE, HISTORY, sla_minutes=sla_minutes)
    # live → candidate: 1, 6, 11 Billing→Billing (unchanged); 2, 8 General→Billing;
    # 3, 4, 5, 7, 9, 10, 12 General→no team
    assert report.routing_baseline == "live"
    assert report.routing_unchanged == 3
    assert report.routing_changes == (
        RoutingChange("General", None, 7),
        RoutingChange("General", "Billing", 2),
    )
    assert report.routing_changed == 9


def test_without_a_live_playbook_routing_is_compared_with_history() -> None:
    report = backtest(CANDIDATE, None, HISTORY, sla_minutes=sla_minutes)
    assert report.live is None
    assert report.routing_baseline == "history"
    # history → candidate: 1 Billing=Billing, 3 none=none, 6 Billing=Billing, 8 Billing=Billing,
    # 9 none=none, 10 none=none (6 unchanged); 2, 11 General→Billing; 4, 5, 7, 12 General→none
    assert report.routing_unchanged == 6
    assert report.routing_changes == (
        RoutingChange("General", None, 4),
        RoutingChange("General", "Billing", 2),
    )
    # the candidate's own counts do not depend on whether live is there
    assert report.candidate == backtest(CANDIDATE, LIVE, HISTORY, sla_minutes=sla_minutes).candidate


def test_sla_targets_are_asked_only_for_first_unsuppressed_messages() -> None:
    asked: list[str] = []

    def recording(facts: Facts, evaluation: Evaluation) -> float | None:
        asked.append(facts.text)
        return sla_minutes(facts, evaluation)

    backtest(CANDIDATE, None, iter(HISTORY), sla_minutes=recording)  # a one-pass iterator is enough
    assert asked == [
        "my bill is wrong",
        "refund please",
        "hello",
        "hello",
        "thanks",
        "refund now",
        "review text",
        "my bill",
        "question",
    ]


def test_private_required_is_counted() -> None:
    pii = Playbook((Rule("pii", Keywords(("card",)), (PrivateChannel("required"),)),))
    history = [msg("my card", team=None, answered=1), msg("hi", team=None, answered=1)]
    assert backtest(pii, None, history, sla_minutes=sla_minutes).candidate.private_required == 1


def test_progress_every_ten_thousand_messages() -> None:
    one = HISTORY[0]
    many = [replace(one, facts=replace(one.facts, message_id=i)) for i in range(25_000)]
    calls: list[int] = []
    report = backtest(CANDIDATE, LIVE, many, sla_minutes=sla_minutes, progress=calls.append)
    assert calls == [10_000, 20_000]
    assert report.messages == 25_000
    assert report.candidate.rule_matches["billing"] == 25_000


def test_an_empty_history_reports_zeros_and_no_attainment() -> None:
    report = backtest(CANDIDATE, LIVE, [], sla_minutes=sla_minutes)
    assert report.messages == 0
    assert report.candidate.sla_attainment is None
    assert report.candidate.rule_matches == {"spam": 0, "billing": 0, "vip": 0, "after hours": 0}
    assert report.routing_changes == ()


def test_the_report_as_json() -> None:
    report: BacktestReport = backtest(CANDIDATE, LIVE, HISTORY, sla_minutes=sla_minutes)
    data = json.loads(json.dumps(report.as_dict()))
    assert data["messages"] == 12
    assert data["candidate"]["sla"] == {"measured": 8, "met": 3, "attainment": 0.375}
    assert data["live"]["sla"] == {"measured": 9, "met": 5, "attainment": 0.5556}
    assert data["candidate"]["rule_matches"]["billing"] == 5
    assert data["routing"] == {
        "baseline": "live",
        "unchanged": 3,
        "changed": 9,
        "changes": [
            {"from": "General", "to": None, "messages": 7},
            {"from": "General", "to": "Billing", "messages": 2},
        ],
    }
    assert backtest(CANDIDATE, None, HISTORY, sla_minutes=sla_minutes).as_dict()["live"] is None
