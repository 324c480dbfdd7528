"""Alembic environment: the engine comes from the caller (`migrate.py`) or from Settings."""

from __future__ import annotations

from alembic import context

from socialdesk.adapters.db.engine import make_engine
from socialdesk.adapters.db.tables import include_in_autogenerate, metadata
from socialdesk.config import Settings

config = context.config
engine = config.attributes.get("engine") or make_engine(Settings().database_url)

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_object=include_in_autogenerate,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
