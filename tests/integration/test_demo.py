"""The demo desk, loaded through the real services on SQLite and PostgreSQL: its history is
complete (replies recorded as delivered), and the worker finds nothing to send or poll."""

from __future__ import annotations

from sqlalchemy import func, select

from socialdesk.adapters.db import tables as t
from socialdesk.bootstrap import Desk
from socialdesk.domain.messages import DeliveryState
from socialdesk.services.delivery import deliver_due
from socialdesk.services.demo import load_demo
from socialdesk.services.polling import poll_due
from tests.fakes import FakePasswordHasher


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
