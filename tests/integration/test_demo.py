"""The demo desk, loaded through the real services on SQLite and PostgreSQL: its history is
complete (replies recorded as delivered), and the worker finds nothing to send or poll."""

from __future__ import annotations

from sqlalchemy import func, select

from socialdesk.adapters.db import tables as t
from socialdesk.bootstrap import Desk
from socialdesk.domain.messages import DeliveryState
from socialdesk.services.delivery import deliver_due
from socialdesk.services.demo import load_demo, set_up_rules
from socialdesk.services.polling import poll_due
from socialdesk.worker import JOBS
from tests.fakes import FakeClassifier, FakePasswordHasher


def test_the_demo_history_is_delivered_and_the_worker_has_nothing_to_do(desk: Desk) -> None:
    now = desk.clock.now()
    summary = load_demo(
        desk.uow, FakePasswordHasher(), desk.secrets, desk.policy, now, conversations=40
    )
    assert summary.conversations == 40
    with desk.engine.connect() as conn:
        states: dict[str, int] = dict(
            conn.execute(select(t.outbox.c.state, func.count()).group_by(t.outbox.c.state)).all()
        )
        platforms = set(conn.execute(select(t.channels.c.platform)).scalars())
    assert states
    assert set(states) == {DeliveryState.SENT.value}
    assert platforms == {"x", "facebook", "instagram", "email", "chat", "phone"}
    assert deliver_due(desk.uow, desk.connectors, now=now).total == 0
    assert poll_due(desk.uow, desk.connectors, now=now, policy=desk.policy).polled == 0


def test_the_demo_rules_run_on_the_demo_traffic(desk: Desk) -> None:
    now = desk.clock.now()
    desk.classifier_override = FakeClassifier()
    load_demo(desk.uow, FakePasswordHasher(), desk.secrets, desk.policy, now, conversations=40)
    set_up_rules(desk.uow, desk.parse_playbook, desk.holidays, now)
    for job in ("triaged", "playbook", "sla"):
        JOBS[job](desk)
    with desk.engine.connect() as conn:
        live = conn.execute(
            select(t.playbook_versions.c.version).where(t.playbook_versions.c.live.is_(True))
        ).scalar_one()
        unplayed = conn.execute(
            select(func.count())
            .select_from(t.messages)
            .where(t.messages.c.direction == "inbound", t.messages.c.playbook.is_(None))
        ).scalar_one()
        refreshed = conn.execute(
            select(func.count())
            .select_from(t.conversations)
            .where(t.conversations.c.sla_refreshed_at.is_not(None))
        ).scalar_one()
        queued = conn.execute(
            select(func.count()).select_from(t.outbox).where(t.outbox.c.state != "sent")
        ).scalar_one()
    assert live == 1
    assert unplayed == 0
    assert refreshed > 0
    assert queued == 0  # the demo's rules acknowledge nobody automatically
