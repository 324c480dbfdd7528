"""Backtest a candidate playbook on stored history, against the live one.

Messages are read from storage a chunk at a time in id order (never all at once) and replayed
through both playbooks by `domain/backtest.py`. The first-response target each would have set is
the SLA policy the rules name, else the routed team's policy, else the `default` policy, else the
desk's flat target; attainment compares it with the response time the conversation really had.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
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
    id_range: tuple[int, int] | None = None,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """The report (a dict ready for JSON); `id_range` (lowest, highest message id) limits it to
    part of the history, for running parts on several cores and `combine`-ing them."""
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
        team_policy = {
            t.name: book.get(t.sla_policy_id, t.id) for t in teams.values() if t.sla_policy_id
        }
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
        HistoricalMessage(facts, team_names.get(team_id) if team_id else None, minutes)
        for facts, team_id, minutes in playbooks.history(
            uow, since, lambda team_id, at: calendars[team_id].is_open(at), id_range=id_range
        )
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


def message_id_range(uow: UnitOfWorkFactory) -> tuple[int, int] | None:
    """The lowest and highest id of stored inbound messages (to split a backtest into parts)."""
    with uow(read_only=True) as unit:
        return unit.messages.inbound_id_range()


def combine(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """One report from the reports of parts of the history (a backtest run on several cores):
    counts add up, attainment is recomputed from what was measured and met."""
    first = parts[0]
    out: dict[str, Any] = {
        "live_version": first["live_version"],
        "since": first["since"],
        "messages": sum(p["messages"] for p in parts),
        "candidate": _combine_sides([p["candidate"] for p in parts]),
        "live": _combine_sides([p["live"] for p in parts]) if first["live"] else None,
    }
    changes: dict[tuple[str | None, str | None], int] = {}
    for part in parts:
        for change in part["routing"]["changes"]:
            key = (change["from"], change["to"])
            changes[key] = changes.get(key, 0) + change["messages"]
    out["routing"] = {
        "baseline": first["routing"]["baseline"],
        "unchanged": sum(p["routing"]["unchanged"] for p in parts),
        "changed": sum(p["routing"]["changed"] for p in parts),
        "changes": [
            {"from": a, "to": b, "messages": n}
            for (a, b), n in sorted(changes.items(), key=lambda kv: (-kv[1], str(kv[0])))
        ],
    }
    return out


def _combine_sides(sides: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in sides[0].items():
        if isinstance(value, bool) or not isinstance(value, (int, float, dict)):
            out[key] = value
        elif isinstance(value, dict) and key != "sla":
            merged: dict[str, int] = {}
            for side in sides:
                for name, count in side[key].items():
                    merged[name] = merged.get(name, 0) + count
            out[key] = merged
        elif key != "sla":
            out[key] = sum(side[key] for side in sides)
    measured = sum(side["sla"]["measured"] for side in sides)
    met = sum(side["sla"]["met"] for side in sides)
    out["sla"] = {
        "measured": measured,
        "met": met,
        "attainment": round(met / measured, 4) if measured else None,
    }
    return out
