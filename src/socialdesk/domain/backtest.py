"""Backtesting a playbook: replay history through a candidate (and the live playbook) and count
what would have changed. Pure: the caller streams the history and knows the SLA targets.

Why: a playbook edit is a policy change for every message that arrives afterwards. Before it goes
live a supervisor should see, on last month's traffic, how many messages each rule would catch, how
routing would move between teams, how much would be suppressed, escalated or acknowledged
automatically, and what first-response SLA attainment the team would have had under the new
targets. The live playbook runs beside the candidate on the same messages, so the report reads as a
comparison, not as two numbers measured on different days.

The replay is one pass over an iterable (history can be a database cursor; nothing is kept per
message), evaluating each message once per playbook. Evaluation is compiled closures
(`domain/playbook.py`), so a million messages take seconds, not minutes (bench/backtest.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from socialdesk.domain.playbook import Evaluation, Facts, Playbook

PROGRESS_EVERY = 10_000


@dataclass(frozen=True, slots=True)
class HistoricalMessage:
    """One inbound message as it happened: its facts, the team its conversation actually had, and
    (for a first message) the minutes until the brand's first reply (None: never answered)."""

    facts: Facts
    team: str | None
    first_response_minutes: float | None


@dataclass(frozen=True, slots=True)
class SideReport:
    """What one playbook would have done to the history.

    `rule_matches`: messages each enabled rule matched, in playbook order (zero included: a rule
    that never fires is news too). `teams`: messages per resolved team; `unrouted`: messages no rule
    routed. SLA: among first messages that were not suppressed and have a target, `sla_met` were
    answered within it (never answered counts as missed); attainment is met / measured.
    """

    messages: int
    matched: int
    rule_matches: dict[str, int]
    teams: dict[str, int]
    unrouted: int
    suppressed: int
    escalated: int
    auto_acknowledged: int
    private_required: int
    sla_measured: int
    sla_met: int

    @property
    def sla_attainment(self) -> float | None:
        return self.sla_met / self.sla_measured if self.sla_measured else None

    def as_dict(self) -> dict[str, Any]:
        attainment = self.sla_attainment
        return {
            "messages": self.messages,
            "matched": self.matched,
            "rule_matches": dict(self.rule_matches),
            "teams": dict(self.teams),
            "unrouted": self.unrouted,
            "suppressed": self.suppressed,
            "escalated": self.escalated,
            "auto_acknowledged": self.auto_acknowledged,
            "private_required": self.private_required,
            "sla": {
                "measured": self.sla_measured,
                "met": self.sla_met,
                "attainment": None if attainment is None else round(attainment, 4),
            },
        }


@dataclass(frozen=True, slots=True)
class RoutingChange:
    """`messages` would go to `to_team` instead of `from_team` (None: no team, the default queue)."""

    from_team: str | None
    to_team: str | None
    messages: int

    def as_dict(self) -> dict[str, Any]:
        return {"from": self.from_team, "to": self.to_team, "messages": self.messages}


@dataclass(frozen=True, slots=True)
class BacktestReport:
    """Candidate and live side by side, plus how routing moves between them.

    Routing is compared with the live playbook's team when there is a live playbook, else with the
    team each conversation historically had (`routing_baseline` says which). Changes are sorted by
    size, largest first.
    """

    messages: int
    candidate: SideReport
    live: SideReport | None
    routing_baseline: str
    routing_changes: tuple[RoutingChange, ...]
    routing_unchanged: int

    @property
    def routing_changed(self) -> int:
        return sum(change.messages for change in self.routing_changes)

    def as_dict(self) -> dict[str, Any]:
        return {
            "messages": self.messages,
            "candidate": self.candidate.as_dict(),
            "live": None if self.live is None else self.live.as_dict(),
            "routing": {
                "baseline": self.routing_baseline,
                "unchanged": self.routing_unchanged,
                "changed": self.routing_changed,
                "changes": [change.as_dict() for change in self.routing_changes],
            },
        }


SlaMinutes = Callable[[Facts, Evaluation], float | None]


class _Tally:
    """Running counts for one playbook.

    Per message only the SLA check needs the message itself; everything else (rule matches, team,
    suppressed, escalated, acknowledged) is a property of the evaluation. `Playbook.evaluate` hands
    out shared, immutable evaluations (one per combination of matched rules and priority), so the
    loop counts evaluations by identity — one dictionary update — and `report` expands the counts
    once at the end. Each evaluation counted is kept alive in `kept`, so its id cannot be reused.
    """

    __slots__ = ("counts", "evaluate", "kept", "measured", "met", "rule_names", "sla_minutes")

    def __init__(self, playbook: Playbook, sla_minutes: SlaMinutes) -> None:
        self.evaluate = playbook.evaluate
        self.sla_minutes = sla_minutes
        self.rule_names = [  # close rules never see a message: a 0 would look like a typo
            rule.name for rule in playbook.rules if rule.enabled and rule.trigger == "message"
        ]
        self.counts: dict[int, int] = {}
        self.kept: dict[int, Evaluation] = {}
        self.measured = self.met = 0

    def add(self, facts: Facts, minutes: float | None) -> Evaluation:
        """Evaluate one message and count it; returns the evaluation (routing needs its team)."""
        evaluation = self.evaluate(facts)
        key = id(evaluation)
        counts = self.counts
        seen = counts.get(key)
        if seen is None:
            self.kept[key] = evaluation
            counts[key] = 1
        else:
            counts[key] = seen + 1
        if evaluation.suppress is None and facts.first_message:
            target = self.sla_minutes(facts, evaluation)
            if target is not None:
                self.measured += 1
                if minutes is not None and minutes <= target:
                    self.met += 1
        return evaluation

    def report(self, messages: int) -> SideReport:
        rule_matches = dict.fromkeys(self.rule_names, 0)
        teams: dict[str, int] = {}
        matched = unrouted = suppressed = escalated = acked = private = 0
        for key, n in self.counts.items():
            evaluation = self.kept[key]
            if evaluation.matched:
                matched += n
                for name in evaluation.matched:
                    rule_matches[name] = rule_matches.get(name, 0) + n
            if evaluation.team is None:
                unrouted += n
            else:
                teams[evaluation.team] = teams.get(evaluation.team, 0) + n
            suppressed += n if evaluation.suppress is not None else 0
            escalated += n if evaluation.notify else 0
            acked += n if evaluation.auto_ack is not None else 0
            private += n if evaluation.private == "required" else 0
        return SideReport(
            messages=messages,
            matched=matched,
            rule_matches=rule_matches,
            teams=dict(sorted(teams.items(), key=lambda item: (-item[1], item[0]))),
            unrouted=unrouted,
            suppressed=suppressed,
            escalated=escalated,
            auto_acknowledged=acked,
            private_required=private,
            sla_measured=self.measured,
            sla_met=self.met,
        )


def backtest(
    candidate: Playbook,
    live: Playbook | None,
    history: Iterable[HistoricalMessage],
    *,
    sla_minutes: SlaMinutes,
    progress: Callable[[int], None] | None = None,
) -> BacktestReport:
    """Replay `history` through `candidate` (and `live`, when given) and count the outcomes.

    `sla_minutes(facts, evaluation)` is the first-response target, in minutes, that would apply
    under that evaluation (None: no target); it is asked only for first messages that are not
    suppressed. `progress(n)` is called after every 10,000 messages, with the number seen so far.
    """
    side = _Tally(candidate, sla_minutes)
    other = _Tally(live, sla_minutes) if live is not None else None
    changes: dict[tuple[str | None, str | None], int] = {}
    unchanged = 0
    seen = 0
    add = side.add
    for item in history:
        seen += 1
        facts = item.facts
        minutes = item.first_response_minutes
        to_team = add(facts, minutes).team
        from_team = other.add(facts, minutes).team if other is not None else item.team
        if from_team == to_team:
            unchanged += 1
        else:
            key = (from_team, to_team)
            changes[key] = changes.get(key, 0) + 1
        if progress is not None and seen % PROGRESS_EVERY == 0:
            progress(seen)
    ordered = sorted(
        changes.items(), key=lambda item: (-item[1], item[0][0] or "", item[0][1] or "")
    )
    return BacktestReport(
        messages=seen,
        candidate=side.report(seen),
        live=other.report(seen) if other is not None else None,
        routing_baseline="live" if live is not None else "history",
        routing_changes=tuple(RoutingChange(f, t, n) for (f, t), n in ordered),
        routing_unchanged=unchanged,
    )
