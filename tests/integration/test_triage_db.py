"""The triage queue and priority rescoring on real SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from socialdesk.adapters.db import tables as t
from socialdesk.bootstrap import Desk
from socialdesk.queries.conversation_view import get_conversation_view
from socialdesk.queries.inbox import InboxFilter, list_inbox
from socialdesk.services.intake import ingest
from socialdesk.services.triage import rescore_waiting, triage_pending
from tests import factories as f
from tests.factories import T0
from tests.fakes import FakeClassifier


def test_triage_fills_messages_and_the_queue_sorts_by_it(desk: Desk) -> None:
    x = f.channel(desk.uow)
    ingest(
        desk.uow,
        [
            f.inbound(x, "a", "nice day", author="u1"),
            f.inbound(x, "b", "angry, help with my bill", author="u2", followers=90_000),
            f.inbound(x, "c", "help", author="u3"),
        ],
        now=T0,
        policy=desk.policy,
        source="test",
    )
    classifier = FakeClassifier()
    assert triage_pending(desk.uow, classifier, now=T0, policy=desk.triage_policy, limit=2) == 2
    assert triage_pending(desk.uow, classifier, now=T0, policy=desk.triage_policy, limit=2) == 1
    assert triage_pending(desk.uow, classifier, now=T0, policy=desk.triage_policy) == 0
    with desk.engine.connect() as conn:
        untriaged = conn.execute(select(t.messages.c.id).where(t.messages.c.triage.is_(None))).all()
        page = list_inbox(conn, InboxFilter())
        view = get_conversation_view(conn, page.items[0].id)
    assert untriaged == []
    assert [c.preview for c in page.items] == ["angry, help with my bill", "help", "nice day"]
    top = page.items[0]
    assert (top.sentiment, top.intent, top.language) == ("negative", "billing", "en")
    assert {f_["name"] for f_ in top.priority_factors} >= {"needs_response", "reach", "waiting"}
    assert view is not None
    assert view.messages[0].triage is not None
    assert view.messages[0].triage["priority"]["score"] == top.priority


def test_rescoring_claims_only_stale_waiting_conversations(desk: Desk) -> None:
    x = f.channel(desk.uow)
    ingest(desk.uow, [f.inbound(x, "a", "help")], now=T0, policy=desk.policy, source="test")
    triage_pending(desk.uow, FakeClassifier(), now=T0, policy=desk.triage_policy)
    assert rescore_waiting(desk.uow, now=T0 + timedelta(seconds=30), policy=desk.triage_policy) == 0
    assert rescore_waiting(desk.uow, now=T0 + timedelta(minutes=30), policy=desk.triage_policy) == 1
    with desk.engine.connect() as conn:
        (item,) = list_inbox(conn, InboxFilter()).items
    assert {f_["name"]: f_["points"] for f_ in item.priority_factors}["waiting"] == 7.5
