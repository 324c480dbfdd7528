"""The queue on real databases: every sort pages through exactly once, in order, in few queries."""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import (
    BigInteger,
    Engine,
    column,
    create_engine,
    delete,
    event,
    select,
    update,
    values,
)

from socialdesk.adapters.db import tables as t
from socialdesk.adapters.db.migrate import downgrade, upgrade
from socialdesk.adapters.db.sql import in_bitmap, packed_ids
from socialdesk.bootstrap import Desk
from socialdesk.domain.conversations import Status
from socialdesk.domain.messages import MessageKind
from socialdesk.queries import inbox
from socialdesk.queries.conversation_view import get_conversation_view
from socialdesk.queries.inbox import STATUSES, InboxFilter, Sort, list_inbox
from socialdesk.services import conversations as actions
from socialdesk.services.intake import ingest
from tests import factories as f
from tests.factories import T0


@contextmanager
def count_queries(engine: Engine) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(*args: Any) -> None:
        if not args[2].startswith("BEGIN"):  # SQLite's explicit BEGIN is not a query
            statements.append(args[2])

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


@pytest.fixture
def seeded(desk: Desk) -> Desk:
    """43 conversations on two channels with ties in every sort key and some empty keys."""
    rng = random.Random(3)
    x = f.channel(desk.uow, "x", "@brand")
    mail = f.channel(desk.uow, "email", "help@brand.example")
    items = []
    for i in range(43):
        on_mail = i % 3 == 0
        items.append(
            f.inbound(
                mail if on_mail else x,
                f"m{i}",
                f"order {i} is {'late' if i % 2 else 'broken'}",
                author=f"u{i}",
                kind=MessageKind.EMAIL if on_mail else MessageKind.POST,
                at=T0 + timedelta(minutes=rng.randint(0, 9)),
            )
        )
    outcomes = ingest(desk.uow, items, now=T0, policy=desk.policy, source="test").outcomes
    agent = f.agent(desk.uow)
    with desk.engine.begin() as conn:
        for o in outcomes:
            conn.execute(
                update(t.conversations)
                .where(t.conversations.c.id == o.conversation_id)
                .values(
                    priority=rng.choice([0, 10, 50, 90]),
                    sentiment=rng.choice(["negative", "neutral", None]),
                )
            )
    later = T0 + timedelta(minutes=10)
    for o in outcomes[:12]:  # answered: waiting_since and sla_due_at become empty
        actions.reply(desk.uow(), agent, o.conversation_id, actions.ReplyDraft("hi"), later)
    for o in outcomes[12:15]:
        draft = actions.ReplyDraft("hi", status_after=Status.OPEN)
        actions.reply(desk.uow(), agent, o.conversation_id, draft, later)
    for o in outcomes[15:20]:
        actions.retag(desk.uow(), agent, o.conversation_id, ["vip"], [], T0)
    return desk


def all_rows(desk: Desk, statuses: tuple[str, ...]) -> list[Any]:
    with desk.engine.connect() as conn:
        rows = conn.execute(t.conversations.select().order_by(t.conversations.c.id)).all()
    return [r for r in rows if not statuses or r.status in statuses]


def expected(rows: list[Any], sort: Sort) -> list[int]:
    far = T0 + timedelta(days=10_000)
    if sort is Sort.PRIORITY:
        return [r.id for r in sorted(rows, key=lambda r: (-r.priority, r.id))]
    if sort is Sort.AGE:
        return [
            r.id
            for r in sorted(
                rows, key=lambda r: (r.waiting_since is None, r.waiting_since or far, r.id)
            )
        ]
    if sort is Sort.SLA_DUE:
        return [
            r.id
            for r in sorted(rows, key=lambda r: (r.sla_due_at is None, r.sla_due_at or far, r.id))
        ]
    with_time = sorted(
        (r for r in rows if r.last_message_at is not None),
        key=lambda r: (r.last_message_at, r.id),
        reverse=True,
    )
    return [r.id for r in with_time] + sorted(
        (r.id for r in rows if r.last_message_at is None), reverse=True
    )


def walk(desk: Desk, f_: InboxFilter, sort: Sort, limit: int) -> tuple[list[int], int]:
    ids: list[int] = []
    cursor = None
    worst = 0
    while True:
        with desk.engine.connect() as conn, count_queries(desk.engine) as queries:
            page = list_inbox(conn, f_, sort=sort, cursor=cursor, limit=limit)
        worst = max(worst, len(queries))
        ids += [c.id for c in page.items]
        if page.next_cursor is None:
            return ids, worst
        cursor = page.next_cursor


@pytest.mark.parametrize("sort", list(Sort))
@pytest.mark.parametrize("statuses", [("open",), ("open", "pending"), ()])
def test_every_sort_pages_through_everything_once_in_order(
    seeded: Desk, sort: Sort, statuses: tuple[str, ...]
) -> None:
    ids, worst = walk(seeded, InboxFilter(statuses=statuses), sort, limit=5)
    assert ids == expected(all_rows(seeded, statuses), sort)
    walks = len(statuses) or len(STATUSES)  # one walk per status, merged
    assert worst <= 3 * walks + 2, "a page is at most 3 keyset scans a status, rows and tags"


def test_page_size_does_not_change_the_query_count(seeded: Desk) -> None:
    counts = []
    for limit in (1, 10, 100):
        with seeded.engine.connect() as conn, count_queries(seeded.engine) as queries:
            list_inbox(conn, InboxFilter(statuses=()), limit=limit)
        counts.append(len(queries))
    # the page's ids (a walk per status), their rows, their tags
    assert counts == [len(STATUSES) + 2] * 3


def test_filters(seeded: Desk) -> None:
    def ids(**kw: Any) -> set[int]:
        with seeded.engine.connect() as conn:
            page = list_inbox(conn, InboxFilter(statuses=(), **kw), limit=100)
        return {c.id for c in page.items}

    rows = all_rows(seeded, ())
    assert ids(platform="email") == {r.id for r in rows if r.platform == "email"}
    assert ids(sentiment="negative") == {r.id for r in rows if r.sentiment == "negative"}
    assert ids(priority_min=50, priority_max=89) == {r.id for r in rows if r.priority == 50}
    assert len(ids(tag="vip")) == 5
    assert ids(unassigned=True) == {r.id for r in rows if r.assignee_id is None}
    assignee = next(r.assignee_id for r in rows if r.assignee_id)
    assert ids(assignee_id=assignee) == {r.id for r in rows if r.assignee_id == assignee}
    assert len(ids(text="broken order")) == 22
    assert len(ids(text="LATE")) == 21


@pytest.mark.parametrize("common_from", [1, 5, 6, 10_000])
def test_a_tag_filter_finds_the_same_conversations_read_either_way(
    seeded: Desk, monkeypatch: pytest.MonkeyPatch, common_from: int
) -> None:
    """A common tag walks the queue with EXISTS, a rare one reads the tag index: same pages."""
    monkeypatch.setattr(inbox, "COMMON_TAG", common_from)
    ct = t.conversation_tags.c
    with seeded.engine.connect() as conn:
        tagged = set(conn.execute(select(ct.conversation_id).where(ct.tag == "vip")).scalars())
    ids, _ = walk(seeded, InboxFilter(statuses=(), tag="VIP "), Sort.PRIORITY, limit=2)
    assert sorted(ids) == sorted(tagged)
    assert len(ids) == 5


@pytest.mark.parametrize(
    ("common_from", "drive_from", "probe_window", "probe_further"),
    [(1, 10**9, window, further) for window in (1, 3, 6, 10**9) for further in (2, 1000)]
    + [(common, drive, 10**9, 1000) for common in (21, 22, 10_000) for drive in (1, 3, 10**9)],
)
def test_a_search_finds_the_same_conversations_read_either_way(
    seeded: Desk,
    monkeypatch: pytest.MonkeyPatch,
    common_from: int,
    drive_from: int,
    probe_window: int,
    probe_further: int,
) -> None:
    """A common word walks the queue checking each conversation one by one for the first
    `probe_window` and while the share found says the page fills within `probe_further` (on
    PostgreSQL an allowance per matching message), then against the word's conversations
    gathered once; a rare one reads its matches once and, on SQLite, walks only the statuses
    that have any, by id or against a list: same pages, in the same order, on every engine, as
    reading the matches by id."""
    search = InboxFilter(statuses=(), text="broken order")
    monkeypatch.setattr(inbox, "COMMON_MATCH", dict.fromkeys(("sqlite", "postgresql"), 10_000))
    monkeypatch.setattr(inbox, "DRIVE_FROM_LIST", 10**9)
    expected, _ = walk(seeded, search, Sort.PRIORITY, limit=4)
    monkeypatch.setattr(inbox, "COMMON_MATCH", dict.fromkeys(("sqlite", "postgresql"), common_from))
    monkeypatch.setattr(inbox, "DRIVE_FROM_LIST", drive_from)
    monkeypatch.setattr(inbox, "PROBE_WINDOW", probe_window)
    monkeypatch.setattr(inbox, "PROBE_FURTHER", probe_further)
    # PostgreSQL's allowance is per matching message: none, or more than there are rows
    monkeypatch.setattr(inbox, "PROBES_PER_MATCH", 0 if probe_further < 1000 else probe_further)
    ids, _ = walk(seeded, search, Sort.PRIORITY, limit=4)
    assert ids == expected
    assert len(ids) == 22
    status_of = {r.id: r.status for r in all_rows(seeded, ())}
    for status in sorted(STATUSES):  # statuses without a match are not walked
        one, _ = walk(seeded, replace(search, statuses=(status,)), Sort.AGE, limit=3)
        assert sorted(one) == sorted(i for i in ids if status_of[i] == status)


@pytest.mark.postgres
@pytest.mark.parametrize(
    "ids", [[], [7], [3, 4, 11, 64, 65, 1000], [2**40, 2**40 + 9], [5, 2**40, 2**41 + 3]]
)
def test_the_gathered_ids_bitmap_keeps_exactly_them(pg_url: str, ids: list[int]) -> None:
    """PostgreSQL's gathered conversations travel as eight bytes an id and come back as a bitmap
    over their range, or inline where they are too far apart for one (a bitmap of the last
    case's range would take 275 GB): every id passes, at both ends of the range too; none of
    its neighbours, in the range or outside it, does (get_bit would fail there)."""
    engine = create_engine(pg_url)
    # 0, never an id, keeps VALUES from being empty
    listed = values(column("id", BigInteger), name="listed").data([(i,) for i in [0, *ids]])
    tried = sorted({n for i in [0, *ids] for n in range(max(i - 9, 1), i + 10)})
    candidates = values(column("id", BigInteger), name="candidates").data([(n,) for n in tried])
    with engine.connect() as conn:
        packed = conn.execute(select(packed_ids(listed.c.id)).where(listed.c.id > 0)).scalar()
        kept = conn.execute(
            select(candidates.c.id).where(in_bitmap(candidates.c.id, packed))
        ).scalars()
        assert sorted(kept) == sorted(ids)
    engine.dispose()


def test_search_follows_edits_moves_deletions_and_the_index_migrations(seeded: Desk) -> None:
    """Both engines index words by conversation and keep no text of their own (SQLite's FTS5
    rowid, migration 0011; PostgreSQL's words a conversation, 0012): an edited message is found
    by its new words only, a deleted one not at all, one moved to another conversation in that
    one; going back to the indexes by message and forward again finds the same conversations."""

    def found(words: str) -> list[int]:
        return walk(seeded, InboxFilter(statuses=(), text=words), Sort.PRIORITY, limit=7)[0]

    m = t.messages.c
    with seeded.engine.connect() as conn:
        late = conn.execute(select(m.id, m.conversation_id).where(m.text.like("%late"))).all()
        broken = conn.execute(select(m.conversation_id).where(m.text.like("%broken"))).first()
        replied = set(conn.execute(select(m.conversation_id).where(m.text == "hi")).scalars())
    assert broken is not None
    assert len(replied) == 15  # a later message's words join its conversation's
    assert set(found("hi")) == replied
    with seeded.engine.begin() as conn:
        conn.execute(update(t.messages).where(m.id == late[0].id).values(text="order fixed"))
        conn.execute(delete(t.messages).where(m.id == late[1].id))
        moved = update(t.messages).where(m.id == late[2].id)
        conn.execute(moved.values(conversation_id=broken.conversation_id))
    expected = sorted([broken.conversation_id, *(row.conversation_id for row in late[3:])])
    assert sorted(found("late")) == expected
    assert found("fixed order") == [late[0].conversation_id]
    assert late[2].conversation_id not in found("order")  # its only message moved away
    downgrade(seeded.engine, "0010")
    try:  # the indexes by message, as revision 0001 made them
        with seeded.engine.connect() as conn:
            if conn.dialect.name == "sqlite":
                by_message = "SELECT rowid FROM messages_fts WHERE messages_fts MATCH 'late'"
            else:
                by_message = "SELECT id FROM messages WHERE search @@ to_tsquery('simple', 'late')"
            ids = conn.exec_driver_sql(by_message).scalars().all()
            again = conn.execute(select(m.conversation_id).where(m.id.in_(ids))).scalars()
            assert sorted(again) == expected
    finally:
        upgrade(seeded.engine)
    assert sorted(found("LATE")) == expected
    assert found("fixed") == [late[0].conversation_id]


def test_conversation_view_costs_six_queries_however_long(seeded: Desk) -> None:
    first = all_rows(seeded, ())[0]
    with seeded.engine.connect() as conn, count_queries(seeded.engine) as queries:
        view = get_conversation_view(conn, first.id)
    assert view is not None
    assert len(queries) == 6
    assert [m.direction for m in view.messages] == ["inbound", "outbound"]
    assert view.messages[1].delivery is not None
