"""Full-text search over message text: FTS5 on SQLite, tsvector on PostgreSQL, same meaning.

A query is words (letters and digits); every word must occur (AND). Operators and quotes typed by
a person are not passed to the engines' query languages, so no input can make a search fail.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import ColumnElement, Exists, Select, exists, func, literal_column, select, text
from sqlalchemy.engine import Connection

from socialdesk.adapters.db import tables as t
from socialdesk.domain.errors import InvalidInput

WORD = re.compile(r"\w+", re.UNICODE)
MAX_WORDS = 12
# SQLite's index rowid: conversation id << 32 | message id (migration 0011)
CONVERSATION_SHIFT = 32
MESSAGE_BITS = (1 << CONVERSATION_SHIFT) - 1


def search_words(query: str) -> list[str]:
    words = WORD.findall(query.lower())[:MAX_WORDS]
    if not words:
        raise InvalidInput(
            "the search text has no words (letters or digits) to look for", field="q"
        )
    return words


def message_search_condition(query: str, dialect: str) -> ColumnElement[bool]:
    """A condition on `messages` true for messages containing every word of the query."""
    if dialect == "sqlite":
        message_id = literal_column("rowid").op("&")(MESSAGE_BITS)
        return t.messages.c.id.in_(_sqlite_index(query, message_id))
    tsquery = func.to_tsquery("simple", " & ".join(search_words(query)))
    return literal_column("messages.search").op("@@")(tsquery)


def estimated_matches(conn: Connection, query: str) -> int:
    """PostgreSQL: the planner's estimate of how many messages contain every word, from the
    column's statistics (no row is read; within 3% of the count for the words of the scale
    benchmark at a million conversations)."""
    counted: Select[Any] = select(literal_column("1")).select_from(t.messages)
    compiled = counted.where(message_search_condition(query, "postgresql")).compile(conn)
    explained = conn.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {compiled}", compiled.params)
    plan: Any = explained.scalar_one()
    return int(plan[0]["Plan"]["Plan Rows"])


def sqlite_matches(query: str) -> Select[Any]:
    """One row per message containing every word, from SQLite's full-text index alone: counting
    these costs a third of counting through `messages`."""
    return _sqlite_index(query, literal_column("rowid"))


def sqlite_matching_conversations(query: str) -> Select[Any]:
    """The ids of the conversations with a message containing every word (a conversation once
    per matching message), from the index alone: its rowids carry the conversation's id
    (migration 0011)."""
    return _sqlite_index(query, literal_column("rowid").op(">>")(CONVERSATION_SHIFT))


def conversation_matches(query: str, conversation_id: ColumnElement[Any], dialect: str) -> Exists:
    """Whether one conversation has a message containing every word, without a list of all the
    matches (what a walk over a common word's conversations needs). SQLite: the range of the
    index's rowids that are its messages, about 13 µs a conversation at a million; PostgreSQL:
    its messages by conversation, each checked against the query, about 10 µs."""
    if dialect != "sqlite":
        m = t.messages.c
        return exists().where(
            m.conversation_id == conversation_id, message_search_condition(query, dialect)
        )
    first = conversation_id.op("<<")(CONVERSATION_SHIFT)
    rowid: ColumnElement[Any] = literal_column("rowid")
    return exists(
        _sqlite_index(query, rowid).where(rowid.between(first, first.op("|")(MESSAGE_BITS)))
    )


def _sqlite_index(query: str, column: ColumnElement[Any]) -> Select[Any]:
    match = " ".join(f'"{w}"' for w in search_words(query))
    return (
        select(column)
        .select_from(text("messages_fts"))
        .where(text("messages_fts MATCH :fts_query").bindparams(fts_query=match))
    )
