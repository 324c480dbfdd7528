"""A day of a desk worked out by hand, made through the real services, for the analytics tests
over HTTP and in the browser.

Monday 2 March 2026 (UTC), desk targets 60 min:
- A on X: 09:00 "angry help, my bill" (negative, needs a response), Sam replies 09:30
  (first response 30 min); A belongs to the team named `=1+2` (a name a spreadsheet would run).
- B on X: 09:10 "help please" (neutral, needs a response), Sam replies 10:10 (60 min).
- C by e-mail: 09:20 "thanks a lot" (neutral, needs nothing).
So: inbound 3 (X 2, e-mail 1), replies 2, response rate 100 %, first response median 45 min,
p90 60 min, negative share 1/3. The clock is left at 12:00 that day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from socialdesk.bootstrap import Desk
from socialdesk.domain.agents import Role
from socialdesk.services import conversations as actions
from socialdesk.services.agents import create_team
from socialdesk.services.intake import ingest
from socialdesk.services.playbooks import run_pending
from socialdesk.services.reporting import project
from socialdesk.services.triage import triage_pending
from tests import factories as f
from tests.fakes import FakeClassifier, FrozenClock

DAY = datetime(2026, 3, 2, tzinfo=UTC)
FORMULA_TEAM = "=1+2"


def at(hour: int, minute: int = 0) -> datetime:
    return DAY + timedelta(hours=hour, minutes=minute)


@dataclass(frozen=True)
class WorkedDay:
    x: int
    mail: int
    team_id: int
    sam_id: int
    a: int
    b: int
    c: int


def settle(desk: Desk, now: datetime) -> None:
    """The worker's part after intake and replies: triage, the playbook, the reporting facts."""
    triage_pending(desk.uow, FakeClassifier(), now=now, policy=desk.triage_policy)
    run_pending(desk.uow, desk.playbook_runtime(), now=now)
    project(desk.analytics_uow, desk.holidays, targets=desk.policy.targets, now=now)


def work_the_day(desk: Desk, clock: FrozenClock, x: int) -> WorkedDay:
    """The day above on channel `x` (X) and a new e-mail channel."""
    mail = f.channel(desk.uow, "email", "help@brand.example", now=at(8))
    sam = f.agent(desk.uow, "sam", Role.AGENT, now=at(8))
    team = create_team(desk.uow(), FORMULA_TEAM, at(8), None)
    assert sam.id is not None
    assert team.id is not None

    def customer(channel: int, ext: str, text: str, when: datetime) -> int:
        clock.current = when
        result = ingest(
            desk.uow,
            [f.inbound(channel, ext, text, author=f"cust-{ext}", at=when)],
            now=when,
            policy=desk.policy,
            source="test",
        )
        settle(desk, when)
        return result.outcomes[0].conversation_id

    def reply(conversation: int, when: datetime) -> None:
        clock.current = when
        actions.reply(desk.uow(), sam, conversation, actions.ReplyDraft("On it!"), when)
        settle(desk, when)

    a = customer(x, "a", "angry help, my bill", at(9))
    b = customer(x, "b", "help please", at(9, 10))
    c = customer(mail, "c", "thanks a lot", at(9, 20))
    actions.assign(desk.uow(), sam, a, actions.Assignment(None, team.id, False, True), at(9, 25))
    reply(a, at(9, 30))
    reply(b, at(10, 10))
    clock.current = at(12)
    settle(desk, at(12))
    return WorkedDay(x, mail, team.id, sam.id, a, b, c)
