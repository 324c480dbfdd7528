"""SQL pieces the read side and the stores share, the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Integer, case, cast, extract, func, literal


def hour_number(column: Any, dialect: str) -> ColumnElement[int]:
    """Whole hours from 1970-01-01 UTC to the time in `column`."""
    seconds = literal(3600, literal_execute=True)  # inline: GROUP BY repeats the same text
    if dialect == "sqlite":
        return cast(func.strftime("%s", column), Integer).op("/")(seconds)
    return cast(func.floor(extract("epoch", column).op("/")(seconds)), BigInteger)


def hour_start(number: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(hours=number)


def count_if(condition: ColumnElement[bool]) -> ColumnElement[int]:
    """How many rows of the group meet the condition (0 for none)."""
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)
