"""The reporting facts' storage: cursors, what changed since them, a conversation's record, and
the facts written in place of the old ones (docs/metrics.md)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Text, cast, column, delete, func, insert, select, table, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Dialect

from socialdesk.adapters.db import tables as t
from socialdesk.adapters.db.repositories import conversation_from_row
from socialdesk.adapters.db.sql import added_counts
from socialdesk.domain.conversations import Conversation
from socialdesk.domain.reporting import (
    ConversationFact,
    ConversationFacts,
    MessageFact,
    RecordedMessage,
)
from socialdesk.domain.rollups import HISTOGRAMS, MEASURES, Contributions, Cuts

m = t.messages.c
e = t.events.c
rc = t.report_conversations.c
cur = t.report_cursors.c
# Events after which a conversation's facts are computed again: how it ended, whose it is.
LOOKUP_CHUNK = 500
COPY_FROM = 5_000  # rollup rows from which PostgreSQL takes them by COPY (see _copy)
DELTA_TABLE = "report_hours_delta"  # a temporary table: the rows COPY brings
HELD_TABLE = "report_hours_held"  # a temporary table: a rebuild's rows until summed
HELD_BATCH = 50_000  # keys of the held rows summed and added at a time
CHANGES = (
    "conversation_tagged",
    "conversation_closed",
    "conversation_reopened",
    "conversation_assigned",
    "conversation_suppressed",
)


class ReportingStore:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def cursor(self, name: str) -> int:
        """Where the job named `name` stopped; the row stays locked until the commit, so two
        workers on PostgreSQL take turns instead of both doing the same work."""
        locked = select(cur.last_id).where(cur.name == name).with_for_update()
        found = self.conn.execute(locked).scalar()
        if found is None:
            # Two workers starting on a new desk both find no row: the second's insert waits for
            # the first's commit and then does nothing, and both read the row that won.
            dialect = self.conn.dialect.name
            adding = (sqlite_insert if dialect == "sqlite" else postgresql_insert)(t.report_cursors)
            self.conn.execute(
                adding.values(name=name, last_id=0).on_conflict_do_nothing(
                    index_elements=[cur.name]
                )
            )
            found = self.conn.execute(locked).scalar_one()
        return int(found)

    def set_cursor(self, name: str, last_id: int) -> None:
        self.conn.execute(update(t.report_cursors).where(cur.name == name).values(last_id=last_id))

    def changed_by_messages(
        self, after: int, limit: int, unplayed_until: datetime
    ) -> tuple[set[int], int, int]:
        """Conversations with messages after id `after` (up to `limit` of them), the id read up
        to and how many were read. Stops before a customer message the playbook has not seen yet (its triage and
        suppression are not settled), unless it arrived before `unplayed_until`."""
        rows = self.conn.execute(
            select(m.id, m.conversation_id, m.direction, m.playbook.is_(None), m.received_at)
            .where(m.id > after)
            .order_by(m.id)
            .limit(limit)
        ).all()
        changed: set[int] = set()
        last = after
        read = 0
        for row_id, conversation_id, direction, unplayed, received_at in rows:
            if direction == "inbound" and unplayed and received_at >= unplayed_until:
                break
            changed.add(conversation_id)
            last = row_id
            read += 1
        return changed, last, read

    def changed_by_events(self, after: int, limit: int) -> tuple[set[int], int, int]:
        rows = self.conn.execute(
            select(e.id, e.conversation_id, e.type).where(e.id > after).order_by(e.id).limit(limit)
        ).all()
        changed = {c for _, c, kind in rows if c is not None and kind in CHANGES}
        return changed, rows[-1][0] if rows else after, len(rows)

    def ends(self, unplayed_until: datetime) -> tuple[int, int]:
        waiting = self.conn.execute(
            select(func.min(m.id)).where(
                m.direction == "inbound", m.playbook.is_(None), m.received_at >= unplayed_until
            )
        ).scalar()
        last_message = (
            waiting - 1
            if waiting is not None
            else self.conn.execute(select(func.coalesce(func.max(m.id), 0))).scalar_one()
        )
        last_event = self.conn.execute(select(func.coalesce(func.max(e.id), 0))).scalar_one()
        return int(last_message), int(last_event)

    def clear(self) -> None:
        for cleared in (t.report_messages, t.report_conversations, t.report_hours):
            self.conn.execute(delete(cleared))

    def conversation_count(self) -> int:
        return int(
            self.conn.execute(select(func.count()).select_from(t.conversations)).scalar_one()
        )

    def conversation_ids(self, after: int, limit: int) -> list[int]:
        c = t.conversations.c
        return list(
            self.conn.execute(
                select(c.id).where(c.id > after).order_by(c.id).limit(limit)
            ).scalars()
        )

    def conversations(self, conversation_ids: Collection[int]) -> dict[int, Conversation]:
        """The conversations with their tags, read without locking them (agents work on them
        while the job reports)."""
        ids = sorted(conversation_ids)
        found: dict[int, Conversation] = {}
        tags: dict[int, list[str]] = {}
        ct = t.conversation_tags.c
        for start in range(0, len(ids), LOOKUP_CHUNK):
            chunk = ids[start : start + LOOKUP_CHUNK]
            for row in self.conn.execute(
                select(t.conversation_tags).where(ct.conversation_id.in_(chunk))
            ):
                tags.setdefault(row.conversation_id, []).append(row.tag)
            for row in self.conn.execute(
                select(t.conversations).where(t.conversations.c.id.in_(chunk))
            ):
                found[row.id] = conversation_from_row(row, sorted(tags.get(row.id, [])))
        return found

    def records(self, conversation_ids: Collection[int]) -> dict[int, list[RecordedMessage]]:
        """The customer messages and brand messages (not notes) of each conversation."""
        found: dict[int, list[RecordedMessage]] = {c: [] for c in conversation_ids}
        if not found:
            return found
        rows = self.conn.execute(
            select(
                m.conversation_id,
                m.id,
                m.created_at,
                m.direction,
                m.author_agent_id,
                m.triage["sentiment"].as_string(),
                m.triage["needs_response"].as_boolean(),
                m.meta["auto_ack"].as_string(),
                m.meta["survey"].as_string(),
                m.meta["survey_answer"].as_string(),
            ).where(m.conversation_id.in_(list(found)), m.direction.in_(("inbound", "outbound")))
        )
        for row in rows:
            conversation_id, row_id, at, direction, agent_id, sentiment, needs = row[:7]
            ack, survey, answer = row[7:]
            found[conversation_id].append(
                RecordedMessage(
                    id=row_id,
                    at=at,
                    direction=direction,
                    agent_id=agent_id,
                    sentiment=sentiment,
                    # A survey answer needs nothing; a survey question answers nobody.
                    needs_response=bool(needs) and answer is None,
                    auto_ack=ack is not None or survey is not None,
                )
            )
        return found

    def replace(
        self, facts: Sequence[tuple[ConversationFacts, Sequence[MessageFact], ConversationFact]]
    ) -> None:
        """Each conversation's facts, in place of those written before (one statement each)."""
        if not facts:
            return
        ids = [conversation.id for conversation, _, _ in facts]
        rm = t.report_messages.c
        self.conn.execute(delete(t.report_messages).where(rm.conversation_id.in_(ids)))
        self.conn.execute(delete(t.report_conversations).where(rc.conversation_id.in_(ids)))
        message_rows = [
            {
                **_dimensions(conversation),
                "message_id": f.message_id,
                "at": f.at,
                "direction": f.direction,
                "agent_id": conversation.assignee_id if f.direction == "inbound" else f.agent_id,
                "sentiment": f.sentiment,
                "needs_response": f.needs_response,
                "suppressed": conversation.suppressed and f.direction == "inbound",
                "engaged": f.engaged,
                "auto_ack": f.auto_ack,
                "responded_at": f.responded_at,
                "response_kind": f.response_kind,
                "response_seconds": f.response_seconds,
                "response_business_seconds": f.response_business_seconds,
                "sla_met": f.sla_met,
            }
            for conversation, messages, _ in facts
            for f in messages
        ]
        if message_rows:
            self.conn.execute(insert(t.report_messages), message_rows)
        self.conn.execute(
            insert(t.report_conversations),
            [
                {
                    **_dimensions(conversation),
                    "agent_id": conversation.assignee_id,
                    "opened_at": whole.opened_at,
                    "engaged_at": whole.engaged_at,
                    "sentiment_before": whole.sentiment_before,
                    "sentiment_after": whole.sentiment_after,
                    "closed_at": whole.closed_at,
                    "resolution_seconds": whole.resolution_seconds,
                    "resolution_business_seconds": whole.resolution_business_seconds,
                    "suppressed": conversation.suppressed,
                    "tags": list(conversation.tags),
                }
                for conversation, _, whole in facts
            ],
        )

    def previous(
        self, conversation_ids: Collection[int]
    ) -> dict[int, tuple[Cuts, list[MessageFact], ConversationFact]]:
        ids = list(conversation_ids)
        if not ids:
            return {}
        rm = t.report_messages.c
        found: dict[int, tuple[Cuts, list[MessageFact], ConversationFact]] = {}
        for row in self.conn.execute(
            select(t.report_conversations).where(rc.conversation_id.in_(ids))
        ):
            cuts = Cuts(
                platform=row.platform,
                channel_id=row.channel_id,
                team_id=row.team_id,
                assignee_id=row.agent_id,
                intent=row.intent,
                suppressed=row.suppressed,
                tags=tuple(row.tags),
            )
            whole = ConversationFact(
                opened_at=row.opened_at,
                engaged_at=row.engaged_at,
                sentiment_before=row.sentiment_before,
                sentiment_after=row.sentiment_after,
                closed_at=row.closed_at,
                resolution_seconds=row.resolution_seconds,
                resolution_business_seconds=row.resolution_business_seconds,
            )
            found[row.conversation_id] = (cuts, [], whole)
        for row in self.conn.execute(
            select(t.report_messages).where(rm.conversation_id.in_(list(found)))
        ):
            found[row.conversation_id][1].append(
                MessageFact(
                    message_id=row.message_id,
                    at=row.at,
                    direction=row.direction,
                    agent_id=row.agent_id,
                    sentiment=row.sentiment,
                    needs_response=row.needs_response,
                    engaged=row.engaged,
                    auto_ack=row.auto_ack,
                    responded_at=row.responded_at,
                    response_kind=row.response_kind,
                    response_seconds=row.response_seconds,
                    response_business_seconds=row.response_business_seconds,
                    sla_met=row.sla_met,
                )
            )
        return found

    def add_to_rollups(self, delta: Contributions) -> None:
        """Add each row's changes in one upsert: counters and histograms are added to by the
        database (inserting the rows not there yet), so nothing is read first. The rows go to
        the driver as they are (a rebuild writes millions), the histograms as JSON text."""
        if not delta:
            return
        sql = _adding(self.conn.dialect)[0]
        sqlite = self.conn.dialect.name == "sqlite"
        bulk = not sqlite and len(delta) >= COPY_FROM
        rows = self._rollup_rows(delta, as_tuples=sqlite or bulk)
        if bulk:
            self._add_copied(rows)
        else:
            self.conn.exec_driver_sql(sql, rows)

    def _add_copied(self, rows: list[Any]) -> None:
        """PostgreSQL: the upsert of many rows (tuples in `_adding`'s order), brought by COPY."""
        names = _adding(self.conn.dialect)[1]
        self._copy(DELTA_TABLE, names, rows, delete_on_commit=True)
        self.conn.exec_driver_sql(_adding_from_copy(self.conn.dialect, tuple(names)))
        self.conn.exec_driver_sql(f"TRUNCATE {DELTA_TABLE}")

    def hold_for_rollups(self, delta: Contributions) -> None:
        """PostgreSQL appends the rows to a temporary table (COPY) and `add_held_rollups` sums
        them into the rollups once: adding each of a rebuild's flushes to the rows earlier ones
        wrote rewrote them (and their index entries) once per flush, about half of a rebuild at
        a million conversations. SQLite adds them at once."""
        if self.conn.dialect.name == "sqlite":
            self.add_to_rollups(delta)
        elif delta:
            names = _adding(self.conn.dialect)[1]
            rows = self._rollup_rows(delta, as_tuples=True)
            self._copy(HELD_TABLE, names, rows, delete_on_commit=False)

    def add_held_rollups(self) -> None:
        """PostgreSQL groups the held rows by key (counters summed, each histogram's JSON texts
        listed) and the histograms of a key held by several flushes are merged here, a batch of
        keys at a time, then upserted like any other rows. Merged in SQL, every key cost calls of
        set-returning functions whose memory PostgreSQL keeps until the statement ends (about
        9 KB a key): a rebuild of a million conversations ran out of 24 GB."""
        if self.conn.dialect.name == "sqlite":
            return
        self._temporary(HELD_TABLE, delete_on_commit=False)  # for a rebuild that held nothing
        names = _adding(self.conn.dialect)[1]
        histograms = [i for i, name in enumerate(names) if name.startswith("hist_")]
        grouped = self.conn.exec_driver_sql(
            _grouping_held(self.conn.dialect, tuple(names)),
            execution_options={"stream_results": True},
        )
        for batch in grouped.partitions(HELD_BATCH):
            rows = [list(row) for row in batch]
            for row in rows:
                for i in histograms:
                    row[i] = _summed_histogram(row[i])
            self._add_copied(rows)
        self.conn.exec_driver_sql(f"DROP TABLE {HELD_TABLE}")

    def _rollup_rows(self, delta: Contributions, *, as_tuples: bool) -> list[Any]:
        """The rows for `_adding`'s statement, as tuples in its order or as parameters."""
        _, names, bind_hour = _adding(self.conn.dialect)
        rows: list[Any] = []
        for key, change in delta.items():
            values: dict[str, Any] = dict.fromkeys(MEASURES, 0)
            histograms: dict[str, dict[str, int]] = {}
            for name, n in change.items():
                histogram, _, bucket = name.partition(":")
                if bucket:
                    histograms.setdefault(histogram, {})[bucket] = n
                else:
                    values[name] = n
            for name in HISTOGRAMS:
                found = histograms.get(name)
                values[f"hist_{name}"] = json.dumps(found) if found else "{}"
            values["key"] = key.text
            values["hour"] = bind_hour(key.hour)
            values["dimension"] = key.dimension
            values["value"] = key.value
            values["platform"] = key.platform
            values["span"] = key.span
            rows.append(tuple(values[n] for n in names) if as_tuples else values)
        return rows

    def _copy(
        self, into: str, names: list[str], rows: list[Any], *, delete_on_commit: bool
    ) -> None:
        """PostgreSQL: the rows by COPY into a temporary table like the rollups'. As one
        executed statement per row, a rebuild's rows took two thirds of its time (141 of 216 s
        at 100,000 conversations)."""
        self._temporary(into, delete_on_commit=delete_on_commit)
        raw: Any = self.conn.connection.dbapi_connection  # psycopg's, for its COPY
        with (
            raw.cursor() as cursor,
            cursor.copy(f"COPY {into} ({', '.join(names)}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)

    def _temporary(self, name: str, *, delete_on_commit: bool) -> None:
        """PostgreSQL: the temporary table like the rollups' that COPY fills, made if need be."""
        emptied = " ON COMMIT DELETE ROWS" if delete_on_commit else ""
        self.conn.exec_driver_sql(
            f"CREATE TEMP TABLE IF NOT EXISTS {name} (LIKE report_hours){emptied}"
        )


@cache
def _adding(dialect: Dialect) -> tuple[str, list[str], Callable[[datetime], Any]]:
    """The rollups' upsert as the driver takes it, its parameters in order, and the hour
    column's own conversion for the driver (SQLite keeps naive UTC text, which the reads
    compare with), since the rows skip SQLAlchemy's binding."""
    adding = (sqlite_insert if dialect.name == "sqlite" else postgresql_insert)(t.report_hours)
    compiled = _adding_up(adding, dialect).compile(dialect=dialect)
    rh = t.report_hours.c
    bind_hour = rh.hour.type.dialect_impl(dialect).bind_processor(dialect) or (lambda hour: hour)
    return str(compiled), list(compiled.positiontup or compiled.params), bind_hour


@cache
def _adding_from_copy(dialect: Dialect, names: tuple[str, ...]) -> str:
    """The same upsert, from the rows COPY put in the temporary table."""
    copied = table(DELTA_TABLE, *(column(name) for name in names))
    adding = postgresql_insert(t.report_hours).from_select(list(names), select(copied))
    return str(_adding_up(adding, dialect).compile(dialect=dialect))


@cache
def _grouping_held(dialect: Dialect, names: tuple[str, ...]) -> str:
    """The held rows by key, in `_adding`'s order: counters summed, histograms as the list of
    their JSON texts (for `_summed_histogram`)."""
    held = table(HELD_TABLE, *(column(name) for name in names))
    keys = [held.c[name] for name in names if name not in MEASURES and not name.startswith("hist_")]
    summed = {name: func.sum(held.c[name]) for name in MEASURES}
    listed = {f"hist_{h}": func.array_agg(cast(held.c[f"hist_{h}"], Text)) for h in HISTOGRAMS}
    by_name = {**{k.name: k for k in keys}, **summed, **listed}
    grouped = select(*(by_name[name] for name in names)).group_by(*keys)
    return str(grouped.compile(dialect=dialect))


def _summed_histogram(texts: list[str]) -> str:
    """One key's histogram from the JSON objects of counts its flushes held, summed bucket by
    bucket; most keys were held once and pass as they are."""
    if len(texts) == 1:
        return texts[0]
    total: Counter[str] = Counter()
    for held in texts:
        total.update(json.loads(held))
    return json.dumps(total)


def _adding_up(adding: Any, dialect: Dialect) -> Any:
    """An insert into the rollups that adds to the rows already there."""
    rh = t.report_hours.c
    return adding.on_conflict_do_update(
        index_elements=[rh.key],
        set_={
            **{m: getattr(rh, m) + getattr(adding.excluded, m) for m in MEASURES},
            **{
                f"hist_{name}": added_counts("report_hours", f"hist_{name}", dialect.name)
                for name in HISTOGRAMS
            },
        },
    )


def _dimensions(conversation: ConversationFacts) -> dict[str, Any]:
    return {
        "conversation_id": conversation.id,
        "platform": conversation.platform,
        "channel_id": conversation.channel_id,
        "team_id": conversation.team_id,
        "intent": conversation.intent,
    }
