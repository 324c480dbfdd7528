"""Repositories: the service ports over SQLAlchemy Core, one class per aggregate.

Batch methods use executemany; inserts use RETURNING with the parameters' order kept, so ids come
back for a thousand rows in one round trip. Lookups by many keys are chunked to stay under the
engines' bound-parameter limits. Statements are built once, at import, with bound parameters:
building a select() costs more than running it on SQLite (about 250 µs against 100 µs here), and
intake runs a dozen per message.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from enum import Enum
from typing import Any, ClassVar, Generic, TypeVar

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Select,
    String,
    Table,
    and_,
    any_,
    bindparam,
    cast,
    delete,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Row

from socialdesk.adapters.db import tables as t
from socialdesk.adapters.db.change_feed import announce
from socialdesk.domain.agents import Agent, ApiToken, Role, Team
from socialdesk.domain.channels import Channel, ChannelPoll
from socialdesk.domain.connectors import MessageChange, QuarantinedDelivery
from socialdesk.domain.conversations import Conversation, Status
from socialdesk.domain.customers import Customer, Identity
from socialdesk.domain.events import Event
from socialdesk.domain.messages import (
    DeliveryState,
    Direction,
    Message,
    MessageKind,
    RawEvent,
    Visibility,
)
from socialdesk.domain.notices import Notice, SavedView
from socialdesk.domain.notifications import Notification
from socialdesk.domain.outbox import OutboxItem
from socialdesk.domain.playbook import Facts
from socialdesk.domain.playbook_versions import PlaybookVersion
from socialdesk.domain.routing import Activity, ActivityKind
from socialdesk.domain.sla_specs import CalendarSpec, SlaPolicySpec
from socialdesk.domain.templates import Template
from socialdesk.domain.triage import TriageInput

CHUNK = 500
T = TypeVar("T")
N = TypeVar("N")


def _chunks(values: Collection[T]) -> Iterator[list[T]]:
    items = list(values)
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


def _columns(obj: Any, table: Table) -> dict[str, Any]:
    """The dataclass fields that are columns of `table`, enums turned into their strings."""
    row = {}
    for name in _shared_fields(type(obj), table):
        value = getattr(obj, name)
        row[name] = value.value if isinstance(value, Enum) else value
    return row


_SHARED: dict[tuple[type[Any], str], tuple[str, ...]] = {}


def _shared_fields(kind: type[Any], table: Table) -> tuple[str, ...]:
    """The names of `kind`'s fields stored in `table` (computed once per pair)."""
    found = _SHARED.get((kind, table.name))
    if found is None:
        columns = set(table.c.keys())
        found = tuple(f.name for f in fields(kind) if f.name in columns and f.name != "id")
        _SHARED[(kind, table.name)] = found
    return found


def _by(table: Table, *names: str) -> Select[Any]:
    """SELECT * FROM table WHERE each named column = :name."""
    return select(table).where(*(table.c[name] == bindparam(name) for name in names))


@dataclass(frozen=True, slots=True)
class _ManyKeys:
    """A lookup by a list of keys, in each engine's best form.

    SQLite gets `col IN (?, ?, …)`. PostgreSQL gets `col = ANY(:keys)`: one array parameter
    instead of a thousand placeholders, so the statement text stays short and psycopg can
    cache its parsed form rather than re-parse a long text on every batch.
    """

    sqlite: Select[Any]
    postgresql: Select[Any]

    def run(self, conn: Connection, params: dict[str, Any]) -> Any:
        stmt = self.sqlite if conn.dialect.name == "sqlite" else self.postgresql
        return conn.execute(stmt, params)


def _many(build: Callable[[Callable[[Any, str, Any], Any]], Select[Any]]) -> _ManyKeys:
    """`build(match)` writes the statement; `match(column, name, type)` is the key condition."""

    def expanding(column: Any, name: str, _type: Any) -> Any:
        return column.in_(bindparam(name, expanding=True))

    def array(column: Any, name: str, type_: Any) -> Any:
        return column == any_(bindparam(name, type_=ARRAY(type_)))

    return _ManyKeys(build(expanding), build(array))


_INSERT: dict[str, Any] = {}
_INSERT_RETURNING: dict[str, Any] = {}
_MAX_ID: dict[str, Any] = {}
_UPDATE: dict[tuple[str, tuple[str, ...]], Any] = {}


def _statement(cache: dict[Any, Any], key: Any, build: Callable[[], Any]) -> Any:
    found = cache.get(key)
    if found is None:
        found = cache[key] = build()
    return found


def _insert_many(conn: Connection, table: Table, objects: Sequence[Any]) -> None:
    """Insert rows and write the new ids back onto the objects, in order.

    One row: INSERT … RETURNING id. Several: the ids are taken first, then the rows go in as a
    plain executemany (a prepared single-row INSERT, pipelined by psycopg), which is faster on both
    engines than a multi-row INSERT … RETURNING. PostgreSQL hands out the ids from the table's
    sequence; on SQLite every write runs under BEGIN IMMEDIATE, so no other writer can take the
    ids between reading the largest one and inserting.
    """
    if not objects:
        return
    rows = [_columns(o, table) for o in objects]
    name = table.name
    if len(rows) == 1:
        returning = _statement(_INSERT_RETURNING, name, lambda: insert(table).returning(table.c.id))
        objects[0].id = conn.execute(returning, rows[0]).scalar_one()
        return
    for obj, row, new_id in zip(objects, rows, _new_ids(conn, table, len(rows)), strict=True):
        row["id"] = obj.id = new_id
    conn.execute(_statement(_INSERT, name, lambda: insert(table)), rows)


def _new_ids(conn: Connection, table: Table, count: int) -> list[int]:
    if conn.dialect.name == "sqlite":
        biggest = _statement(_MAX_ID, table.name, lambda: select(func.max(table.c.id)))
        last = conn.execute(biggest).scalar() or 0
        return list(range(last + 1, last + count + 1))
    taken = conn.execute(NEXT_IDS, {"table": table.name, "count": count})
    return list(taken.scalars())


def _update_many(
    conn: Connection, table: Table, objects: Sequence[Any], columns: list[str]
) -> None:
    if not objects:
        return
    stmt = _statement(
        _UPDATE,
        (table.name, tuple(columns)),
        lambda: (
            update(table)
            .where(table.c.id == bindparam("_id"))
            .values({c: bindparam(c) for c in columns})
        ),
    )
    rows = []
    for obj in objects:
        row = _columns(obj, table)
        rows.append({"_id": obj.id, **{c: row[c] for c in columns}})
    conn.execute(stmt, rows)


_conv = t.conversations.c
NEXT_IDS = text(
    "SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :count)"
)
CHANNELS_BY_ID = _many(
    lambda match: select(t.channels).where(match(t.channels.c.id, "ids", BigInteger))
)
CHANNEL_BY_NAME = _by(t.channels, "platform", "name")
CUSTOMER_BY_ID = _by(t.customers, "id")
CUSTOMER_FOR_UPDATE = CUSTOMER_BY_ID.with_for_update()
IDENTITIES_BY_KEY = _many(
    lambda match: select(t.identities).where(
        t.identities.c.platform == bindparam("platform"),
        match(t.identities.c.external_id, "keys", String),
    )
)
CONVERSATION_BY_ID = _by(t.conversations, "id")
CONVERSATION_FOR_UPDATE = CONVERSATION_BY_ID.with_for_update()
CONVERSATIONS_FOR_UPDATE = _many(
    lambda match: (
        select(t.conversations)
        .where(match(_conv.id, "ids", BigInteger))
        .order_by(_conv.id)
        .with_for_update()
    )
)
LATEST_BY_THREAD_KEY = _many(
    lambda match: (
        select(t.conversations)
        .where(
            _conv.id.in_(
                select(func.max(_conv.id))
                .where(
                    _conv.channel_id == bindparam("channel_id"),
                    match(_conv.thread_key, "keys", String),
                )
                .group_by(_conv.thread_key)
                .scalar_subquery()
            )
        )
        .order_by(_conv.id)
        .with_for_update()
    )
)
DUE_SNOOZES = (
    select(t.conversations)
    .where(_conv.status == Status.SNOOZED.value, _conv.snoozed_until <= bindparam("now"))
    .order_by(_conv.snoozed_until)
    .limit(bindparam("limit"))
    .with_for_update(skip_locked=True)
)
TAGS_OF = (
    select(t.conversation_tags.c.tag)
    .where(t.conversation_tags.c.conversation_id == bindparam("conversation_id"))
    .order_by(t.conversation_tags.c.tag)
)
INSERT_TAGS = insert(t.conversation_tags)
DELETE_TAGS = delete(t.conversation_tags).where(
    t.conversation_tags.c.conversation_id == bindparam("conversation_id")
)
MESSAGES_BY_KEY = _many(
    lambda match: select(t.messages).where(
        t.messages.c.channel_id == bindparam("channel_id"),
        match(t.messages.c.external_id, "keys", String),
    )
)
MESSAGE_BY_ID = _by(t.messages, "id")
_msg = t.messages.c
CLAIM_FOR_TRIAGE = (
    update(t.messages)
    .where(
        _msg.id.in_(
            select(_msg.id)
            .where(
                _msg.triage.is_(None),
                _msg.direction == "inbound",
                or_(_msg.triage_claimed_at.is_(None), _msg.triage_claimed_at < bindparam("stale")),
            )
            .order_by(_msg.id)
            .limit(bindparam("limit"))
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
    )
    .values(triage_claimed_at=bindparam("now"))
    .returning(_msg.id)
)
TRIAGE_INPUTS = _many(
    lambda match: (
        select(
            _msg.id,
            _msg.conversation_id,
            _msg.text,
            _msg.created_at,
            t.identities.c.followers,
            t.identities.c.verified,
            t.customers.c.tags,
        )
        .outerjoin(t.identities, t.identities.c.id == _msg.author_identity_id)
        .outerjoin(t.customers, t.customers.c.id == t.identities.c.customer_id)
        .where(match(_msg.id, "ids", BigInteger))
        .order_by(_msg.id)
    )
)
SET_TRIAGE = (
    update(t.messages)
    .where(_msg.id == bindparam("_id"), _msg.triage.is_(None))
    .values(triage=bindparam("triage"))
)
STALE_PRIORITIES = (
    select(t.conversations)
    .where(
        _conv.status == Status.OPEN.value,
        _conv.waiting_since.is_not(None),
        _conv.priority_scored_at < bindparam("before"),
    )
    .order_by(_conv.priority_scored_at)
    .limit(bindparam("limit"))
    .with_for_update(skip_locked=True)
)
AGENT_BY_ID = _by(t.agents, "id")
AGENT_BY_USERNAME = _by(t.agents, "username")
TEAMS_OF_AGENT = (
    select(t.team_members.c.team_id)
    .where(t.team_members.c.agent_id == bindparam("agent_id"))
    .order_by(t.team_members.c.team_id)
)
INSERT_MEMBERSHIPS = insert(t.team_members)
DELETE_MEMBERSHIPS = delete(t.team_members).where(
    t.team_members.c.agent_id == bindparam("agent_id")
)
TEAM_BY_ID = _by(t.teams, "id")
TEAM_BY_NAME = _by(t.teams, "name")
ALL_TEAMS = select(t.teams).order_by(t.teams.c.id)
TOKEN_BY_ID = _by(t.api_tokens, "id")
TOKEN_OWNER = (
    select(
        t.api_tokens,
        *(c.label(f"owner_{c.key}") for c in t.agents.c),
        select(func.aggregate_strings(cast(t.team_members.c.team_id, String), ","))
        .where(t.team_members.c.agent_id == t.agents.c.id)
        .scalar_subquery()
        .label("owner_team_ids"),
    )
    .join(t.agents, t.agents.c.id == t.api_tokens.c.agent_id)
    .where(t.api_tokens.c.token_hash == bindparam("token_hash"))
)
INSERT_OUTBOX = insert(t.outbox).returning(t.outbox.c.id)
OUTBOX_BY_KEY = _by(t.outbox, "idempotency_key")
OUTBOX_BY_MESSAGE = _by(t.outbox, "message_id")
_out = t.outbox.c
OUTBOX_DUE = (
    select(t.outbox)
    .where(
        or_(
            and_(
                _out.state == DeliveryState.QUEUED.value, _out.next_attempt_at <= bindparam("now")
            ),
            and_(_out.state == DeliveryState.SENDING.value, _out.claimed_at < bindparam("stale")),
        )
    )
    .order_by(_out.next_attempt_at, _out.id)
    .limit(bindparam("limit"))
    .with_for_update(skip_locked=True)
)
OUTBOX_MARK_SENDING = (
    update(t.outbox)
    .where(_out.id == bindparam("_id"))
    .values(
        state=DeliveryState.SENDING.value,
        claimed_at=bindparam("now"),
        attempts=_out.attempts + 1,
        in_doubt=True,
        updated_at=bindparam("now"),
    )
)
OUTBOX_UPDATE = (
    update(t.outbox)
    .where(_out.id == bindparam("_id"))
    .values(
        {
            c: bindparam(c)
            for c in (
                "state",
                "attempts",
                "next_attempt_at",
                "last_error",
                "platform_message_id",
                "claimed_at",
                "in_doubt",
                "sent_at",
                "updated_at",
            )
        }
    )
)
SET_DELIVERY = (
    update(t.messages)
    .where(t.messages.c.id == bindparam("_id"))
    .values(
        delivery_state=bindparam("state"),
        delivery_error=bindparam("error"),
        external_id=func.coalesce(bindparam("external_id", type_=String), t.messages.c.external_id),
        url=func.coalesce(bindparam("url", type_=String), t.messages.c.url),
    )
)
LATEST_INBOUND = (
    select(t.messages)
    .where(
        t.messages.c.conversation_id == bindparam("conversation_id"),
        t.messages.c.direction == Direction.INBOUND.value,
    )
    .order_by(t.messages.c.created_at.desc(), t.messages.c.id.desc())
    .limit(1)
)
MESSAGE_BY_KEY = _by(t.messages, "channel_id", "external_id")
UPDATE_MESSAGE_CONTENT = (
    update(t.messages)
    .where(t.messages.c.id == bindparam("_id"))
    .values(text=bindparam("text"), meta=bindparam("meta"))
)
IDENTITY_BY_ID = _by(t.identities, "id")
ACTIVE_CHANNELS = (
    select(t.channels)
    .where(
        t.channels.c.active.is_(True),
        t.channels.c.platform.in_(bindparam("platforms", expanding=True)),
    )
    .order_by(t.channels.c.id)
)
_poll = t.channel_polls.c
POLLS_OF = select(_poll.channel_id).where(_poll.channel_id.in_(bindparam("ids", expanding=True)))
POLLS_DUE = (
    select(t.channel_polls)
    .where(
        _poll.channel_id.in_(bindparam("ids", expanding=True)),
        or_(
            and_(_poll.claimed_at.is_(None), _poll.next_poll_at <= bindparam("now")),
            _poll.claimed_at < bindparam("stale"),
        ),
    )
    .order_by(_poll.next_poll_at)
    .limit(bindparam("limit"))
    .with_for_update(skip_locked=True)
)
POLL_CLAIM = (
    update(t.channel_polls)
    .where(_poll.channel_id == bindparam("_id"))
    .values(claimed_at=bindparam("now"))
)
POLL_BY_CHANNEL = _by(t.channel_polls, "channel_id")
POLL_UPDATE = (
    update(t.channel_polls)
    .where(_poll.channel_id == bindparam("_id"))
    .values(
        {
            c: bindparam(c)
            for c in (
                "cursor",
                "next_poll_at",
                "claimed_at",
                "last_polled_at",
                "last_error",
                "consecutive_errors",
                "polled_messages",
            )
        }
    )
)
INSERT_QUARANTINE = insert(t.quarantine).returning(t.quarantine.c.id)
QUARANTINE_BY_ID = _by(t.quarantine, "id")
QUARANTINE_UPDATE = (
    update(t.quarantine)
    .where(t.quarantine.c.id == bindparam("_id"))
    .values(replayed_at=bindparam("replayed_at"), replay_result=bindparam("replay_result"))
)
INSERT_EVENTS = insert(t.events)
ACTIVITIES_IN = select(t.activities).where(
    t.activities.c.conversation_id == bindparam("conversation_id"),
    t.activities.c.at >= bindparam("since"),
)
OPEN_COUNTS = (
    select(_conv.assignee_id, _conv.platform, func.count())
    .where(
        _conv.assignee_id.in_(bindparam("ids", expanding=True)),
        _conv.status.in_([Status.OPEN.value, Status.PENDING.value]),
    )
    .group_by(_conv.assignee_id, _conv.platform)
)
ASSIGNED_OPEN = (
    select(t.conversations)
    .where(_conv.assignee_id == bindparam("agent_id"), _conv.status != Status.CLOSED.value)
    .order_by(_conv.id)
    .with_for_update()
)
TAKE_CANDIDATES = (
    select(t.conversations)
    .where(
        _conv.status == Status.OPEN.value,
        _conv.assignee_id.is_(None),
        or_(_conv.team_id.is_(None), _conv.team_id.in_(bindparam("teams", expanding=True))),
    )
    .order_by(_conv.sla_due_at.is_(None), _conv.sla_due_at, _conv.priority.desc(), _conv.id)
    .limit(bindparam("limit"))
)
CLAIM_FREE = (
    select(t.conversations)
    .where(
        _conv.id == bindparam("id"),
        _conv.status == Status.OPEN.value,
        _conv.assignee_id.is_(None),
    )
    .with_for_update(skip_locked=True)
)
BRAND_REPLIES = (
    select(t.messages.c.id, t.messages.c.author_agent_id, t.messages.c.created_at)
    .where(
        t.messages.c.conversation_id == bindparam("conversation_id"),
        t.messages.c.direction == Direction.OUTBOUND.value,
    )
    .order_by(t.messages.c.created_at)
)
CLAIM_FOR_PLAYBOOK = (
    update(t.messages)
    .where(
        _msg.id.in_(
            select(_msg.id)
            .where(
                _msg.playbook.is_(None),
                _msg.triage.is_not(None),
                _msg.direction == "inbound",
                or_(
                    _msg.playbook_claimed_at.is_(None),
                    _msg.playbook_claimed_at < bindparam("stale"),
                ),
            )
            .order_by(_msg.id)
            .limit(bindparam("limit"))
            .with_for_update(skip_locked=True)
        )
    )
    .values(playbook_claimed_at=bindparam("now"))
    .returning(_msg.id)
)
SET_PLAYBOOK = (
    update(t.messages).where(_msg.id == bindparam("_id")).values(playbook=bindparam("playbook"))
)
_earlier = t.messages.alias("earlier")
# A message opens its conversation when it is the conversation's first inbound message to arrive
# (lowest id): the same rule for the live playbook and for backtests over history.
_FIRST = (
    _msg.id
    == select(func.min(_earlier.c.id))
    .where(_earlier.c.conversation_id == _msg.conversation_id, _earlier.c.direction == "inbound")
    .scalar_subquery()
).label("first_message")
_FACT_COLUMNS = (
    _msg.id,
    _msg.conversation_id,
    _msg.channel_id,
    _msg.text,
    _msg.kind,
    _msg.visibility,
    _msg.created_at,
    # Triage fields read by JSON path in SQL: a backtest reads a million rows, and decoding each
    # whole triage document in Python would cost more than the rules themselves.
    _msg.triage["sentiment"].as_string().label("sentiment"),
    _msg.triage["needs_response"].as_boolean().label("needs_response"),
    _msg.triage["needs_response_p"].as_float().label("needs_response_p"),
    _msg.triage["intent"].as_string().label("intent"),
    _msg.triage["language"].as_string().label("language"),
    _msg.triage["pii"].label("pii"),
    _msg.triage["spam_p"].as_float().label("spam_p"),
    _msg.triage["question"].as_boolean().label("question"),
    _msg.triage[("priority", "score")].as_integer().label("priority"),
    _msg.meta["listening_query"].as_string().label("listening_query"),
    _msg.meta["listening_queries"].label("listening_queries"),
    t.channels.c.platform,
    t.channels.c.name.label("channel_name"),
    t.identities.c.followers,
    t.identities.c.verified,
    t.customers.c.tags.label("customer_tags"),
    _conv.team_id,
    _conv.first_response_at,
    _FIRST,
)


def _facts_select(where: Any, *, first: bool = True) -> Select[Any]:
    columns = _FACT_COLUMNS if first else _FACT_COLUMNS[:-1]
    return (
        select(*columns)
        .join(t.channels, t.channels.c.id == _msg.channel_id)
        .join(t.conversations, _conv.id == _msg.conversation_id)
        .outerjoin(t.identities, t.identities.c.id == _msg.author_identity_id)
        .outerjoin(t.customers, t.customers.c.id == t.identities.c.customer_id)
        .where(where)
    )


PLAYBOOK_FACTS = _many(lambda match: _facts_select(match(_msg.id, "ids", BigInteger)))
HISTORY = (
    _facts_select(and_(_msg.direction == "inbound", _msg.id > bindparam("after")), first=False)
    .order_by(_msg.id)
    .limit(bindparam("limit"))
)
HISTORY_SINCE = (
    _facts_select(
        and_(
            _msg.direction == "inbound",
            _msg.id > bindparam("after"),
            _msg.created_at >= bindparam("since"),
        ),
        first=False,
    )
    .order_by(_msg.id)
    .limit(bindparam("limit"))
)
INBOUND_ID_RANGE = select(func.min(_msg.id), func.max(_msg.id)).where(_msg.direction == "inbound")
FIRST_INBOUND = (
    select(_msg.conversation_id, func.min(_msg.id))
    .where(
        _msg.conversation_id.in_(bindparam("ids", expanding=True)),
        _msg.direction == "inbound",
    )
    .group_by(_msg.conversation_id)
)


def facts_from_row(
    row: Row[Any],
    first: bool | None = None,
    business_hours: Callable[[int | None, datetime], bool] | None = None,
) -> Facts:
    """What the playbook sees about a stored message, from its triage and its author; `first`
    when the caller worked out whether it opened its conversation (else the row says), and
    `business_hours(team_id, time)` when the caller knows the calendars."""
    return Facts(
        platform=row.platform,
        channel_id=row.channel_id,
        channel_name=row.channel_name,
        visibility=row.visibility,
        kind=row.kind,
        text=row.text,
        created_at=row.created_at,
        sentiment=row.sentiment,
        needs_response=row.needs_response,
        needs_response_p=row.needs_response_p,
        intent=row.intent,
        language=row.language,
        pii=frozenset(p["kind"] for p in row.pii or () if isinstance(p, dict) and p.get("kind")),
        spam_p=row.spam_p,
        priority=row.priority,
        question=bool(row.question),
        followers=row.followers,
        verified=bool(row.verified),
        customer_tags=frozenset(row.customer_tags or ()),
        business_hours=True
        if business_hours is None
        else business_hours(row.team_id, row.created_at),
        listening_query=row.listening_query,
        listening_queries=frozenset(str(n).casefold() for n in row.listening_queries or ()),
        first_message=bool(row.first_message) if first is None else first,
        message_id=row.id,
        conversation_id=row.conversation_id,
    )


def playbook_version_from_row(row: Row[Any]) -> PlaybookVersion:
    return PlaybookVersion(
        id=row.id,
        version=row.version,
        source=row.source,
        comment=row.comment,
        created_at=row.created_at,
        author_agent_id=row.author_agent_id,
        live=row.live,
        activated_at=row.activated_at,
    )


class PlaybookVersionRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, version: PlaybookVersion) -> None:
        _insert_many(self.conn, t.playbook_versions, [version])

    def get(self, version: int) -> PlaybookVersion | None:
        row = self.conn.execute(PLAYBOOK_BY_VERSION, {"version": version}).first()
        return playbook_version_from_row(row) if row else None

    def live(self) -> PlaybookVersion | None:
        row = self.conn.execute(PLAYBOOK_LIVE).first()
        return playbook_version_from_row(row) if row else None

    def latest_number(self) -> int:
        return int(self.conn.execute(PLAYBOOK_LATEST).scalar_one() or 0)

    def list(self, limit: int) -> list[PlaybookVersion]:
        rows = self.conn.execute(PLAYBOOK_LIST, {"limit": limit})
        return [playbook_version_from_row(row) for row in rows]

    def activate(self, version: int, now: datetime) -> None:
        self.conn.execute(PLAYBOOK_UNSET_LIVE)
        self.conn.execute(PLAYBOOK_SET_LIVE, {"number": version, "now": now})

    def previously_live(self, current: int) -> PlaybookVersion | None:
        row = self.conn.execute(PLAYBOOK_PREVIOUS, {"current": current}).first()
        return playbook_version_from_row(row) if row else None


_pv = t.playbook_versions.c
PLAYBOOK_BY_VERSION = _by(t.playbook_versions, "version")
PLAYBOOK_LIVE = select(t.playbook_versions).where(_pv.live.is_(True))
PLAYBOOK_LATEST = select(func.max(_pv.version))
PLAYBOOK_LIST = select(t.playbook_versions).order_by(_pv.version.desc()).limit(bindparam("limit"))
PLAYBOOK_UNSET_LIVE = update(t.playbook_versions).where(_pv.live.is_(True)).values(live=False)
PLAYBOOK_SET_LIVE = (
    update(t.playbook_versions)
    .where(_pv.version == bindparam("number"))
    .values(live=True, activated_at=bindparam("now"))
)
PLAYBOOK_PREVIOUS = (
    select(t.playbook_versions)
    .where(_pv.version != bindparam("current"), _pv.activated_at.is_not(None))
    .order_by(_pv.activated_at.desc(), _pv.version.desc())
    .limit(1)
)
AGENTS_IN_TEAM = (
    select(t.agents)
    .join(t.team_members, t.team_members.c.agent_id == t.agents.c.id)
    .where(t.team_members.c.team_id == bindparam("team_id"), t.agents.c.active.is_(True))
    .order_by(t.agents.c.id)
)
SLA_STALE = (
    select(t.conversations)
    .where(
        or_(
            _conv.sla_refreshed_at.is_(None),
            _conv.sla_refreshed_at < _conv.updated_at,
        ),
        _conv.status != Status.CLOSED.value,
    )
    .order_by(_conv.updated_at)
    .limit(bindparam("limit"))
    .with_for_update(skip_locked=True)
)
SLA_DUE_BEFORE = (
    select(t.conversations)
    .where(
        _conv.status == Status.OPEN.value,
        _conv.sla_due_at < bindparam("before"),
        or_(_conv.sla_state.is_(None), _conv.sla_state != "breached"),
    )
    .order_by(_conv.sla_due_at)
    .limit(bindparam("limit"))
    .with_for_update(skip_locked=True)
)
_note = t.notifications.c
NOTIFICATIONS_DUE = (
    select(t.notifications)
    .where(_note.state == "queued", _note.next_attempt_at <= bindparam("now"))
    .order_by(_note.next_attempt_at, _note.id)
    .limit(bindparam("limit"))
    .with_for_update(skip_locked=True)
)
NOTIFICATION_CLAIM = (
    update(t.notifications)
    .where(_note.id == bindparam("_id"))
    .values(attempts=bindparam("attempts"), next_attempt_at=bindparam("until"))
)


class ChannelRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, channel: Channel) -> None:
        _insert_many(self.conn, t.channels, [channel])

    def get(self, channel_id: int) -> Channel | None:
        return self.get_many([channel_id]).get(channel_id)

    def get_many(self, channel_ids: Collection[int]) -> dict[int, Channel]:
        found: dict[int, Channel] = {}
        for chunk in _chunks(channel_ids):
            for row in CHANNELS_BY_ID.run(self.conn, {"ids": chunk}):
                found[row.id] = channel_from_row(row)
        return found

    def find(self, platform: str, name: str) -> Channel | None:
        row = self.conn.execute(CHANNEL_BY_NAME, {"platform": platform, "name": name}).first()
        return channel_from_row(row) if row else None

    def update(self, channel: Channel) -> None:
        _update_many(self.conn, t.channels, [channel], ["settings", "active"])

    def list_active(self, platforms: Collection[str]) -> list[Channel]:
        if not platforms:
            return []
        rows = self.conn.execute(ACTIVE_CHANNELS, {"platforms": list(platforms)})
        return [channel_from_row(row) for row in rows]


def channel_from_row(row: Row[Any]) -> Channel:
    return Channel(
        id=row.id,
        platform=row.platform,
        name=row.name,
        created_at=row.created_at,
        settings=dict(row.settings or {}),
        active=row.active,
    )


class CustomerRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add_many(self, customers: Sequence[Customer]) -> None:
        _insert_many(self.conn, t.customers, customers)

    def get(self, customer_id: int, *, for_update: bool = False) -> Customer | None:
        stmt = CUSTOMER_FOR_UPDATE if for_update else CUSTOMER_BY_ID
        row = self.conn.execute(stmt, {"id": customer_id}).first()
        if row is None:
            return None
        return Customer(id=row.id, name=row.name, tags=list(row.tags), created_at=row.created_at)

    def update(self, customer: Customer) -> None:
        _update_many(self.conn, t.customers, [customer], ["name", "tags"])


def identity_from_row(row: Row[Any]) -> Identity:
    return Identity(
        id=row.id,
        customer_id=row.customer_id,
        platform=row.platform,
        external_id=row.external_id,
        handle=row.handle,
        display_name=row.display_name,
        followers=row.followers,
        verified=row.verified,
        profile=dict(row.profile),
        created_at=row.created_at,
    )


class IdentityRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def get(self, identity_id: int) -> Identity | None:
        row = self.conn.execute(IDENTITY_BY_ID, {"id": identity_id}).first()
        return identity_from_row(row) if row else None

    def find_many(self, platform: str, external_ids: Collection[str]) -> dict[str, Identity]:
        found: dict[str, Identity] = {}
        for chunk in _chunks(external_ids):
            rows = IDENTITIES_BY_KEY.run(self.conn, {"platform": platform, "keys": chunk})
            for row in rows:
                found[row.external_id] = identity_from_row(row)
        return found

    def add_many(self, identities: Sequence[Identity]) -> None:
        _insert_many(self.conn, t.identities, identities)

    def update_many(self, identities: Sequence[Identity]) -> None:
        _update_many(
            self.conn, t.identities, identities, ["handle", "display_name", "followers", "verified"]
        )


_CONVERSATION_STATE = [
    col.key
    for col in t.conversations.c
    if col.key not in ("id", "channel_id", "platform", "customer_id", "created_at", "visibility")
]


def conversation_from_row(row: Row[Any], tags: list[str] | None = None) -> Conversation:
    return Conversation(
        id=row.id,
        channel_id=row.channel_id,
        platform=row.platform,
        customer_id=row.customer_id,
        identity_id=row.identity_id,
        visibility=Visibility(row.visibility),
        created_at=row.created_at,
        status=Status(row.status),
        thread_key=row.thread_key,
        subject=row.subject,
        priority=row.priority,
        sentiment=row.sentiment,
        team_id=row.team_id,
        assignee_id=row.assignee_id,
        tags=tags or [],
        snoozed_until=row.snoozed_until,
        updated_at=row.updated_at,
        last_message_at=row.last_message_at,
        last_inbound_at=row.last_inbound_at,
        waiting_since=row.waiting_since,
        first_response_at=row.first_response_at,
        closed_at=row.closed_at,
        close_reason=row.close_reason,
        sla_due_at=row.sla_due_at,
        message_count=row.message_count,
        preview=row.preview,
        intent=row.intent,
        language=row.language,
        priority_basis=dict(row.priority_basis or {}),
        priority_factors=list(row.priority_factors or []),
        priority_scored_at=row.priority_scored_at,
        sla_policy_id=row.sla_policy_id,
        first_response_due_at=row.first_response_due_at,
        next_response_due_at=row.next_response_due_at,
        resolution_due_at=row.resolution_due_at,
        sla_state=row.sla_state,
        sla_paused_seconds=row.sla_paused_seconds,
        pending_since=row.pending_since,
        pending_periods=list(row.pending_periods or []),
        sla_refreshed_at=row.sla_refreshed_at,
        priority_rule=row.priority_rule,
        suppressed_reason=row.suppressed_reason,
        private_mode=row.private_mode,
        auto_acked_at=row.auto_acked_at,
    )


class ConversationRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def get(self, conversation_id: int, *, for_update: bool = False) -> Conversation | None:
        stmt = CONVERSATION_FOR_UPDATE if for_update else CONVERSATION_BY_ID
        row = self.conn.execute(stmt, {"id": conversation_id}).first()
        if row is None:
            return None
        tags = self.conn.execute(TAGS_OF, {"conversation_id": conversation_id}).scalars()
        return conversation_from_row(row, list(tags))

    def get_many(self, conversation_ids: Collection[int]) -> dict[int, Conversation]:
        found: dict[int, Conversation] = {}
        for chunk in _chunks(sorted(conversation_ids)):
            for row in CONVERSATIONS_FOR_UPDATE.run(self.conn, {"ids": chunk}):
                found[row.id] = conversation_from_row(row)
        return found

    def latest_by_thread_keys(
        self, channel_id: int, thread_keys: Collection[str]
    ) -> dict[str, Conversation]:
        found: dict[str, Conversation] = {}
        for chunk in _chunks(sorted(thread_keys)):
            rows = LATEST_BY_THREAD_KEY.run(self.conn, {"channel_id": channel_id, "keys": chunk})
            for row in rows:
                found[row.thread_key] = conversation_from_row(row)
        return found

    def add_many(self, conversations: Sequence[Conversation]) -> None:
        _insert_many(self.conn, t.conversations, conversations)
        tag_rows = [{"conversation_id": c.id, "tag": tag} for c in conversations for tag in c.tags]
        if tag_rows:
            self.conn.execute(INSERT_TAGS, tag_rows)

    def update_many(self, conversations: Sequence[Conversation]) -> None:
        _update_many(self.conn, t.conversations, conversations, _CONVERSATION_STATE)

    def set_tags(self, conversation_id: int, tags: Sequence[str]) -> None:
        self.conn.execute(DELETE_TAGS, {"conversation_id": conversation_id})
        if tags:
            self.conn.execute(
                INSERT_TAGS, [{"conversation_id": conversation_id, "tag": tag} for tag in tags]
            )

    def due_snoozes(self, now: datetime, limit: int) -> list[Conversation]:
        rows = self.conn.execute(DUE_SNOOZES, {"now": now, "limit": limit})
        return [conversation_from_row(row) for row in rows]

    def stale_priorities(self, scored_before: datetime, limit: int) -> list[Conversation]:
        rows = self.conn.execute(STALE_PRIORITIES, {"before": scored_before, "limit": limit})
        return [conversation_from_row(row) for row in rows]

    def open_counts(self, agent_ids: Collection[int]) -> dict[int, dict[str, int]]:
        counts: dict[int, dict[str, int]] = {i: {} for i in agent_ids}
        if counts:
            for agent_id, platform, n in self.conn.execute(OPEN_COUNTS, {"ids": list(counts)}):
                counts[agent_id][platform] = n
        return counts

    def assigned_open(self, agent_id: int) -> list[Conversation]:
        rows = self.conn.execute(ASSIGNED_OPEN, {"agent_id": agent_id})
        return [conversation_from_row(row) for row in rows]

    def claim_free(self, conversation_id: int) -> Conversation | None:
        row = self.conn.execute(CLAIM_FREE, {"id": conversation_id}).first()
        return conversation_from_row(row) if row else None

    def take_candidates(self, team_ids: Collection[int], limit: int) -> list[Conversation]:
        rows = self.conn.execute(TAKE_CANDIDATES, {"teams": list(team_ids) or [-1], "limit": limit})
        return [conversation_from_row(row) for row in rows]

    def sla_stale(self, limit: int) -> list[Conversation]:
        return [conversation_from_row(r) for r in self.conn.execute(SLA_STALE, {"limit": limit})]

    def sla_due_before(self, before: datetime, limit: int) -> list[Conversation]:
        rows = self.conn.execute(SLA_DUE_BEFORE, {"before": before, "limit": limit})
        return [conversation_from_row(row) for row in rows]


def message_from_row(row: Row[Any]) -> Message:
    return Message(
        id=row.id,
        conversation_id=row.conversation_id,
        channel_id=row.channel_id,
        external_id=row.external_id,
        direction=Direction(row.direction),
        visibility=Visibility(row.visibility),
        kind=MessageKind(row.kind),
        author_identity_id=row.author_identity_id,
        author_agent_id=row.author_agent_id,
        text=row.text,
        subject=row.subject,
        created_at=row.created_at,
        received_at=row.received_at,
        in_reply_to=row.in_reply_to,
        references=list(row.references),
        url=row.url,
        meta=dict(row.meta),
        delivery_state=DeliveryState(row.delivery_state) if row.delivery_state else None,
        delivery_error=row.delivery_error,
        raw_event_id=row.raw_event_id,
        triage=row.triage,
        playbook=row.playbook,
    )


class MessageRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def find_many(self, channel_id: int, external_ids: Collection[str]) -> dict[str, Message]:
        found: dict[str, Message] = {}
        for chunk in _chunks(external_ids):
            rows = MESSAGES_BY_KEY.run(self.conn, {"channel_id": channel_id, "keys": chunk})
            for row in rows:
                found[row.external_id] = message_from_row(row)
        return found

    def add_many(self, messages: Sequence[Message]) -> None:
        _insert_many(self.conn, t.messages, messages)

    def get(self, message_id: int) -> Message | None:
        row = self.conn.execute(MESSAGE_BY_ID, {"id": message_id}).first()
        return message_from_row(row) if row else None

    def claim_for_triage(self, now: datetime, stale_before: datetime, limit: int) -> list[int]:
        rows = self.conn.execute(
            CLAIM_FOR_TRIAGE, {"now": now, "stale": stale_before, "limit": limit}
        ).scalars()
        return sorted(rows)

    def triage_inputs(self, message_ids: Collection[int]) -> list[TriageInput]:
        found = []
        for chunk in _chunks(sorted(message_ids)):
            for row in TRIAGE_INPUTS.run(self.conn, {"ids": chunk}):
                found.append(
                    TriageInput(
                        message_id=row.id,
                        conversation_id=row.conversation_id,
                        text=row.text,
                        created_at=row.created_at,
                        followers=row.followers,
                        verified=bool(row.verified),
                        vip="vip" in (row.tags or []),
                    )
                )
        return found

    def set_triage(self, results: Sequence[tuple[int, dict[str, Any]]]) -> None:
        if results:
            self.conn.execute(SET_TRIAGE, [{"_id": i, "triage": triage} for i, triage in results])

    def latest_inbound(self, conversation_id: int) -> Message | None:
        row = self.conn.execute(LATEST_INBOUND, {"conversation_id": conversation_id}).first()
        return message_from_row(row) if row else None

    def set_delivery(
        self,
        message_id: int,
        state: DeliveryState,
        *,
        error: str | None = None,
        external_id: str | None = None,
        url: str | None = None,
    ) -> None:
        self.conn.execute(
            SET_DELIVERY,
            {
                "_id": message_id,
                "state": state.value,
                "error": error,
                "external_id": external_id,
                "url": url,
            },
        )

    def claim_for_playbook(self, now: datetime, stale_before: datetime, limit: int) -> list[int]:
        rows = self.conn.execute(
            CLAIM_FOR_PLAYBOOK, {"now": now, "stale": stale_before, "limit": limit}
        ).scalars()
        return sorted(rows)

    def playbook_facts(self, message_ids: Collection[int]) -> list[tuple[Facts, int | None]]:
        found = []
        for chunk in _chunks(sorted(message_ids)):
            for row in PLAYBOOK_FACTS.run(self.conn, {"ids": chunk}):
                found.append((facts_from_row(row), row.team_id))
        return found

    def history(
        self,
        since: datetime | None,
        after_id: int,
        limit: int,
        business_hours: Callable[[int | None, datetime], bool] | None = None,
    ) -> list[tuple[Facts, int | None, float | None]]:
        stmt = HISTORY if since is None else HISTORY_SINCE
        rows = list(self.conn.execute(stmt, {"after": after_id, "since": since, "limit": limit}))
        # The first inbound message of each conversation, for the whole chunk in one query
        # (a correlated lookup per row would cost a million of them on a million messages).
        firsts: dict[int, int] = {}
        for chunk in _chunks({r.conversation_id for r in rows}):
            firsts.update((c, m) for c, m in self.conn.execute(FIRST_INBOUND, {"ids": chunk}))
        found = []
        for row in rows:
            first = firsts.get(row.conversation_id) == row.id
            minutes = None
            if first and row.first_response_at is not None:
                minutes = max(0.0, (row.first_response_at - row.created_at).total_seconds() / 60)
            found.append((facts_from_row(row, first, business_hours), row.team_id, minutes))
        return found

    def inbound_id_range(self) -> tuple[int, int] | None:
        row = self.conn.execute(INBOUND_ID_RANGE).first()
        return (row[0], row[1]) if row and row[0] is not None else None

    def set_playbook(self, message_id: int, result: dict[str, Any]) -> None:
        self.conn.execute(SET_PLAYBOOK, {"_id": message_id, "playbook": result})

    def brand_replies(self, conversation_id: int) -> list[tuple[int, int | None, datetime]]:
        rows = self.conn.execute(BRAND_REPLIES, {"conversation_id": conversation_id})
        return [(r.id, r.author_agent_id, r.created_at) for r in rows]

    def apply_change(self, change: MessageChange) -> bool:
        row = self.conn.execute(
            MESSAGE_BY_KEY, {"channel_id": change.channel_id, "external_id": change.external_id}
        ).first()
        if row is None:
            return False
        meta = dict(row.meta)
        text_now = row.text
        if change.removed:
            meta["removed_at"] = change.at.isoformat()
        elif change.text is not None and change.text != row.text:
            meta["edits"] = [
                *meta.get("edits", []),
                {"text": row.text, "until": change.at.isoformat()},
            ]
            text_now = change.text
        else:
            return True
        self.conn.execute(UPDATE_MESSAGE_CONTENT, {"_id": row.id, "text": text_now, "meta": meta})
        return True


class RawEventRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add_many(self, raw_events: Sequence[RawEvent]) -> None:
        _insert_many(self.conn, t.raw_events, raw_events)


def agent_from_row(row: Row[Any], team_ids: list[int]) -> Agent:
    return Agent(
        id=row.id,
        username=row.username,
        role=Role(row.role),
        created_at=row.created_at,
        display_name=row.display_name,
        email=row.email,
        password_hash=row.password_hash,
        active=row.active,
        team_ids=team_ids,
        capacity=dict(row.capacity or {}),
        presence=row.presence,
        presence_at=row.presence_at,
        last_assigned_at=row.last_assigned_at,
        session_epoch=row.session_epoch,
    )


class AgentRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, agent: Agent) -> None:
        _insert_many(self.conn, t.agents, [agent])
        self._write_teams(agent)

    def get(self, agent_id: int) -> Agent | None:
        return self._one(AGENT_BY_ID, {"id": agent_id})

    def find(self, username: str) -> Agent | None:
        return self._one(AGENT_BY_USERNAME, {"username": username})

    def update(self, agent: Agent) -> None:
        _update_many(
            self.conn,
            t.agents,
            [agent],
            [
                "display_name",
                "email",
                "role",
                "password_hash",
                "active",
                "capacity",
                "presence",
                "presence_at",
                "last_assigned_at",
                "session_epoch",
            ],
        )
        self.conn.execute(DELETE_MEMBERSHIPS, {"agent_id": agent.id})
        self._write_teams(agent)

    def in_team(self, team_id: int) -> list[Agent]:
        rows = list(self.conn.execute(AGENTS_IN_TEAM, {"team_id": team_id}))
        return [
            agent_from_row(
                row, list(self.conn.execute(TEAMS_OF_AGENT, {"agent_id": row.id}).scalars())
            )
            for row in rows
        ]

    def _one(self, stmt: Select[Any], params: dict[str, Any]) -> Agent | None:
        row = self.conn.execute(stmt, params).first()
        if row is None:
            return None
        team_ids = self.conn.execute(TEAMS_OF_AGENT, {"agent_id": row.id}).scalars()
        return agent_from_row(row, list(team_ids))

    def _write_teams(self, agent: Agent) -> None:
        if agent.team_ids:
            self.conn.execute(
                INSERT_MEMBERSHIPS,
                [{"team_id": team_id, "agent_id": agent.id} for team_id in agent.team_ids],
            )


class TeamRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, team: Team) -> None:
        _insert_many(self.conn, t.teams, [team])

    def get(self, team_id: int) -> Team | None:
        row = self.conn.execute(TEAM_BY_ID, {"id": team_id}).first()
        return team_from_row(row) if row else None

    def find(self, name: str) -> Team | None:
        row = self.conn.execute(TEAM_BY_NAME, {"name": name}).first()
        return team_from_row(row) if row else None

    def list_all(self) -> list[Team]:
        return [team_from_row(row) for row in self.conn.execute(ALL_TEAMS)]

    def update(self, team: Team) -> None:
        _update_many(
            self.conn,
            t.teams,
            [team],
            ["skills", "assignment_mode", "calendar_id", "sla_policy_id", "last_assigned_agent_id"],
        )


def team_from_row(row: Row[Any]) -> Team:
    return Team(
        id=row.id,
        name=row.name,
        created_at=row.created_at,
        skills=dict(row.skills or {}),
        assignment_mode=row.assignment_mode,
        calendar_id=row.calendar_id,
        sla_policy_id=row.sla_policy_id,
        last_assigned_agent_id=row.last_assigned_agent_id,
    )


def token_from_row(row: Row[Any]) -> ApiToken:
    return ApiToken(
        id=row.id,
        agent_id=row.agent_id,
        name=row.name,
        token_hash=row.token_hash,
        prefix=row.prefix,
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        last_used_at=row.last_used_at,
    )


class TokenRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, token: ApiToken) -> None:
        _insert_many(self.conn, t.api_tokens, [token])

    def get(self, token_id: int) -> ApiToken | None:
        row = self.conn.execute(TOKEN_BY_ID, {"id": token_id}).first()
        return token_from_row(row) if row else None

    def find_owner(self, token_hash: str) -> tuple[ApiToken, Agent] | None:
        """The token with this digest and its user, in one statement (it runs on every request)."""
        row = self.conn.execute(TOKEN_OWNER, {"token_hash": token_hash}).first()
        if row is None:
            return None
        teams = [int(i) for i in row.owner_team_ids.split(",")] if row.owner_team_ids else []
        agent = Agent(
            id=row.owner_id,
            username=row.owner_username,
            role=Role(row.owner_role),
            created_at=row.owner_created_at,
            display_name=row.owner_display_name,
            email=row.owner_email,
            password_hash=row.owner_password_hash,
            active=row.owner_active,
            team_ids=sorted(teams),
        )
        return token_from_row(row), agent

    def update(self, token: ApiToken) -> None:
        _update_many(self.conn, t.api_tokens, [token], ["revoked_at", "last_used_at", "expires_at"])


class OutboxRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, item: OutboxItem) -> None:
        row = _columns(item, t.outbox)
        row["updated_at"] = item.created_at
        item.id = self.conn.execute(INSERT_OUTBOX, row).scalar_one()

    def find_by_key(self, idempotency_key: str) -> OutboxItem | None:
        row = self.conn.execute(OUTBOX_BY_KEY, {"idempotency_key": idempotency_key}).first()
        return outbox_from_row(row) if row else None

    def get_for_message(self, message_id: int, *, for_update: bool = False) -> OutboxItem | None:
        stmt = OUTBOX_BY_MESSAGE.with_for_update() if for_update else OUTBOX_BY_MESSAGE
        row = self.conn.execute(stmt, {"message_id": message_id}).first()
        return outbox_from_row(row) if row else None

    def claim_due(self, now: datetime, stale_before: datetime, limit: int) -> list[OutboxItem]:
        rows = self.conn.execute(OUTBOX_DUE, {"now": now, "stale": stale_before, "limit": limit})
        items = [outbox_from_row(row) for row in rows]
        if items:
            self.conn.execute(OUTBOX_MARK_SENDING, [{"_id": i.id, "now": now} for i in items])
        for item in items:  # as the update left them, but for in_doubt (what it was before)
            item.state, item.claimed_at, item.attempts = (
                DeliveryState.SENDING,
                now,
                item.attempts + 1,
            )
        return items

    def update(self, item: OutboxItem) -> None:
        row = _columns(item, t.outbox)
        self.conn.execute(
            OUTBOX_UPDATE,
            {
                "_id": item.id,
                **{k: row[k] for k in OUTBOX_UPDATE_COLUMNS},
                "updated_at": item.sent_at
                or item.claimed_at
                or item.next_attempt_at
                or item.created_at,
            },
        )


OUTBOX_UPDATE_COLUMNS = (
    "state",
    "attempts",
    "next_attempt_at",
    "last_error",
    "platform_message_id",
    "claimed_at",
    "in_doubt",
    "sent_at",
)


def outbox_from_row(row: Row[Any]) -> OutboxItem:
    return OutboxItem(
        id=row.id,
        message_id=row.message_id,
        conversation_id=row.conversation_id,
        channel_id=row.channel_id,
        idempotency_key=row.idempotency_key,
        created_at=row.created_at,
        state=DeliveryState(row.state),
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        last_error=row.last_error,
        platform_message_id=row.platform_message_id,
        claimed_at=row.claimed_at,
        in_doubt=bool(row.in_doubt),
        sent_at=row.sent_at,
    )


def poll_from_row(row: Row[Any]) -> ChannelPoll:
    return ChannelPoll(
        channel_id=row.channel_id,
        cursor=dict(row.cursor or {}),
        next_poll_at=row.next_poll_at,
        claimed_at=row.claimed_at,
        last_polled_at=row.last_polled_at,
        last_error=row.last_error,
        consecutive_errors=row.consecutive_errors,
        polled_messages=row.polled_messages,
    )


class ChannelPollRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def claim_due(
        self, channel_ids: Collection[int], now: datetime, stale_before: datetime, limit: int
    ) -> list[ChannelPoll]:
        ids = list(channel_ids)
        if not ids:
            return []
        known = set(self.conn.execute(POLLS_OF, {"ids": ids}).scalars())
        missing = [
            {
                "channel_id": i,
                "cursor": {},
                "next_poll_at": now,
                "consecutive_errors": 0,
                "polled_messages": 0,
            }
            for i in ids
            if i not in known
        ]
        if missing:
            build = sqlite_insert if self.conn.dialect.name == "sqlite" else pg_insert
            self.conn.execute(build(t.channel_polls).on_conflict_do_nothing(), missing)
        rows = self.conn.execute(
            POLLS_DUE, {"ids": ids, "now": now, "stale": stale_before, "limit": limit}
        )
        polls = [poll_from_row(row) for row in rows]
        if polls:
            self.conn.execute(POLL_CLAIM, [{"_id": p.channel_id, "now": now} for p in polls])
        for poll in polls:
            poll.claimed_at = now
        return polls

    def update(self, poll: ChannelPoll) -> None:
        self.conn.execute(
            POLL_UPDATE,
            {
                "_id": poll.channel_id,
                "cursor": poll.cursor,
                "next_poll_at": poll.next_poll_at,
                "claimed_at": poll.claimed_at,
                "last_polled_at": poll.last_polled_at,
                "last_error": poll.last_error,
                "consecutive_errors": poll.consecutive_errors,
                "polled_messages": poll.polled_messages,
            },
        )

    def get(self, channel_id: int) -> ChannelPoll | None:
        row = self.conn.execute(POLL_BY_CHANNEL, {"channel_id": channel_id}).first()
        return poll_from_row(row) if row else None


def quarantined_from_row(row: Row[Any]) -> QuarantinedDelivery:
    return QuarantinedDelivery(
        id=row.id,
        channel_id=row.channel_id,
        connector=row.connector,
        received_at=row.received_at,
        reason=row.reason,
        headers=dict(row.headers),
        query=dict(row.query),
        body=bytes(row.body),
        replayed_at=row.replayed_at,
        replay_result=row.replay_result,
    )


class QuarantineRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, item: QuarantinedDelivery) -> None:
        row = _columns(item, t.quarantine)
        row.pop("id", None)
        item.id = self.conn.execute(INSERT_QUARANTINE, row).scalar_one()

    def get(self, item_id: int, *, for_update: bool = False) -> QuarantinedDelivery | None:
        stmt = QUARANTINE_BY_ID.with_for_update() if for_update else QUARANTINE_BY_ID
        row = self.conn.execute(stmt, {"id": item_id}).first()
        return quarantined_from_row(row) if row else None

    def update(self, item: QuarantinedDelivery) -> None:
        self.conn.execute(
            QUARANTINE_UPDATE,
            {"_id": item.id, "replayed_at": item.replayed_at, "replay_result": item.replay_result},
        )


def template_from_row(row: Row[Any]) -> Template:
    return Template(
        id=row.id,
        name=row.name,
        body=row.body,
        created_at=row.created_at,
        updated_at=row.updated_at,
        updated_by=row.updated_by,
    )


def notification_from_row(row: Row[Any]) -> Notification:
    return Notification(
        id=row.id,
        kind=row.kind,
        target=row.target,
        destination=row.destination,
        payload=dict(row.payload),
        dedupe_key=row.dedupe_key,
        created_at=row.created_at,
        conversation_id=row.conversation_id,
        state=row.state,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        last_error=row.last_error,
        sent_at=row.sent_at,
    )


class NotificationRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, notification: Notification) -> bool:
        row = _columns(notification, t.notifications)
        build = sqlite_insert if self.conn.dialect.name == "sqlite" else pg_insert
        stmt = (
            build(t.notifications)
            .on_conflict_do_nothing(index_elements=["dedupe_key"])
            .returning(t.notifications.c.id)
        )
        found = self.conn.execute(stmt, row).scalar_one_or_none()
        notification.id = found
        return found is not None

    def claim_due(self, now: datetime, lease: timedelta, limit: int) -> list[Notification]:
        rows = self.conn.execute(NOTIFICATIONS_DUE, {"now": now, "limit": limit})
        found = [notification_from_row(row) for row in rows]
        for n in found:
            n.attempts += 1
            n.next_attempt_at = now + lease
        if found:
            self.conn.execute(
                NOTIFICATION_CLAIM,
                [{"_id": n.id, "attempts": n.attempts, "until": n.next_attempt_at} for n in found],
            )
        return found

    def update(self, notification: Notification) -> None:
        _update_many(
            self.conn,
            t.notifications,
            [notification],
            ["state", "attempts", "next_attempt_at", "last_error", "sent_at"],
        )


class ActivityRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def beat(self, activity: Activity, seen_up_to: datetime | None) -> None:
        build = sqlite_insert if self.conn.dialect.name == "sqlite" else pg_insert
        values = {
            "conversation_id": activity.conversation_id,
            "agent_id": activity.agent_id,
            "kind": activity.kind.value,
            "at": activity.at,
            "seen_up_to": seen_up_to,
        }
        stmt = build(t.activities).values(values)
        stmt = stmt.on_conflict_do_update(
            index_elements=["conversation_id", "agent_id"],
            set_={
                "kind": stmt.excluded.kind,
                "at": stmt.excluded.at,
                "seen_up_to": func.coalesce(stmt.excluded.seen_up_to, t.activities.c.seen_up_to),
            },
        )
        self.conn.execute(stmt)

    def in_conversation(self, conversation_id: int, since: datetime) -> list[Activity]:
        rows = self.conn.execute(
            ACTIVITIES_IN, {"conversation_id": conversation_id, "since": since}
        )
        return [Activity(r.agent_id, r.conversation_id, ActivityKind(r.kind), r.at) for r in rows]


def calendar_from_row(row: Row[Any]) -> CalendarSpec:
    return CalendarSpec(
        id=row.id,
        name=row.name,
        timezone=row.timezone,
        weekly=dict(row.weekly),
        created_at=row.created_at,
        updated_at=row.updated_at,
        holiday_country=row.holiday_country,
        holiday_subdivision=row.holiday_subdivision,
        extra_holidays=list(row.extra_holidays or []),
    )


def sla_policy_from_row(row: Row[Any]) -> SlaPolicySpec:
    return SlaPolicySpec(
        id=row.id,
        name=row.name,
        targets=list(row.targets),
        created_at=row.created_at,
        updated_at=row.updated_at,
        calendar_id=row.calendar_id,
        pause_when_pending=row.pause_when_pending,
        warn_before_minutes=row.warn_before_minutes,
    )


class _NamedRepository(Generic[N]):
    """Things kept by id and found by their unique name: calendars, SLA policies, templates.
    Each subclass names its table, its row mapper and the columns an update writes."""

    table: ClassVar[Table]
    columns: ClassVar[tuple[str, ...]]

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, item: N) -> None:
        _insert_many(self.conn, self.table, [item])

    def get(self, item_id: int) -> N | None:
        row = self.conn.execute(_by(self.table, "id"), {"id": item_id}).first()
        return self._one(row)

    def find(self, name: str) -> N | None:
        row = self.conn.execute(_by(self.table, "name"), {"name": name}).first()
        return self._one(row)

    def update(self, item: N) -> None:
        _update_many(self.conn, self.table, [item], list(self.columns))

    def delete(self, item_id: int) -> None:
        self.conn.execute(
            delete(self.table).where(self.table.c.id == bindparam("id")), {"id": item_id}
        )

    def _one(self, row: Row[Any] | None) -> N | None:
        return None if row is None else self.from_row(row)

    def from_row(self, row: Row[Any]) -> N:
        raise NotImplementedError


class CalendarRepository(_NamedRepository[CalendarSpec]):
    table = t.calendars
    columns = (
        "timezone",
        "weekly",
        "holiday_country",
        "holiday_subdivision",
        "extra_holidays",
        "updated_at",
    )

    def from_row(self, row: Row[Any]) -> CalendarSpec:
        return calendar_from_row(row)


class SlaPolicyRepository(_NamedRepository[SlaPolicySpec]):
    table = t.sla_policies
    columns = ("targets", "calendar_id", "pause_when_pending", "warn_before_minutes", "updated_at")

    def from_row(self, row: Row[Any]) -> SlaPolicySpec:
        return sla_policy_from_row(row)

    def longest_warning(self) -> int:
        found = self.conn.execute(select(func.max(t.sla_policies.c.warn_before_minutes))).scalar()
        return int(found or 0)


class TemplateRepository(_NamedRepository[Template]):
    table = t.templates
    columns = ("name", "body", "updated_at", "updated_by")

    def from_row(self, row: Row[Any]) -> Template:
        return template_from_row(row)


class NoticeRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add_many(self, notices: Sequence[Notice]) -> None:
        _insert_many(self.conn, t.agent_notices, notices)

    def mark_read(self, agent_id: int, notice_ids: Collection[int], now: datetime) -> int:
        if not notice_ids:
            return 0
        result = self.conn.execute(
            update(t.agent_notices)
            .where(
                t.agent_notices.c.agent_id == agent_id,
                t.agent_notices.c.id.in_(list(notice_ids)),
                t.agent_notices.c.read_at.is_(None),
            )
            .values(read_at=now)
        )
        return int(result.rowcount or 0)


class SavedViewRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def save(self, view: SavedView) -> None:
        self.delete(view.agent_id, view.name)
        _insert_many(self.conn, t.saved_views, [view])

    def delete(self, agent_id: int, name: str) -> bool:
        result = self.conn.execute(
            delete(t.saved_views).where(
                t.saved_views.c.agent_id == agent_id, t.saved_views.c.name == name
            )
        )
        return bool(result.rowcount)


class EventLog:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def append(self, events: Sequence[Event]) -> None:
        if not events:
            return
        self.conn.execute(
            INSERT_EVENTS,
            [
                {
                    "type": e.name,
                    "conversation_id": e.conversation_id,
                    "actor_agent_id": e.actor_agent_id,
                    "occurred_at": e.occurred_at,
                    "data": e.payload(),
                }
                for e in events
            ],
        )
        announce(self.conn)
