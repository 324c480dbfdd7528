"""The unified queue: filter, sort and page conversations with keyset cursors (never OFFSET).

A page's cost does not grow with its number or size: for each status asked for, up to three index
range scans for the keyset phases (the rest of the cursor's tie group, the rows strictly after it,
then the rows whose sort key is empty), then one statement for the page's rows and one for their
tags (a tag filter or a search may read its matches first). Each phase is a plain range on one of
the queue indexes in `adapters/db/tables.py`, so page 1,000 costs what page 1 costs.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from functools import partial
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    ColumnElement,
    Integer,
    MetaData,
    Select,
    Table,
    and_,
    cast,
    exists,
    func,
    literal,
    literal_column,
    select,
    true,
)
from sqlalchemy.engine import Connection, Row

from socialdesk.adapters.db import tables as t
from socialdesk.adapters.db.sql import among, id_list, in_bitmap, packed_ids
from socialdesk.domain.conversations import Status
from socialdesk.domain.errors import InvalidInput
from socialdesk.queries.search import (
    conversation_matches,
    estimated_matches,
    matching_conversations,
    sqlite_matches,
)

c = t.conversations.c
MAX_LIMIT = 100
COMMON_TAG = 2000  # tagged conversations from which a tag filter walks the queue's index
# matches from which a search walks the queue's index (see _text_match): messages on SQLite,
# conversations on PostgreSQL
COMMON_MATCH = {"sqlite": 20_000, "postgresql": 5000}
DRIVE_FROM_LIST = 1_000  # SQLite: fewer matching conversations in a status are read by id
PROBE_WINDOW = 200  # conversations a common word's walk checks one by one first
PROBE_FURTHER = 1_200  # SQLite: most conversations checked so in all when the first were thin
# PostgreSQL: further conversations checked so per conversation of the word. A check costs
# about 3 µs, gathering about 1 µs a matching conversation: at a million conversations 0.1 gave
# the lowest slowest words (0.4: 144 ms over all statuses, 0.1: 117; the open queue 99 and 79).
PROBES_PER_MATCH = 0.1
STATUSES = frozenset(s.value for s in Status)
SENTIMENTS = ("negative", "neutral", "positive")


class Sort(StrEnum):
    PRIORITY = "priority"  # most urgent first
    AGE = "age"  # longest-waiting customer first
    SLA_DUE = "sla_due"  # soonest response due first
    RECENT = "recent"  # latest activity first


@dataclass(frozen=True, slots=True)
class _SortSpec:
    column: Column[Any]
    descending: bool
    nullable: bool
    id_descending: bool


_SORTS = {
    Sort.PRIORITY: _SortSpec(c.priority, descending=True, nullable=False, id_descending=False),
    Sort.AGE: _SortSpec(c.waiting_since, descending=False, nullable=True, id_descending=False),
    Sort.SLA_DUE: _SortSpec(c.sla_due_at, descending=False, nullable=True, id_descending=False),
    Sort.RECENT: _SortSpec(c.last_message_at, descending=True, nullable=True, id_descending=True),
}


@dataclass(frozen=True, slots=True)
class InboxFilter:
    statuses: tuple[str, ...] = ("open",)
    platform: str | None = None
    channel_id: int | None = None
    team_id: int | None = None
    no_team: bool = False
    assignee_id: int | None = None
    unassigned: bool = False
    priority_min: int | None = None
    priority_max: int | None = None
    sentiment: str | None = None
    intent: str | None = None
    language: str | None = None
    tag: str | None = None
    text: str | None = None
    team_ids: tuple[int, ...] = ()  # any of these teams (an agent's "my teams")
    sla_states: tuple[str, ...] = ()  # warning, breached


@dataclass(frozen=True, slots=True)
class ChannelRef:
    id: int
    name: str
    platform: str


@dataclass(frozen=True, slots=True)
class CustomerRef:
    id: int
    name: str | None
    handle: str | None
    followers: int | None
    verified: bool


@dataclass(frozen=True, slots=True)
class AgentRef:
    id: int
    name: str


@dataclass(frozen=True, slots=True)
class TeamRef:
    id: int
    name: str


@dataclass(frozen=True, slots=True)
class ConversationSummary:
    """One row of the queue: enough to decide what to open next, nothing more."""

    id: int
    status: str
    platform: str
    visibility: str
    channel: ChannelRef
    customer: CustomerRef
    priority: int
    priority_factors: list[dict[str, Any]]
    sentiment: str | None
    intent: str | None
    language: str | None
    team: TeamRef | None
    assignee: AgentRef | None
    tags: list[str]
    subject: str | None
    preview: str
    message_count: int
    created_at: datetime
    updated_at: datetime
    last_message_at: datetime | None
    waiting_since: datetime | None
    first_response_at: datetime | None
    sla_due_at: datetime | None
    snoozed_until: datetime | None
    closed_at: datetime | None
    close_reason: str | None
    sla: SlaView
    suppressed_reason: str | None
    private_mode: str | None


@dataclass(frozen=True, slots=True)
class SlaView:
    """The conversation's SLA: its policy, each due time and the state (ok, warning, breached)."""

    policy_id: int | None
    state: str | None
    first_response_due_at: datetime | None
    next_response_due_at: datetime | None
    resolution_due_at: datetime | None


@dataclass(frozen=True, slots=True)
class InboxPage:
    items: list[ConversationSummary]
    next_cursor: str | None
    sort: str
    limit: int
    filters: dict[str, Any] = field(default_factory=dict)


def summary_select() -> Select[Any]:
    """Conversations with their channel, customer identity, team and assignee, in one statement."""
    return (
        select(
            t.conversations,
            t.channels.c.name.label("channel_name"),
            t.customers.c.name.label("customer_name"),
            t.identities.c.handle.label("customer_handle"),
            t.identities.c.followers.label("customer_followers"),
            t.identities.c.verified.label("customer_verified"),
            t.teams.c.name.label("team_name"),
            t.agents.c.username.label("assignee_username"),
            t.agents.c.display_name.label("assignee_display_name"),
        )
        .join(t.channels, t.channels.c.id == c.channel_id)
        .join(t.customers, t.customers.c.id == c.customer_id)
        .outerjoin(t.identities, t.identities.c.id == c.identity_id)
        .outerjoin(t.teams, t.teams.c.id == c.team_id)
        .outerjoin(t.agents, t.agents.c.id == c.assignee_id)
    )


def summary_from_row(row: Row[Any], tags: list[str]) -> ConversationSummary:
    return ConversationSummary(
        id=row.id,
        status=row.status,
        platform=row.platform,
        visibility=row.visibility,
        channel=ChannelRef(row.channel_id, row.channel_name, row.platform),
        customer=CustomerRef(
            row.customer_id,
            row.customer_name,
            row.customer_handle,
            row.customer_followers,
            bool(row.customer_verified),
        ),
        priority=row.priority,
        priority_factors=list(row.priority_factors or []),
        sentiment=row.sentiment,
        intent=row.intent,
        language=row.language,
        team=TeamRef(row.team_id, row.team_name) if row.team_id is not None else None,
        assignee=AgentRef(row.assignee_id, row.assignee_display_name or row.assignee_username)
        if row.assignee_id is not None
        else None,
        tags=tags,
        subject=row.subject,
        preview=row.preview,
        message_count=row.message_count,
        created_at=row.created_at,
        updated_at=row.updated_at,
        last_message_at=row.last_message_at,
        waiting_since=row.waiting_since,
        first_response_at=row.first_response_at,
        sla_due_at=row.sla_due_at,
        snoozed_until=row.snoozed_until,
        closed_at=row.closed_at,
        close_reason=row.close_reason,
        sla=SlaView(
            policy_id=row.sla_policy_id,
            state=row.sla_state,
            first_response_due_at=row.first_response_due_at,
            next_response_due_at=row.next_response_due_at,
            resolution_due_at=row.resolution_due_at,
        ),
        suppressed_reason=row.suppressed_reason,
        private_mode=row.private_mode,
    )


def tags_for(conn: Connection, conversation_ids: list[int]) -> dict[int, list[str]]:
    if not conversation_ids:
        return {}
    ct = t.conversation_tags.c
    rows = conn.execute(
        select(ct.conversation_id, ct.tag)
        .where(ct.conversation_id.in_(conversation_ids))
        .order_by(ct.conversation_id, ct.tag)
    )
    found: dict[int, list[str]] = {}
    for conversation_id, tag in rows:
        found.setdefault(conversation_id, []).append(tag)
    return found


def get_summary(conn: Connection, conversation_id: int) -> ConversationSummary | None:
    row = conn.execute(summary_select().where(c.id == conversation_id)).first()
    if row is None:
        return None
    return summary_from_row(row, tags_for(conn, [conversation_id]).get(conversation_id, []))


def _tag_condition(conn: Connection, tag: str) -> ColumnElement[bool]:
    """A common tag is probed row by row along the queue's index (EXISTS stops at the first page);
    a rare one is better read from the tag index and sorted (IN): which one, the tag index says
    by counting at most COMMON_TAG rows."""
    ct = t.conversation_tags.c
    sample = select(ct.conversation_id).where(ct.tag == tag).limit(COMMON_TAG).subquery()
    common = conn.execute(select(func.count()).select_from(sample)).scalar_one() >= COMMON_TAG
    if common:
        return exists().where(ct.conversation_id == c.id, ct.tag == tag)
    return c.id.in_(select(ct.conversation_id).where(ct.tag == tag))


def _conditions(f: InboxFilter, conn: Connection) -> list[ColumnElement[bool]]:
    """Every condition of the filter but its statuses and text (list_inbox reads one status at a
    time, and a search can differ by status)."""
    where: list[ColumnElement[bool]] = []
    if f.platform:
        where.append(c.platform == f.platform)
    if f.channel_id is not None:
        where.append(c.channel_id == f.channel_id)
    if f.no_team:
        where.append(c.team_id.is_(None))
    elif f.team_id is not None:
        where.append(c.team_id == f.team_id)
    if f.team_ids:
        where.append(c.team_id.in_(f.team_ids))
    if f.sla_states:
        where.append(c.sla_state.in_(f.sla_states))
    if f.unassigned:
        where.append(c.assignee_id.is_(None))
    elif f.assignee_id is not None:
        where.append(c.assignee_id == f.assignee_id)
    if f.priority_min is not None:
        where.append(c.priority >= f.priority_min)
    if f.priority_max is not None:
        where.append(c.priority <= f.priority_max)
    if f.sentiment:
        where.append(c.sentiment == f.sentiment)
    if f.intent:
        where.append(c.intent == f.intent)
    if f.language:
        where.append(c.language == f.language)
    if f.tag:
        where.append(_tag_condition(conn, f.tag.strip().lower()))
    return where


def _text_match(conn: Connection, text: str) -> _TextMatch:
    """Conversations with a message containing the words. A rare word (under COMMON_MATCH
    matches) is read once as its conversations' ids; a common one is checked conversation by
    conversation along each status's queue index, stopping at the page's end instead of
    sorting every match: first up to PROBE_WINDOW conversations one by one (a word in a tenth
    of the messages fills a page within 150), then, for a word thin in that part of the queue,
    against the word's conversations, gathered once per search (_Gathered): at a million
    conversations one word walked 138,000 conversations to fill its page, 1.4 s on SQLite and
    1.6 s on PostgreSQL checked one by one.

    PostgreSQL reads a rare word's ids in the statement that counts them. SQLite's full-text
    index names each match's conversation (search.py), so a rare word's matches are read with
    their status and only the statuses that have any are walked."""
    dialect = conn.dialect.name
    common = COMMON_MATCH[dialect]
    if dialect == "sqlite":
        sample = sqlite_matches(text).limit(common).subquery()
        if conn.execute(select(func.count()).select_from(sample)).scalar_one() >= common:
            return _common_word(conn, text, PROBE_FURTHER)
        by_status: dict[str, list[int]] = {}
        hits = select(c.id, c.status).where(c.id.in_(matching_conversations(text, dialect)))
        for conversation_id, status in conn.execute(hits):
            by_status.setdefault(status, []).append(conversation_id)
        return _TextMatch(by_status=by_status)
    # The planner's estimate (about 1 ms) spares a common word the count (20 ms at a million);
    # a rare one is counted, up to COMMON_MATCH, as statistics may not know a new word yet.
    estimate = estimated_matches(conn, text)
    if estimate < common:
        sample = matching_conversations(text, dialect).limit(common).subquery()
        found, ids = conn.execute(select(func.count(), id_list(sample.c.conversation_id))).one()
        if found < common:
            return _TextMatch(among(c.id, ids or ""))
    return _common_word(conn, text, round(max(estimate, common) * PROBES_PER_MATCH))


def _common_word(conn: Connection, text: str, further: int) -> _TextMatch:
    probe = partial(conversation_matches, text, dialect=conn.dialect.name)
    return _TextMatch(probe=probe, gathered=_Gathered(conn, text, further))


SEARCH_HITS = Table(
    "search_hits", MetaData(), Column("id", Integer, primary_key=True), prefixes=["TEMPORARY"]
)


class _Gathered:
    """A common word's conversations, gathered the first time a walk needs them and kept for
    every later walk and phase of the search. SQLite puts them in a temporary table (the
    connection's own, undone with its transaction; as a subquery each statement gathered them
    again); PostgreSQL reads them as one binary value and checks each walked row against a
    bitmap of them sent as a parameter (`in_bitmap`), since a read replica takes no temporary
    table."""

    def __init__(self, conn: Connection, text: str, further: int) -> None:
        self.conn = conn
        self.text = text
        # How many conversations a walk may check one by one, once the first were thin,
        # before gathering costs less: SQLite gathers fast (under 1 µs a match); PostgreSQL
        # reads a row for each matching conversation (about 1 µs), and a word in 45,000
        # conversations is worth checking 4,500 for (PROBES_PER_MATCH).
        self.further = further
        self._condition: ColumnElement[bool] | None = None

    @property
    def filled(self) -> bool:
        return self._condition is not None

    def condition(self) -> ColumnElement[bool]:
        if self._condition is None:
            self._condition = self._gather()
        return self._condition

    def _gather(self) -> ColumnElement[bool]:
        dialect = self.conn.dialect.name
        hits = matching_conversations(self.text, dialect)
        if dialect != "sqlite":
            packed = select(packed_ids(hits.subquery().c.conversation_id))
            return in_bitmap(c.id, self.conn.execute(packed).scalar())
        self.conn.exec_driver_sql(
            "CREATE TEMP TABLE IF NOT EXISTS search_hits (id INTEGER PRIMARY KEY)"
        )
        self.conn.execute(SEARCH_HITS.delete())
        self.conn.execute(SEARCH_HITS.insert().prefix_with("OR IGNORE").from_select(["id"], hits))
        # `+ 0`: walk the queue's index and look each id up in the table, not the reverse.
        return (c.id + 0).in_(select(SEARCH_HITS.c.id))


@dataclass(frozen=True, slots=True)
class _TextMatch:
    """Which conversations of a status a search keeps: `everywhere`, the same condition for
    every status, the matching conversations' ids by status, read once (SQLite), or for a
    common word `probe`, a check of one conversation, that a walk tries before `gathered`."""

    everywhere: ColumnElement[bool] | None = None
    by_status: dict[str, list[int]] = field(default_factory=dict)
    probe: Callable[[ColumnElement[Any]], ColumnElement[bool]] | None = None
    gathered: _Gathered | None = None

    def condition(self, status: str) -> ColumnElement[bool] | None:
        """None: no conversation of this status matches, so it is not walked at all."""
        if self.everywhere is not None or self.probe is not None:
            return self.everywhere
        ids = self.by_status.get(status)
        if not ids:
            return None
        if len(ids) < DRIVE_FROM_LIST:
            return c.id.in_(ids)
        # `+ 0` keeps SQLite from starting at the list and sorting it: it walks the queue's
        # index and checks each conversation against the list, put once in a temporary index.
        listed: Select[Any] = select(literal_column("value")).select_from(
            func.json_each(json.dumps(ids))
        )
        return (c.id + 0).in_(listed)


def parse_statuses(raw: str) -> tuple[str, ...]:
    """'all' (no status filter) or a comma-separated list of statuses."""
    if raw.strip().lower() == "all":
        return ()
    wanted = tuple(dict.fromkeys(s.strip().lower() for s in raw.split(",") if s.strip()))
    unknown = [s for s in wanted if s not in STATUSES]
    if unknown or not wanted:
        raise InvalidInput(
            f"status must be 'all' or a comma-separated list of {', '.join(sorted(STATUSES))}",
            field="status",
        )
    return wanted


def encode_cursor(sort: Sort, key: Any, row_id: int) -> str:
    if isinstance(key, datetime):
        key = key.isoformat()
    raw = json.dumps([sort.value, key, row_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, sort: Sort) -> tuple[Any, int]:
    """The (sort key, id) a cursor points after; InvalidInput when it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        name, key, row_id = json.loads(raw)
        if name != sort.value or not isinstance(row_id, int):
            raise ValueError
        spec = _SORTS[sort]
        if key is not None and spec.nullable:
            key = datetime.fromisoformat(key)
        elif (key is None and not spec.nullable) or (key is not None and not isinstance(key, int)):
            raise ValueError
    except (ValueError, TypeError, binascii.Error, json.JSONDecodeError) as exc:
        raise InvalidInput(
            "cursor is not valid for this sort; request the first page without a cursor",
            field="cursor",
        ) from exc
    return key, row_id


def list_inbox(
    conn: Connection,
    f: InboxFilter,
    *,
    sort: Sort = Sort.PRIORITY,
    cursor: str | None = None,
    limit: int = 25,
) -> InboxPage:
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}", field="limit")
    spec = _SORTS[sort]
    after = decode_cursor(cursor, sort) if cursor else None
    # The page's ids first, from conversations alone (an index walk, or a sort of the matching
    # ids for a search), then its rows with their joins: joining before the sort made a search
    # join every matching conversation's channel, customer, team and agent. Every queue index
    # starts with the status, so each status is walked on its own and the walks merged: with
    # several statuses (or all) one query had no index in its order and sorted every match.
    where = _conditions(f, conn)
    text = _text_match(conn, f.text) if f.text else _TextMatch(true())
    keys: list[Row[Any]] = []
    for status in f.statuses or sorted(STATUSES):
        keys = _merged(keys, spec)[: limit + 1]
        bound = _within(keys, spec, limit + 1)
        base = select(c.id, spec.column).where(c.status == status, *where, *bound)
        if text.probe is not None and text.gathered is not None:
            walked = _probing_walk(conn, base, text.probe, text.gathered, spec, after, limit + 1)
            keys.extend(walked)
        elif (matching := text.condition(status)) is not None:
            keys.extend(_walk(conn, base.where(matching), spec, after, limit + 1))
    keys = _merged(keys, spec)[: limit + 1]
    more = len(keys) > limit
    keys = keys[:limit]
    ids = [k.id for k in keys]
    found = {r.id: r for r in conn.execute(summary_select().where(c.id.in_(ids)))} if ids else {}
    tags = tags_for(conn, ids)
    items = [summary_from_row(found[i], tags.get(i, [])) for i in ids if i in found]
    next_cursor = None
    if more and keys:
        last = keys[-1]
        next_cursor = encode_cursor(sort, getattr(last, spec.column.key), last.id)
    return InboxPage(items=items, next_cursor=next_cursor, sort=sort.value, limit=limit)


def _walk(
    conn: Connection, base: Select[Any], spec: _SortSpec, after: tuple[Any, int] | None, wanted: int
) -> list[Row[Any]]:
    """Up to `wanted` (id, sort key) rows of `base` in the sort's order after the cursor."""
    keys: list[Row[Any]] = []
    for phase in _phases(spec, after):
        if len(keys) >= wanted:
            break
        query = base.where(*phase.where).order_by(*phase.order).limit(wanted - len(keys))
        keys.extend(conn.execute(query))
    return keys


def _probing_walk(
    conn: Connection,
    base: Select[Any],
    probe: Callable[[ColumnElement[Any]], ColumnElement[bool]],
    gathered: _Gathered,
    spec: _SortSpec,
    after: tuple[Any, int] | None,
    wanted: int,
) -> list[Row[Any]]:
    """`_walk` of the rows of `base` whose conversation has the word. The first PROBE_WINDOW
    rows are checked one at a time (`probe`), in order, until `wanted` pass; while the share
    that passed (none: the word is thin here) says the page fills within the rows `gathered`
    allows checking in all, the next rows are checked the same way; otherwise the walk goes on
    against the word's conversations (`gathered`, costly for a word in many conversations, then
    used by the search's further walks; see _text_match)."""
    if gathered.filled:  # an earlier walk of this search gathered them: no need to check
        return _walk(conn, base.where(gathered.condition()), spec, after, wanted)
    keys: list[Row[Any]] = []
    checked = 0
    size = PROBE_WINDOW
    while True:
        window = _walk(conn, base, spec, after, size)
        keys += _passing(conn, probe, window, wanted - len(keys))
        checked += len(window)
        if len(keys) >= wanted or len(window) < size:
            return keys
        last = window[-1]
        after = (getattr(last, spec.column.key), last.id)
        # Half again what the share so far predicts, so a page is seldom one row short. None
        # passed: gathering costs less than looking on (on PostgreSQL, looking four times as
        # far first cost the slowest word 105 ms against 75 at a million conversations).
        missing = wanted - len(keys)
        size = math.ceil(1.5 * missing * checked / len(keys)) if keys else 0
        if not 0 < size <= gathered.further - checked:
            return keys + _walk(conn, base.where(gathered.condition()), spec, after, missing)


def _passing(
    conn: Connection,
    probe: Callable[[ColumnElement[Any]], ColumnElement[bool]],
    window: list[Row[Any]],
    wanted: int,
) -> list[Row[Any]]:
    """The first `wanted` rows of the window whose conversation passes `probe`, in order."""
    if not window:
        return []
    ids = [row.id for row in window]
    value: ColumnElement[Any] = literal_column("value")
    # Both give the ids in the walk's order, so the LIMIT stops at the page's end.
    if conn.dialect.name == "sqlite":
        listed = func.json_each(json.dumps(ids))
    else:
        listed, value = func.json_array_elements_text(literal(ids, JSON)), cast(value, BigInteger)
    checked = select(value).select_from(listed).where(probe(value)).limit(wanted)
    passed = set(conn.execute(checked).scalars())
    return [row for row in window if row.id in passed][:wanted]


def _within(keys: list[Row[Any]], spec: _SortSpec, wanted: int) -> list[ColumnElement[bool]]:
    """Once the walks so far have `wanted` rows (merged), a further status's rows matter only
    up to the last one's sort key: a bound that keeps a walk short where the word or filter
    is thin in that status (a common word absent from the top of the snoozed queue had to
    gather all its conversations to learn that none came before the page's end)."""
    if len(keys) < wanted:
        return []
    cut = keys[wanted - 1]._mapping[spec.column.key]
    if cut is None:  # empty keys come last, in id order: no bound on the key
        return []
    return [spec.column >= cut if spec.descending else spec.column <= cut]


def _merged(keys: list[Row[Any]], spec: _SortSpec) -> list[Row[Any]]:
    """Rows of several walks in the order one walk gives: by key (empty keys last), then id.
    Python's sort is stable, also in reverse, so sorting by id and then by key keeps ties in
    id order."""
    key = spec.column.key
    by_id = sorted(keys, key=lambda row: row.id, reverse=spec.id_descending)
    valued = [row for row in by_id if row._mapping[key] is not None]
    valued.sort(key=lambda row: row._mapping[key], reverse=spec.descending)
    return valued + [row for row in by_id if row._mapping[key] is None]


@dataclass(frozen=True, slots=True)
class _Phase:
    where: list[ColumnElement[bool]]
    order: list[Any]


def _phases(spec: _SortSpec, after: tuple[Any, int] | None) -> list[_Phase]:
    """The index range scans that, run in order, continue the queue after the cursor."""
    col = spec.column
    key_order = col.desc() if spec.descending else col.asc()
    id_order = c.id.desc() if spec.id_descending else c.id.asc()

    def id_after(row_id: int) -> ColumnElement[bool]:
        return c.id < row_id if spec.id_descending else c.id > row_id

    def key_after(value: Any) -> ColumnElement[bool]:
        after: ColumnElement[bool] = col < value if spec.descending else col > value
        return after

    phases: list[_Phase] = []
    if after is None:
        phases.append(_Phase([col.is_not(None)] if spec.nullable else [], [key_order, id_order]))
    elif after[0] is not None:
        value, row_id = after
        phases.append(_Phase([col == value, id_after(row_id)], [id_order]))
        phases.append(_Phase([key_after(value)], [key_order, id_order]))
    if spec.nullable:
        null_where: list[ColumnElement[bool]] = [col.is_(None)]
        if after is not None and after[0] is None:
            null_where.append(id_after(after[1]))
        phases.append(_Phase([and_(*null_where)], [id_order]))
    return phases
