"""Listening storage: saved queries, the posts they matched, the hourly counts the spike job reads,
and spike alerts with the detector's state.

The spike job's history is two small reads: public posts per hour and intent, added to as triage
stores them (`post_hours`), and the matches grouped in SQL by whole hours since 1970
(`hour_number`, computed alike by both engines whatever the session's time zone) through the
index led by the query (`ix_listening_matches_at`).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    and_,
    bindparam,
    case,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Row

from socialdesk.adapters.db import tables as t
from socialdesk.adapters.db.sql import count_if, hour_number, hour_start
from socialdesk.domain.alerts import Alert, SamplePost, SubjectKind, state_from_json, state_to_json
from socialdesk.domain.listening import SavedQuery, StoredPost

m = t.messages.c
lq = t.listening_queries.c
lm = t.listening_matches.c
al = t.alerts.c
cur = t.report_cursors.c
ct = t.conversation_tags.c
CHECK_CURSOR = "spike_check"  # report_cursors row: when the spike job last ran (epoch seconds)
# Inline literals, not parameters: the planners match them against the partial index's predicate.
PUBLIC_INBOUND = (
    m.direction == literal("inbound", literal_execute=True),
    m.visibility == literal("public", literal_execute=True),
)
NEGATIVE = m.triage["sentiment"].as_string() == "negative"
INTENT = m.triage["intent"].as_string()


def _query(row: Row[Any]) -> SavedQuery:
    return SavedQuery(
        id=row.id,
        name=row.name,
        query=row.query,
        active=row.active,
        created_at=row.created_at,
        updated_at=row.updated_at,
        author_id=row.author_id,
    )


def _alert(row: Row[Any]) -> Alert:
    return Alert(
        id=row.id,
        subject_kind=SubjectKind(row.subject_kind),
        subject=row.subject,
        kinds=list(row.kinds),
        summary=row.summary,
        details=dict(row.details),
        opened_at=row.opened_at,
        closed_at=row.closed_at,
        state=state_from_json(row.state),
    )


class ListeningStore:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # -- saved queries -----------------------------------------------------------------------

    def add_query(self, query: SavedQuery) -> None:
        query.id = self.conn.execute(
            insert(t.listening_queries).returning(lq.id), _query_row(query)
        ).scalar_one()

    def get_query(self, query_id: int, *, for_update: bool = False) -> SavedQuery | None:
        stmt = select(t.listening_queries).where(lq.id == query_id)
        row = self.conn.execute(stmt.with_for_update() if for_update else stmt).first()
        return _query(row) if row else None

    def find_query(self, name: str) -> SavedQuery | None:
        """The query of this name, in any case. The exact name is asked too: SQLite's lower()
        folds ASCII only, so "À" would not find itself as "à" and reach the unique index."""
        row = self.conn.execute(
            select(t.listening_queries).where(
                or_(lq.name == name, func.lower(lq.name) == name.lower())
            )
        ).first()
        return _query(row) if row else None

    def update_query(self, query: SavedQuery) -> None:
        self.conn.execute(
            update(t.listening_queries).where(lq.id == query.id).values(**_query_row(query))
        )

    def delete_query(self, query_id: int) -> None:
        """The query and the record of what it matched (alerts keep its name)."""
        self.conn.execute(delete(t.listening_matches).where(lm.query_id == query_id))
        self.conn.execute(delete(t.listening_queries).where(lq.id == query_id))

    def active_queries(self) -> list[SavedQuery]:
        rows = self.conn.execute(select(t.listening_queries).where(lq.active).order_by(lq.id))
        return [_query(row) for row in rows]

    # -- matching ----------------------------------------------------------------------------

    def public_posts(self, message_ids: Collection[int]) -> list[StoredPost]:
        """The public inbound messages among these, with their platform and author's handle."""
        if not message_ids:
            return []
        rows = self.conn.execute(
            select(
                m.id,
                m.conversation_id,
                m.text,
                m.created_at,
                m.meta,
                t.channels.c.platform,
                t.identities.c.handle,
            )
            .join(t.channels, t.channels.c.id == m.channel_id)
            .outerjoin(t.identities, t.identities.c.id == m.author_identity_id)
            .where(m.id.in_(sorted(message_ids)), *PUBLIC_INBOUND)
            .order_by(m.id)
        )
        return [
            StoredPost(
                message_id=row.id,
                conversation_id=row.conversation_id,
                text=row.text,
                created_at=row.created_at,
                platform=row.platform,
                author_handle=row.handle,
                meta=dict(row.meta or {}),
            )
            for row in rows
        ]

    def add_matches(self, matches: Sequence[tuple[int, int, datetime, bool]]) -> None:
        """(query id, message id, the post's time, negative) rows."""
        if matches:
            self.conn.execute(
                insert(t.listening_matches),
                [
                    {"query_id": q, "message_id": msg, "at": at, "negative": negative}
                    for q, msg, at, negative in matches
                ],
            )

    def set_meta(self, metas: Sequence[tuple[int, dict[str, Any]]]) -> None:
        if metas:
            self.conn.execute(
                update(t.messages).where(m.id == bindparam("_id")).values(meta=bindparam("meta")),
                [{"_id": message_id, "meta": meta} for message_id, meta in metas],
            )

    def conversation_tags(self, conversation_ids: Collection[int]) -> dict[int, list[str]]:
        """The tags of these conversations, in one statement (the repository reads one
        conversation's at a time)."""
        found: dict[int, list[str]] = {}
        if conversation_ids:
            rows = self.conn.execute(
                select(ct.conversation_id, ct.tag).where(
                    ct.conversation_id.in_(sorted(conversation_ids))
                )
            )
            for conversation_id, tag in rows:
                found.setdefault(conversation_id, []).append(tag)
        return found

    def add_conversation_tags(self, pairs: Sequence[tuple[int, str]]) -> None:
        """(conversation id, tag) rows that are not there yet, as one batch."""
        if pairs:
            self.conn.execute(
                insert(t.conversation_tags),
                [{"conversation_id": c, "tag": tag} for c, tag in pairs],
            )

    # -- hourly counts for the spike job ------------------------------------------------------

    def count_posts(self, counts: Sequence[tuple[datetime, str, int, int]]) -> None:
        """Add (hour start, intent, posts, negative posts) to the hourly counts. In key order, so
        two triage workers adding to the same hours wait for each other instead of deadlocking."""
        if not counts:
            return
        table = t.post_hours
        stmt = (sqlite_insert if self.conn.dialect.name == "sqlite" else pg_insert)(table)
        stmt = stmt.on_conflict_do_update(
            index_elements=[table.c.hour, table.c.intent],
            set_={
                "posts": table.c.posts + stmt.excluded.posts,
                "negative": table.c.negative + stmt.excluded.negative,
            },
        )
        self.conn.execute(
            stmt,
            [
                {"hour": hour, "intent": intent, "posts": posts, "negative": negative}
                for hour, intent, posts, negative in sorted(counts)
            ],
        )

    def post_hours(self, since: datetime) -> list[tuple[datetime, str, int, int]]:
        """(hour start, intent, posts, negative posts) of public inbound posts from `since`."""
        ph = t.post_hours.c
        rows = self.conn.execute(
            select(ph.hour, ph.intent, ph.posts, ph.negative).where(ph.hour >= since)
        )
        return [(hour, intent, int(n), int(neg)) for hour, intent, n, neg in rows]

    def match_hours(
        self, query_ids: Collection[int], since: datetime
    ) -> list[tuple[int, datetime, int, int]]:
        """(query id, hour start, matches, negative matches) from `since`."""
        if not query_ids:
            return []
        hour = hour_number(lm.at, self.conn.dialect.name)
        rows = self.conn.execute(
            select(lm.query_id, hour, func.count(), count_if(lm.negative))
            .where(lm.query_id.in_(sorted(query_ids)), lm.at >= since)
            .group_by(lm.query_id, hour)
        )
        return [(q, hour_start(int(h)), int(n), int(neg)) for q, h, n, neg in rows]

    def sample_posts(
        self,
        start: datetime,
        end: datetime,
        *,
        intent: str | None = None,
        query_id: int | None = None,
        negative_first: bool = False,
        limit: int = 5,
    ) -> list[SamplePost]:
        """Posts of `[start, end)`: all public ones, an intent's, or a query's matches; newest
        first (negative ones before the rest when asked)."""
        stmt = (
            select(
                m.id,
                m.conversation_id,
                m.text,
                m.created_at,
                t.identities.c.handle,
                NEGATIVE.label("negative"),
            )
            .outerjoin(t.identities, t.identities.c.id == m.author_identity_id)
            .limit(limit)
        )
        if query_id is not None:
            stmt = stmt.join(
                t.listening_matches, and_(lm.message_id == m.id, lm.query_id == query_id)
            ).where(lm.at >= start, lm.at < end)
        else:
            stmt = stmt.where(*PUBLIC_INBOUND, m.created_at >= start, m.created_at < end)
            if intent is not None:
                stmt = stmt.where(intent == INTENT)
        if negative_first:
            stmt = stmt.order_by(case((NEGATIVE, 0), else_=1))
        rows = self.conn.execute(stmt.order_by(m.created_at.desc(), m.id.desc()))
        return [
            SamplePost(
                message_id=row.id,
                conversation_id=row.conversation_id,
                handle=row.handle,
                text=row.text,
                at=row.created_at,
                negative=bool(row.negative),
            )
            for row in rows
        ]

    # -- alerts ------------------------------------------------------------------------------

    def claim_check(self, now: datetime, every: timedelta) -> bool:
        """Whether the spike job should run now (none ran within `every`); if so the time is
        taken. The row stays locked until the commit, so workers on PostgreSQL take turns."""
        stamp = int(now.timestamp())
        last = self.conn.execute(
            select(cur.last_id).where(cur.name == CHECK_CURSOR).with_for_update()
        ).scalar()
        if last is None:
            self.conn.execute(insert(t.report_cursors).values(name=CHECK_CURSOR, last_id=stamp))
            return True
        if stamp - int(last) < every.total_seconds():
            return False
        self.conn.execute(
            update(t.report_cursors).where(cur.name == CHECK_CURSOR).values(last_id=stamp)
        )
        return True

    def latest_alerts(self) -> list[Alert]:
        """The newest alert of each subject (open or not): what the detector last said of it."""
        newest = select(func.max(al.id)).group_by(al.subject_kind, al.subject)
        rows = self.conn.execute(select(t.alerts).where(al.id.in_(newest.scalar_subquery())))
        return [_alert(row) for row in rows]

    def add_alert(self, alert: Alert) -> None:
        alert.id = self.conn.execute(
            insert(t.alerts).returning(al.id),
            {
                "subject_kind": alert.subject_kind.value,
                "subject": alert.subject,
                "kinds": alert.kinds,
                "summary": alert.summary,
                "details": alert.details,
                "opened_at": alert.opened_at,
                "closed_at": alert.closed_at,
                "state": state_to_json(alert.state),
            },
        ).scalar_one()

    def update_alert(self, alert: Alert) -> None:
        """Its state and when it closed (what an alert says once opened does not change)."""
        self.conn.execute(
            update(t.alerts)
            .where(al.id == alert.id)
            .values(state=state_to_json(alert.state), closed_at=alert.closed_at)
        )


def _query_row(query: SavedQuery) -> dict[str, Any]:
    return {
        "name": query.name,
        "query": query.query,
        "active": query.active,
        "created_at": query.created_at,
        "updated_at": query.updated_at,
        "author_id": query.author_id,
    }
