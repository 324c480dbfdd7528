"""Backtest a candidate playbook on stored history, against the live one.

Messages are read from storage a chunk at a time in id order (never all at once) and replayed
through both playbooks by `domain/backtest.py`. The first-response target each would have set is
the SLA policy the rules name, else the routed team's policy, else the `default` policy, else the
desk's flat target; attainment compares it with the response time the conversation really had.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from socialdesk.domain.backtest import HistoricalMessage, backtest
from socialdesk.domain.calendars import BusinessCalendar
from socialdesk.domain.playbook import Evaluation, Facts, Playbook
from socialdesk.domain.sla import ResponseTargets, SlaPolicy
from socialdesk.services import playbooks, sla
from socialdesk.services.ports import Holidays, PlaybookParser, UnitOfWork, UnitOfWorkFactory


def backtest_candidate(
    uow: UnitOfWorkFactory,
    parse: PlaybookParser,
    holidays: Holidays,
    targets: ResponseTargets,
    source: str,
    *,
    now: datetime,
    since: datetime | None = None,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    with uow(read_only=True) as unit:
        candidate = playbooks.check(unit, parse, source, "candidate.yaml")
        live = unit.playbooks.live()
        live_playbook = parse(live.source, f"v{live.version}") if live else None
        teams = {t.id: t for t in unit.teams.list_all()}
        book = sla.PolicyBook(unit, holidays, now, sla.flat_policy(targets))
        by_name = {
            name: book.get(_policy_id(unit, name))
            for name in _policy_names(candidate, live_playbook)
        }
        team_policy = {t.name: book.get(t.sla_policy_id) for t in teams.values() if t.sla_policy_id}
        default = book.get(book.policy_id_for_default())
        known_calendars = {
            team_id: playbooks.calendar_for(unit, holidays, team_id, now) for team_id in teams
        }
        fallback_calendar = playbooks.calendar_for(unit, holidays, None, now)
    calendars: dict[int | None, BusinessCalendar] = defaultdict(
        lambda: fallback_calendar, known_calendars
    )

    def sla_minutes(facts: Facts, evaluation: Evaluation) -> float | None:
        policy: SlaPolicy = default
        if evaluation.sla_policy and evaluation.sla_policy in by_name:
            policy = by_name[evaluation.sla_policy]
        elif evaluation.team and evaluation.team in team_policy:
            policy = team_policy[evaluation.team]
        target = policy.target_for(evaluation.priority or facts.priority or 0, facts.platform)
        if target is None or target.first_response is None:
            return None
        return target.first_response.total_seconds() / 60

    team_names = {team_id: team.name for team_id, team in teams.items()}
    history = (
        HistoricalMessage(
            replace(facts, business_hours=calendars[team_id].is_open(facts.created_at)),
            team_names.get(team_id) if team_id else None,
            minutes,
        )
        for facts, team_id, minutes in playbooks.history(uow, since)
    )
    report = backtest(candidate, live_playbook, history, sla_minutes=sla_minutes, progress=progress)
    return {
        "live_version": live.version if live else None,
        "since": since.isoformat() if since else None,
        **report.as_dict(),
    }


def _policy_names(*found: Playbook | None) -> set[str]:
    return {name for p in found if p is not None for name in p.references().sla_policies}


def _policy_id(unit: UnitOfWork, name: str) -> int | None:
    found = unit.sla_policies.find(name)
    return found.id if found else None
