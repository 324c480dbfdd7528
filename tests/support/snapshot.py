"""Every row of every table, to prove that a refused request changed nothing."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, select

from socialdesk.adapters.db.tables import metadata


def snapshot(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    rows: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            stmt = select(table).order_by(*table.primary_key.columns)
            rows[table.name] = [tuple(r) for r in conn.execute(stmt)]
    return rows
