"""Composition root: the one place that picks concrete adapters and wires them together."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import Engine

from socialdesk.adapters.clock import SystemClock
from socialdesk.adapters.db.engine import make_engine, refresh_statistics
from socialdesk.adapters.db.migrate import current_revision, head_revision, upgrade
from socialdesk.adapters.db.uow import SqlAlchemyUnitOfWorkFactory
from socialdesk.adapters.passwords import Argon2PasswordHasher
from socialdesk.config import Settings
from socialdesk.domain.sla import ResponseTargets
from socialdesk.services.intake import IntakePolicy
from socialdesk.services.ports import Clock, PasswordHasher, UnitOfWorkFactory


@dataclass
class Desk:
    """Everything an entry point (web app, CLI, worker) needs, built once."""

    settings: Settings
    engine: Engine
    uow: UnitOfWorkFactory
    clock: Clock
    hasher: PasswordHasher
    policy: IntakePolicy = field(default_factory=IntakePolicy)

    def close(self) -> None:
        self.engine.dispose()

    def refresh_statistics(self) -> None:
        """Let the query planner see the data as it is now; run after bulk loads."""
        refresh_statistics(self.engine)

    def schema_revisions(self) -> tuple[str | None, str | None]:
        """(the database's schema revision, the revision this code expects); raises when the
        database cannot be reached."""
        return current_revision(self.engine), head_revision(self.engine)


def bootstrap(settings: Settings, *, clock: Clock | None = None, migrate: bool = True) -> Desk:
    """Build the desk; with `migrate` the database schema is brought up to date first."""
    engine = make_engine(
        settings.database_url,
        sqlite_synchronous=settings.sqlite_synchronous,
        pool_size=settings.db_pool_size,
    )
    if migrate:
        upgrade(engine)
    policy = IntakePolicy(
        quiet_period=timedelta(hours=settings.reopen_quiet_period_hours),
        targets=ResponseTargets(
            first_response=timedelta(minutes=settings.first_response_minutes),
            next_response=timedelta(minutes=settings.next_response_minutes),
        ),
    )
    return Desk(
        settings=settings,
        engine=engine,
        uow=SqlAlchemyUnitOfWorkFactory(engine),
        clock=clock or SystemClock(),
        hasher=Argon2PasswordHasher(),
        policy=policy,
    )
