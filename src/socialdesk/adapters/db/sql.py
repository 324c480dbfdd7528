"""SQL pieces the read side and the stores share, the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    LargeBinary,
    Text,
    TextClause,
    any_,
    case,
    cast,
    extract,
    false,
    func,
    literal,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY


def hour_number(column: Any, dialect: str) -> ColumnElement[int]:
    """Whole hours from 1970-01-01 UTC to the time in `column`."""
    seconds = literal(3600, literal_execute=True)  # inline: GROUP BY repeats the same text
    if dialect == "sqlite":
        return cast(func.strftime("%s", column), Integer).op("/")(seconds)
    return cast(func.floor(extract("epoch", column).op("/")(seconds)), BigInteger)


def hour_start(number: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(hours=number)


def id_list(column: Any) -> ColumnElement[str | None]:
    """PostgreSQL: the group's ids as one comma-separated text ("3,17,42"; NULL for none):
    thousands of ids travel as one value, with no row or element for Python to handle (4,500
    ids as rows and then as an array parameter cost 50 ms in Python alone)."""
    return func.string_agg(cast(column, Text), literal(","))


def among(column: Any, ids: str) -> ColumnElement[bool]:
    """PostgreSQL: `column = ANY` the ids of `id_list`, inline, so that the planner sees a
    constant array and hashes it (a parameter's array is searched element by element for
    every row). The text holds only the database's own ids; it is quoted as a literal anyway."""
    constant = cast(literal(f"{{{ids}}}", literal_execute=True), ARRAY(BigInteger))
    condition: ColumnElement[bool] = column == any_(constant)
    return condition


def among_unestimated(column: Any, ids: str) -> ColumnElement[bool]:
    """`among`, hidden from the planner's estimate: it estimates `= ANY` of a constant array
    element by element (6 to 19 ms of planning for 45,000 ids, in every statement that carries
    them), but takes a COALESCE for an even chance. For a condition that a walk along an
    index checks row by row, where the estimate changes nothing; the array is still hashed."""
    return func.coalesce(among(column, ids), false())


# ids over a range this many times their number: a bitmap of it would outweigh the ids
SPARSE_IDS = 64


def packed_ids(column: Any) -> ColumnElement[bytes | None]:
    """PostgreSQL: the group's ids as one binary value, eight bytes each (NULL for none), for
    `in_bitmap`: a quarter less to read and send than `id_list`'s text (31 against 41 ms for
    45,000 ids), and nothing to parse."""
    return func.string_agg(func.int8send(column), literal(b"", LargeBinary))


def in_bitmap(column: Any, packed: bytes | None) -> ColumnElement[bool]:
    """PostgreSQL: whether `column` is one of the ids of `packed_ids`, by one bit each in a
    parameter (`get_bit`): a constant time per row, whatever the number of ids. Inlined as a
    constant array (`among`), 45,000 ids made every statement that carried them 300 KB of text to
    build, send and parse and an array to hash: 5 to 16 ms a statement, five statements a search
    over every status. The bitmap spans the ids' range (125 KB for a million conversations);
    ids too far apart for it (Citus gives each node its own range of a sequence) go inline
    instead (`among_unestimated`)."""
    if not packed:
        return false()
    ids = np.frombuffer(packed, dtype=">i8")
    low, high = int(ids.min()), int(ids.max())
    if high - low >= SPARSE_IDS * len(ids):
        return among_unestimated(column, ",".join(map(str, ids.tolist())))
    bits = np.zeros(high - low + 1, dtype=bool)
    bits[ids - low] = True
    bitmap = literal(np.packbits(bits, bitorder="little").tobytes(), LargeBinary)
    # CASE, not AND: get_bit fails outside the bitmap, and AND's order is the planner's.
    found: ColumnElement[bool] = case(
        (column.between(low, high), func.get_bit(bitmap, column - low) == 1), else_=false()
    )
    return found


def count_if(condition: ColumnElement[bool]) -> ColumnElement[int]:
    """How many rows of the group meet the condition (0 for none)."""
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def counts_entries(column: Any, dialect: str) -> tuple[Any, ColumnElement[str], ColumnElement[int]]:
    """The entries of a JSON object of counts (`{"41": 3}`) as rows, for summing in SQL: the
    table-valued function to select from, its key and its value as an integer."""
    if dialect == "sqlite":
        entries = func.json_each(column).table_valued("key", "value")
        return entries, entries.c.key, cast(entries.c.value, Integer)
    entries = func.jsonb_each_text(column).table_valued("key", "value")
    return entries, entries.c.key, cast(entries.c.value, BigInteger)


def added_counts(table: str, column: str, dialect: str) -> TextClause:
    """For an upsert's update: the JSON object of counts in `column` with the incoming row's
    counts added key by key (keys that come to zero dropped), computed by the database, so
    adding to a row needs no read first."""
    # The names are the schema's own (never input), so the text is assembled here.
    old, new = f"{table}.{column}", f"excluded.{column}"
    if dialect == "sqlite":
        merged = (
            "(SELECT coalesce(json_group_object(k, s), '{}') FROM ("  # noqa: S608 - see above
            "SELECT k, sum(v) AS s FROM ("
            f"SELECT key AS k, value AS v FROM json_each({old}) "
            f"UNION ALL SELECT key, value FROM json_each({new})"
            ") GROUP BY k HAVING sum(v) != 0))"
        )
        return text(f"CASE WHEN {new} = '{{}}' THEN {old} ELSE {merged} END")
    merged = (
        "(SELECT coalesce(jsonb_object_agg(k, s), '{}'::jsonb) FROM ("  # noqa: S608 - see above
        "SELECT k, sum(v::bigint) AS s FROM ("
        f"SELECT key AS k, value AS v FROM jsonb_each_text({old}) "
        f"UNION ALL SELECT key, value FROM jsonb_each_text({new})"
        ") AS u GROUP BY k HAVING sum(v::bigint) <> 0) AS g)"
    )
    return text(f"CASE WHEN {new} = '{{}}'::jsonb THEN {old} ELSE {merged} END")
