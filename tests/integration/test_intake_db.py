"""Intake against real SQLite and PostgreSQL: bulk batches, redelivery, and racing writers."""

from __future__ import annotations

import threading
from datetime import UTC, timedelta

from sqlalchemy import Table, func, select

from socialdesk.adapters.db import tables as t
from socialdesk.bootstrap import Desk
from socialdesk.domain.messages import MessageKind, NormalisedMessage
from socialdesk.queries.inbox import InboxFilter, list_inbox
from socialdesk.services.intake import ingest
from tests import factories as f
from tests.factories import T0
from tests.support.snapshot import snapshot


def count(desk: Desk, table: Table) -> int:
    with desk.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_a_thousand_threaded_messages_in_one_batch(desk: Desk) -> None:
    x = f.channel(desk.uow)
    items = []
    for i in range(250):  # 250 threads of 4: post, brand reply, customer reply, a DM
        at = T0 + timedelta(seconds=i)
        items += [
            f.inbound(x, f"p{i}", author=f"u{i}", at=at),
            f.outbound(x, f"b{i}", f"p{i}", at=at + timedelta(minutes=5)),
            f.inbound(
                x,
                f"r{i}",
                "thanks",
                author=f"u{i}",
                in_reply_to=f"b{i}",
                at=at + timedelta(minutes=9),
            ),
            f.inbound(x, f"d{i}", "dm", author=f"u{i}", kind=MessageKind.DM, at=at),
        ]
    result = ingest(desk.uow, items, now=T0, policy=desk.policy, source="test")
    assert (result.new_messages, result.new_conversations, result.new_customers) == (1000, 500, 250)
    assert count(desk, t.messages) == 1000
    assert count(desk, t.raw_events) == 1000
    with desk.engine.connect() as conn:
        row = conn.execute(
            select(t.conversations).where(t.conversations.c.thread_key.is_(None)).limit(1)
        ).one()
    assert row.message_count == 3
    assert row.first_response_at - row.created_at == timedelta(minutes=5)
    assert row.created_at.tzinfo is UTC

    before = snapshot(desk.engine)
    again = ingest(desk.uow, items, now=T0 + timedelta(hours=1), policy=desk.policy, source="test")
    assert again.duplicates == 1000
    assert [o.message_id for o in again.outcomes] == [o.message_id for o in result.outcomes]
    assert snapshot(desk.engine) == before


def test_concurrent_writers_store_each_message_once(desk: Desk) -> None:
    x = f.channel(desk.uow)
    batches = [
        [
            f.inbound(x, f"m{i}", author=f"u{i % 7}", kind=MessageKind.DM)
            for i in range(start, start + 60)
        ]
        for start in (0, 20, 40, 0)
    ]
    errors: list[BaseException] = []

    def run(batch: list[NormalisedMessage]) -> None:
        try:
            ingest(desk.uow, batch, now=T0, policy=desk.policy, source="test")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(b,)) for b in batches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert count(desk, t.messages) == 100
    assert count(desk, t.identities) == 7
    assert count(desk, t.customers) == 7


def test_search_finds_words_in_any_language(desk: Desk) -> None:
    x = f.channel(desk.uow)
    ingest(
        desk.uow,
        [
            f.inbound(x, "a", "Mi pedido no llegó", author="a"),
            f.inbound(x, "b", "Paket ist kaputt 📦", author="b"),
            f.inbound(x, "c", "<script>alert('x')</script> refund", author="c"),
        ],
        now=T0,
        policy=desk.policy,
        source="test",
    )
    with desk.engine.connect() as conn:

        def hits(q: str) -> list[str]:
            return [c.preview for c in list_inbox(conn, InboxFilter(text=q)).items]

        assert hits("pedido") == ["Mi pedido no llegó"]
        assert hits("KAPUTT") == ["Paket ist kaputt 📦"]
        assert hits('refund" OR 1=1 --') == []
        assert hits("script refund") == ["<script>alert('x')</script> refund"]
