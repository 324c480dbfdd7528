"""Composition root: the one place that picks concrete adapters and wires them together."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import Engine

from socialdesk.adapters.calendars import holiday_dates
from socialdesk.adapters.clock import SystemClock
from socialdesk.adapters.connectors import InstalledConnectors
from socialdesk.adapters.db.change_feed import (
    ChangeFeed as ChangeFeed,
)  # the web streams wait on it
from socialdesk.adapters.db.engine import make_engine, refresh_statistics
from socialdesk.adapters.db.migrate import current_revision, head_revision, upgrade
from socialdesk.adapters.db.uow import SqlAlchemyUnitOfWorkFactory
from socialdesk.adapters.notifier import WebhookAndMailNotifier
from socialdesk.adapters.passwords import Argon2PasswordHasher
from socialdesk.adapters.playbooks.yaml_format import parse_playbook
from socialdesk.adapters.secrets import FernetSecretBox
from socialdesk.config import Settings
from socialdesk.domain.connectors import QuarantinedDelivery
from socialdesk.domain.sla import ResponseTargets
from socialdesk.domain.triage import PriorityWeights
from socialdesk.services.intake import IntakePolicy
from socialdesk.services.notifications import Destination
from socialdesk.services.playbooks import LivePlaybook, Runtime
from socialdesk.services.ports import (
    AnalyticsUnitOfWorkFactory,
    Classifier,
    Clock,
    Connectors,
    Holidays,
    Notifier,
    PasswordHasher,
    PlaybookParser,
    SecretBox,
    UnitOfWorkFactory,
)
from socialdesk.services.spikes import ALERT_TARGET, SpikePolicy
from socialdesk.services.triage import TriagePolicy
from socialdesk.services.webhooks import replay


@dataclass
class Desk:
    """Everything an entry point (web app, CLI, worker) needs, built once."""

    settings: Settings
    engine: Engine
    uow: UnitOfWorkFactory
    clock: Clock
    hasher: PasswordHasher
    secrets: SecretBox
    connectors: Connectors
    notifier: Notifier
    parse_playbook: PlaybookParser = parse_playbook
    holidays: Holidays = holiday_dates
    policy: IntakePolicy = field(default_factory=IntakePolicy)
    triage_policy: TriagePolicy = field(default_factory=TriagePolicy)
    classifier_override: Classifier | None = None
    work_signal: threading.Event = field(default_factory=threading.Event)
    replica: Engine | None = None  # a streaming replica for the heavy reads, when configured
    _classifier: Classifier | None = field(default=None, init=False, repr=False)
    _classifier_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _live: LivePlaybook | None = field(default=None, init=False, repr=False)

    def close(self) -> None:
        self.engine.dispose()
        if self.replica is not None:
            self.replica.dispose()
        for connector in self.connectors.all():
            connector.close()
        self.notifier.close()

    def classifier(self) -> Classifier:
        """The triage models, loaded on first use (a second or two), so commands that never
        triage never pay for them."""
        if self.classifier_override is not None:
            return self.classifier_override
        with self._classifier_lock:
            if self._classifier is None:
                from socialdesk.adapters.classifiers.language import DEFAULT_LANGUAGES
                from socialdesk.adapters.classifiers.triage import ModelTriage

                s = self.settings
                self._classifier = ModelTriage(
                    custom=s.model_dir,
                    pii_patterns=s.pii_patterns,
                    pii_region=s.pii_region,
                    languages=tuple(s.triage_languages) or DEFAULT_LANGUAGES,
                    threads=s.triage_threads,
                )
            return self._classifier

    def playbook_runtime(self) -> Runtime:
        """What the worker applies the live playbook with (the parsed live version is kept
        between passes)."""
        if self._live is None:
            self._live = LivePlaybook(self.parse_playbook)
        return Runtime(
            live=self._live,
            holidays=self.holidays,
            weights=self.triage_policy.weights,
            target_minutes=self.policy.targets.first_response.total_seconds() / 60,
            public_url=self.settings.public_url,
            capabilities=self.connectors.capabilities,
        )

    def spike_policy(self) -> SpikePolicy:
        """What the worker's spike job runs with (read on each pass)."""
        return spike_policy(self.settings)

    @property
    def analytics_uow(self) -> AnalyticsUnitOfWorkFactory:
        """The same units of work, typed with the stores of analytics, listening and quality
        (only the SQL unit of work has them)."""
        if not isinstance(self.uow, SqlAlchemyUnitOfWorkFactory):
            raise TypeError("analytics needs the database's unit of work")
        return self.uow

    @property
    def read_engine(self) -> Engine:
        """Where the inbox lists, search and analytics read: the replica when there is one (a
        little behind the primary), else the database itself. Reads that must see a write just
        made, and every write, use `engine`."""
        return self.replica if self.replica is not None else self.engine

    def change_feed(self) -> ChangeFeed:
        """What wakes a web process's live streams when any process commits events (one per
        app: PostgreSQL LISTEN/NOTIFY; polling on SQLite)."""
        return ChangeFeed(self.engine)

    def notify_work(self) -> None:
        """Wake the background worker now (new messages to triage) instead of at its next tick."""
        self.work_signal.set()

    def replay_quarantined(self, item_id: int) -> QuarantinedDelivery:
        """Take in a quarantined delivery again (after a fix), waking the worker for what came."""
        return replay(
            self.uow,
            self.connectors,
            item_id,
            now=self.clock.now(),
            policy=self.policy,
            on_done=lambda _: self.notify_work(),
        )

    def refresh_statistics(self) -> None:
        """Let the query planner see the data as it is now; run after bulk loads."""
        refresh_statistics(self.engine)

    def schema_revisions(self) -> tuple[str | None, str | None]:
        """(the database's schema revision, the revision this code expects); raises when the
        database cannot be reached."""
        return current_revision(self.engine), head_revision(self.engine)


def spike_policy(s: Settings) -> SpikePolicy:
    """How the spike job runs and where its alerts go (SOCIALDESK_TIMEZONE, SPIKE_*,
    ALERT_WEBHOOK_URL, ALERT_EMAIL)."""
    emails = tuple(a.strip() for a in (s.alert_email or "").split(",") if a.strip())
    wanted = s.alert_webhook_url or emails
    return SpikePolicy(
        timezone=s.timezone,
        every=timedelta(minutes=s.spike_check_minutes),
        settings=s.spike_settings(),
        destination=Destination(ALERT_TARGET, s.alert_webhook_url or None, emails)
        if wanted
        else None,
        public_url=s.public_url,
    )


def bootstrap(
    settings: Settings,
    *,
    clock: Clock | None = None,
    migrate: bool = True,
    classifier: Classifier | None = None,
    connectors: Connectors | None = None,
) -> Desk:
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
    secrets = FernetSecretBox.from_settings(settings.secret_key, settings.secret_key_file)
    return Desk(
        settings=settings,
        engine=engine,
        uow=SqlAlchemyUnitOfWorkFactory(engine),
        clock=clock or SystemClock(),
        hasher=Argon2PasswordHasher(),
        secrets=secrets,
        connectors=connectors or InstalledConnectors.discover(secrets),
        notifier=WebhookAndMailNotifier(
            signing_secret=settings.notify_signing_secret,
            smtp_url=settings.smtp_url,
            mail_from=settings.mail_from,
        ),
        policy=policy,
        triage_policy=TriagePolicy(
            weights=PriorityWeights.from_mapping(settings.priority_weights),
            targets=policy.targets,
        ),
        classifier_override=classifier,
        replica=(
            make_engine(settings.read_database_url, pool_size=settings.db_pool_size)
            if settings.read_database_url
            else None
        ),
    )
