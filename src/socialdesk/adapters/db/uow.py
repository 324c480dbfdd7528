"""SqlAlchemyUnitOfWork: one connection, one transaction, the repositories bound to it.

Lost races on PostgreSQL (a unique key another transaction inserted first, a deadlock, a
serialisation failure) and an SQLite lock that outlasted the busy timeout surface as
`RetryableConflict`, so services can run the whole unit again; every other error passes unchanged.
"""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Self

from sqlalchemy import Engine
from sqlalchemy.engine import Connection, RootTransaction
from sqlalchemy.exc import DBAPIError

from socialdesk.adapters.db import repositories as r
from socialdesk.adapters.db.engine import SQLITE_BEGIN, is_sqlite
from socialdesk.adapters.db.listening import ListeningStore
from socialdesk.adapters.db.reporting import ReportingStore
from socialdesk.adapters.db.reviews import ReviewStore
from socialdesk.adapters.db.surveys import SurveyStore
from socialdesk.services.ports import RetryableConflict

LOCK_TIMEOUT = 30.0
# unique_violation, serialization_failure, deadlock_detected
RETRYABLE_SQLSTATES = {"23505", "40001", "40P01"}


class SqlAlchemyUnitOfWork:
    channels: r.ChannelRepository
    customers: r.CustomerRepository
    identities: r.IdentityRepository
    conversations: r.ConversationRepository
    messages: r.MessageRepository
    raw_events: r.RawEventRepository
    agents: r.AgentRepository
    teams: r.TeamRepository
    tokens: r.TokenRepository
    outbox: r.OutboxRepository
    polls: r.ChannelPollRepository
    templates: r.TemplateRepository
    notifications: r.NotificationRepository
    calendars: r.CalendarRepository
    activities: r.ActivityRepository
    playbooks: r.PlaybookVersionRepository
    notices: r.NoticeRepository
    saved_views: r.SavedViewRepository
    sla_policies: r.SlaPolicyRepository
    quarantine: r.QuarantineRepository
    events: r.EventLog
    reporting: ReportingStore
    reviews: ReviewStore
    listening: ListeningStore
    surveys: SurveyStore

    def __init__(
        self,
        engine: Engine,
        *,
        read_only: bool = False,
        write_lock: threading.Lock | None = None,
    ) -> None:
        self.engine = engine
        self.read_only = read_only
        self._write_lock = None if read_only else write_lock
        self._holding = False
        self._conn: Connection | None = None
        self._tx: RootTransaction | None = None

    def __enter__(self) -> Self:
        if self._write_lock is not None:
            if not self._write_lock.acquire(timeout=LOCK_TIMEOUT):
                raise RetryableConflict(f"no write turn within {LOCK_TIMEOUT} s")
            self._holding = True
        try:
            conn = self.engine.connect()
        except BaseException:
            self._release()
            raise
        if is_sqlite(self.engine) and not self.read_only:
            conn = conn.execution_options(**{SQLITE_BEGIN: "IMMEDIATE"})
        self._conn = conn
        self._tx = conn.begin()
        self.channels = r.ChannelRepository(conn)
        self.customers = r.CustomerRepository(conn)
        self.identities = r.IdentityRepository(conn)
        self.conversations = r.ConversationRepository(conn)
        self.messages = r.MessageRepository(conn)
        self.raw_events = r.RawEventRepository(conn)
        self.agents = r.AgentRepository(conn)
        self.teams = r.TeamRepository(conn)
        self.tokens = r.TokenRepository(conn)
        self.outbox = r.OutboxRepository(conn)
        self.polls = r.ChannelPollRepository(conn)
        self.templates = r.TemplateRepository(conn)
        self.notifications = r.NotificationRepository(conn)
        self.calendars = r.CalendarRepository(conn)
        self.activities = r.ActivityRepository(conn)
        self.playbooks = r.PlaybookVersionRepository(conn)
        self.notices = r.NoticeRepository(conn)
        self.saved_views = r.SavedViewRepository(conn)
        self.sla_policies = r.SlaPolicyRepository(conn)
        self.quarantine = r.QuarantineRepository(conn)
        self.events = r.EventLog(conn)
        self.reporting = ReportingStore(conn)
        self.reviews = ReviewStore(conn)
        self.listening = ListeningStore(conn)
        self.surveys = SurveyStore(conn)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if self._tx is not None and self._tx.is_active:
                self._tx.rollback()
        finally:
            if self._conn is not None:
                self._conn.close()
            self._conn = self._tx = None
            self._release()
        if isinstance(exc, DBAPIError) and _retryable(exc):
            raise RetryableConflict(str(exc.orig)) from exc

    def commit(self) -> None:
        if self.read_only:
            raise RuntimeError("a read-only unit of work cannot commit")
        assert self._tx is not None
        try:
            self._tx.commit()
        except DBAPIError as exc:
            if _retryable(exc):
                raise RetryableConflict(str(exc.orig)) from exc
            raise

    def rollback(self) -> None:
        assert self._tx is not None
        self._tx.rollback()

    def _release(self) -> None:
        if self._holding and self._write_lock is not None:
            self._holding = False
            self._write_lock.release()


def _retryable(exc: DBAPIError) -> bool:
    sqlstate = getattr(exc.orig, "sqlstate", None)
    if sqlstate in RETRYABLE_SQLSTATES:
        return True
    return "database is locked" in str(exc.orig)


class SqlAlchemyUnitOfWorkFactory:
    """Units on one engine. On SQLite, writers of this process take turns on a lock first.

    SQLite admits one writer at a time; a writer that finds the database locked sleeps in
    growing steps (up to 100 ms) before trying again, which turns a short queue into a long tail.
    Queueing on a process-wide lock hands the turn over at once instead. Writers in other
    processes (an import next to the server) still meet SQLite's busy timeout. A thread must not
    open a write unit while it holds another.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._write_lock = threading.Lock() if is_sqlite(engine) else None

    def __call__(self, *, read_only: bool = False) -> SqlAlchemyUnitOfWork:
        return SqlAlchemyUnitOfWork(self.engine, read_only=read_only, write_lock=self._write_lock)
