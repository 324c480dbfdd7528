"""The interfaces services need from the outside world (typing.Protocol), and nothing else.

Repositories work in batches where intake needs speed: `add_many` assigns ids to the objects it is
given; `find_many` answers many lookups with one query. Concrete adapters live in `adapters/`; the
unit tests use in-memory fakes of these same protocols.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from types import TracebackType
from typing import Any, Protocol, Self, runtime_checkable

from socialdesk.domain.agents import Agent, ApiToken, Team
from socialdesk.domain.alerts import Alert, SamplePost
from socialdesk.domain.channels import Channel, ChannelPoll
from socialdesk.domain.connectors import (
    Delivery,
    MessageChange,
    OutboundReply,
    QuarantinedDelivery,
    SendResult,
    WebhookRequest,
    WebhookResponse,
)
from socialdesk.domain.conversations import Conversation
from socialdesk.domain.customers import Customer, Identity
from socialdesk.domain.events import Event
from socialdesk.domain.listening import SavedQuery, StoredPost
from socialdesk.domain.messages import DeliveryState, Message, RawEvent
from socialdesk.domain.notices import Notice, SavedView
from socialdesk.domain.notifications import Notification
from socialdesk.domain.outbox import OutboxItem
from socialdesk.domain.platforms import PlatformCapabilities
from socialdesk.domain.playbook import Facts, Playbook
from socialdesk.domain.playbook_versions import PlaybookVersion
from socialdesk.domain.reporting import (
    ConversationFact,
    ConversationFacts,
    MessageFact,
    RecordedMessage,
)
from socialdesk.domain.reviews import Review, Rubric, SampleRequest
from socialdesk.domain.rollups import Contributions, Cuts
from socialdesk.domain.routing import Activity
from socialdesk.domain.sla_specs import CalendarSpec, SlaPolicySpec
from socialdesk.domain.surveys import Survey
from socialdesk.domain.templates import Template
from socialdesk.domain.triage import TextSignals, TriageInput


class RetryableConflict(Exception):
    """A concurrent transaction won a race (unique key, deadlock); the whole unit may be retried."""


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


class Classifier(Protocol):
    """The triage models: what a text says, for a batch of texts, in order."""

    @property
    def version(self) -> str: ...

    def classify(self, texts: Sequence[str]) -> list[TextSignals]: ...


class SecretBox(Protocol):
    """Encrypts channel credentials for storage and opens them where a connector needs them."""

    def seal(self, settings: Mapping[str, str]) -> dict[str, str]: ...

    def open(self, name: str, value: str) -> str: ...

    def derive(self, purpose: str) -> str:
        """A secret for another purpose, derived from the desk's key."""
        ...


class PasswordHasher(Protocol):
    def hash(self, password: str) -> str: ...

    def verify(self, password_hash: str, password: str) -> bool: ...


class Connector(Protocol):
    """One platform integration: a package under `adapters/connectors/`.

    `name` is the `{connector}` segment of its webhook path (`/webhooks/{name}/{channel}`);
    `platforms` are the platforms whose channels it serves, with what an answer on each may be.
    `settings` names the channel settings it reads, with what each is for. A connector that has
    no webhooks, no poller or no sender says so in `features` and raises NotFound / InvalidInput
    with a sentence an admin can act on if asked anyway. Every method gets the channel with its
    settings (credentials decrypted).
    """

    @property
    def name(self) -> str: ...

    @property
    def platforms(self) -> tuple[PlatformCapabilities, ...]: ...

    @property
    def settings(self) -> dict[str, str]: ...

    @property
    def features(self) -> frozenset[str]:
        """Some of "webhook", "poll", "send"."""
        ...

    @property
    def default_poll_seconds(self) -> int | None:
        """How often its channels are polled unless a channel says (`poll_seconds`); None: not
        unless a channel asks."""
        ...

    def handshake(self, channel: Channel, request: WebhookRequest) -> WebhookResponse:
        """Answer the platform's verification GET (X's CRC, Meta's hub.challenge)."""
        ...

    def verify(self, channel: Channel, request: WebhookRequest) -> None:
        """Raise SignatureInvalid unless the delivery is signed with the channel's secret."""
        ...

    def parse(self, channel: Channel, request: WebhookRequest) -> Delivery:
        """The messages in a verified delivery; PayloadInvalid when it cannot be read."""
        ...

    def poll(self, channel: Channel, cursor: dict[str, Any]) -> tuple[Delivery, dict[str, Any]]:
        """New messages since `cursor`, and the cursor to start from next time."""
        ...

    def send(self, channel: Channel, reply: OutboundReply) -> SendResult:
        """Post the reply; SendError when the platform refuses or fails."""
        ...

    def find_sent(self, channel: Channel, reply: OutboundReply) -> SendResult | None:
        """The post an earlier attempt of this reply made, if the platform shows one: asked
        before sending again after an attempt whose outcome is unknown (a crash, a timeout)."""
        ...

    def close(self) -> None:
        """Let go of connections (HTTP pools) when the desk shuts down."""
        ...


class Connectors(Protocol):
    """The installed connectors, found by name or by the platform they serve."""

    def get(self, name: str) -> Connector:
        """The connector, or NotFound naming the installed ones."""
        ...

    def for_platform(self, platform: str) -> Connector | None: ...

    def capabilities(self, platform: str) -> PlatformCapabilities: ...

    def all(self) -> Sequence[Connector]: ...


class ChannelRepository(Protocol):
    def add(self, channel: Channel) -> None: ...

    def get(self, channel_id: int) -> Channel | None: ...

    def list_active(self, platforms: Collection[str]) -> list[Channel]: ...

    def update(self, channel: Channel) -> None: ...

    def get_many(self, channel_ids: Collection[int]) -> dict[int, Channel]: ...

    def find(self, platform: str, name: str) -> Channel | None: ...


class CustomerRepository(Protocol):
    def add_many(self, customers: Sequence[Customer]) -> None: ...

    def get(self, customer_id: int, *, for_update: bool = False) -> Customer | None: ...

    def update(self, customer: Customer) -> None: ...


class IdentityRepository(Protocol):
    def get(self, identity_id: int) -> Identity | None: ...

    def find_many(self, platform: str, external_ids: Collection[str]) -> dict[str, Identity]: ...

    def add_many(self, identities: Sequence[Identity]) -> None: ...

    def update_many(self, identities: Sequence[Identity]) -> None: ...


class ConversationRepository(Protocol):
    def get(self, conversation_id: int, *, for_update: bool = False) -> Conversation | None:
        """One conversation with its tags; `for_update` locks it until the transaction ends."""
        ...

    def get_many(self, conversation_ids: Collection[int]) -> dict[int, Conversation]:
        """Locked for update; tags are not loaded (and `update_many` does not write them)."""
        ...

    def latest_by_thread_keys(
        self, channel_id: int, thread_keys: Collection[str]
    ) -> dict[str, Conversation]:
        """The newest conversation per thread key on a channel, locked for update."""
        ...

    def add_many(self, conversations: Sequence[Conversation]) -> None: ...

    def update_many(self, conversations: Sequence[Conversation]) -> None: ...

    def set_tags(self, conversation_id: int, tags: Sequence[str]) -> None: ...

    def due_snoozes(self, now: datetime, limit: int) -> list[Conversation]: ...

    def stale_priorities(self, scored_before: datetime, limit: int) -> list[Conversation]:
        """Open, waiting conversations scored before a time, oldest score first, locked (others
        skip them)."""
        ...

    def open_counts(self, agent_ids: Collection[int]) -> dict[int, dict[str, int]]:
        """Open and pending conversations each agent holds, per platform."""
        ...

    def assigned_open(self, agent_id: int) -> list[Conversation]:
        """An agent's conversations that are not closed (open, pending, snoozed), locked, to hand
        them on when they go offline: a pending one comes back when the customer answers."""
        ...

    def take_candidates(self, team_ids: Collection[int], limit: int) -> list[Conversation]:
        """Open, unassigned conversations of these teams or of no team, most urgent first (by
        SLA due time, then priority); read without locks (see `claim_free`)."""
        ...

    def claim_free(self, conversation_id: int) -> Conversation | None:
        """The conversation locked for this transaction if it is still open and unassigned and
        nobody else holds it (SKIP LOCKED), else None: how two agents taking next at once get
        two different conversations instead of one of them getting nothing."""
        ...

    def sla_stale(self, limit: int) -> list[Conversation]:
        """Conversations changed since their SLA was last computed, locked (others skip them)."""
        ...

    def sla_due_before(self, before: datetime, limit: int) -> list[Conversation]:
        """Open conversations whose next SLA due time is before `before` and whose state does
        not yet say breached, soonest first, locked."""
        ...


class MessageRepository(Protocol):
    def find_many(self, channel_id: int, external_ids: Collection[str]) -> dict[str, Message]: ...

    def add_many(self, messages: Sequence[Message]) -> None: ...

    def get(self, message_id: int) -> Message | None: ...

    def claim_for_triage(self, now: datetime, stale_before: datetime, limit: int) -> list[int]:
        """Mark up to `limit` untriaged inbound messages as taken now (claims older than
        `stale_before` are taken again: their worker died) and return their ids."""
        ...

    def triage_inputs(self, message_ids: Collection[int]) -> list[TriageInput]: ...

    def set_triage(self, results: Sequence[tuple[int, dict[str, Any]]]) -> None: ...

    def latest_inbound(self, conversation_id: int) -> Message | None:
        """The customer's newest message in a conversation (what a reply answers by default)."""
        ...

    def set_delivery(
        self,
        message_id: int,
        state: DeliveryState,
        *,
        error: str | None = None,
        external_id: str | None = None,
        url: str | None = None,
    ) -> None: ...

    def claim_for_playbook(self, now: datetime, stale_before: datetime, limit: int) -> list[int]:
        """Triaged inbound messages the playbook has not seen, marked taken now (claims older
        than `stale_before` are taken again), in id order."""
        ...

    def playbook_facts(self, message_ids: Collection[int]) -> list[tuple[Facts, int | None]]:
        """What the rules see about each message (business_hours left True: the service knows
        the calendars), with its conversation's team id."""
        ...

    def history(
        self,
        since: datetime | None,
        after_id: int,
        limit: int,
        business_hours: Callable[[int | None, datetime], bool] | None = None,
    ) -> list[tuple[Facts, int | None, float | None]]:
        """Stored inbound messages for a backtest, by id after `after_id`: facts (with
        `business_hours(team id, time)` when given), the team they had, and for a conversation's
        first message the minutes to its first response."""
        ...

    def set_playbook(self, message_id: int, result: dict[str, Any]) -> None: ...

    def inbound_id_range(self) -> tuple[int, int] | None: ...

    def brand_replies(self, conversation_id: int) -> list[tuple[int, int | None, datetime]]:
        """(message id, agent id, time) of the outbound replies in a conversation."""
        ...

    def apply_change(self, change: MessageChange) -> bool:
        """Apply an edit or removal to a stored message; False when there is no such message."""
        ...


class RawEventRepository(Protocol):
    def add_many(self, raw_events: Sequence[RawEvent]) -> None: ...


class AgentRepository(Protocol):
    def add(self, agent: Agent) -> None: ...

    def in_team(self, team_id: int) -> list[Agent]: ...

    def get(self, agent_id: int) -> Agent | None: ...

    def find(self, username: str) -> Agent | None: ...

    def update(self, agent: Agent) -> None: ...


class TeamRepository(Protocol):
    def add(self, team: Team) -> None: ...

    def get(self, team_id: int) -> Team | None: ...

    def find(self, name: str) -> Team | None: ...

    def list_all(self) -> list[Team]: ...

    def update(self, team: Team) -> None: ...


class NotificationRepository(Protocol):
    def add(self, notification: Notification) -> bool:
        """Store it unless one with the same dedupe key exists; whether it was stored."""
        ...

    def claim_due(self, now: datetime, lease: timedelta, limit: int) -> list[Notification]:
        """Due notifications, locked, with one more attempt and held for `lease` (a worker that
        dies leaves them to be taken again after it)."""
        ...

    def update(self, notification: Notification) -> None: ...


class Notifier(Protocol):
    """Sends an escalation by webhook or e-mail; SendError when it could not."""

    def send(self, notification: Notification) -> None: ...

    def close(self) -> None: ...


class CalendarRepository(Protocol):
    def add(self, calendar: CalendarSpec) -> None: ...

    def get(self, calendar_id: int) -> CalendarSpec | None: ...

    def find(self, name: str) -> CalendarSpec | None: ...

    def update(self, calendar: CalendarSpec) -> None: ...


class SlaPolicyRepository(Protocol):
    def add(self, policy: SlaPolicySpec) -> None: ...

    def get(self, policy_id: int) -> SlaPolicySpec | None: ...

    def find(self, name: str) -> SlaPolicySpec | None: ...

    def update(self, policy: SlaPolicySpec) -> None: ...

    def longest_warning(self) -> int:
        """The largest `warn_before_minutes` of any policy (0 when there is none)."""
        ...


class Holidays(Protocol):
    """Public holidays of a country (and region) for some years."""

    def __call__(
        self, country: str, years: Iterable[int], subdivision: str | None = None
    ) -> frozenset[date]: ...


class ActivityRepository(Protocol):
    def beat(self, activity: Activity, seen_up_to: datetime | None) -> None:
        """Record that an agent is viewing or typing in a conversation now (one row each)."""
        ...

    def in_conversation(self, conversation_id: int, since: datetime) -> list[Activity]: ...


class PlaybookVersionRepository(Protocol):
    def add(self, version: PlaybookVersion) -> None: ...

    def get(self, version: int) -> PlaybookVersion | None: ...

    def live(self) -> PlaybookVersion | None: ...

    def latest_number(self) -> int: ...

    def list(self, limit: int) -> list[PlaybookVersion]:
        """Newest first."""
        ...

    def activate(self, version: int, now: datetime) -> None:
        """Make this version the live one (and no other)."""
        ...

    def previously_live(self, current: int) -> PlaybookVersion | None:
        """The version that was live before `current` (the most recently activated other one)."""
        ...


class PlaybookParser(Protocol):
    """Reads a playbook file; PlaybookInvalid lists every problem with its line and rule."""

    def __call__(self, text: str, source: str = "playbook.yaml") -> Playbook: ...


class NoticeRepository(Protocol):
    def add_many(self, notices: Sequence[Notice]) -> None: ...

    def mark_read(self, agent_id: int, notice_ids: Collection[int], now: datetime) -> int:
        """Mark an agent's notices read (others' are untouched); how many were marked."""
        ...


class SavedViewRepository(Protocol):
    def save(self, view: SavedView) -> None:
        """Store it, replacing the agent's view of the same name."""
        ...

    def delete(self, agent_id: int, name: str) -> bool: ...


class TemplateRepository(Protocol):
    def add(self, template: Template) -> None: ...

    def find(self, name: str) -> Template | None: ...

    def update(self, template: Template) -> None: ...

    def delete(self, template_id: int) -> None: ...


class TokenRepository(Protocol):
    def add(self, token: ApiToken) -> None: ...

    def get(self, token_id: int) -> ApiToken | None: ...

    def find_owner(self, token_hash: str) -> tuple[ApiToken, Agent] | None:
        """The token with this digest and the user it belongs to."""
        ...

    def update(self, token: ApiToken) -> None: ...


class OutboxRepository(Protocol):
    def add(self, item: OutboxItem) -> None: ...

    def find_by_key(self, idempotency_key: str) -> OutboxItem | None: ...

    def get_for_message(
        self, message_id: int, *, for_update: bool = False
    ) -> OutboxItem | None: ...

    def claim_due(self, now: datetime, stale_before: datetime, limit: int) -> list[OutboxItem]:
        """Items due for an attempt (queued and due, or left `sending` by a worker that died
        before `stale_before`), locked so other workers skip them; each is marked `sending`
        with one more attempt. `in_doubt` on the returned items is what it was before: whether
        an earlier attempt may have reached the platform."""
        ...

    def update(self, item: OutboxItem) -> None: ...


class ChannelPollRepository(Protocol):
    def claim_due(
        self, channel_ids: Collection[int], now: datetime, stale_before: datetime, limit: int
    ) -> list[ChannelPoll]:
        """Polls of these channels that are due (creating missing ones), locked and marked taken."""
        ...

    def update(self, poll: ChannelPoll) -> None: ...

    def get(self, channel_id: int) -> ChannelPoll | None: ...


class QuarantineRepository(Protocol):
    def add(self, item: QuarantinedDelivery) -> None: ...

    def get(self, item_id: int, *, for_update: bool = False) -> QuarantinedDelivery | None: ...

    def update(self, item: QuarantinedDelivery) -> None: ...


class EventLog(Protocol):
    def append(self, events: Sequence[Event]) -> None: ...


class UnitOfWork(Protocol):
    """One transaction. Leaving the `with` block without `commit()` rolls everything back."""

    @property
    def channels(self) -> ChannelRepository: ...

    @property
    def customers(self) -> CustomerRepository: ...

    @property
    def identities(self) -> IdentityRepository: ...

    @property
    def conversations(self) -> ConversationRepository: ...

    @property
    def messages(self) -> MessageRepository: ...

    @property
    def raw_events(self) -> RawEventRepository: ...

    @property
    def agents(self) -> AgentRepository: ...

    @property
    def teams(self) -> TeamRepository: ...

    @property
    def tokens(self) -> TokenRepository: ...

    @property
    def outbox(self) -> OutboxRepository: ...

    @property
    def polls(self) -> ChannelPollRepository: ...

    @property
    def templates(self) -> TemplateRepository: ...

    @property
    def notifications(self) -> NotificationRepository: ...

    @property
    def calendars(self) -> CalendarRepository: ...

    @property
    def activities(self) -> ActivityRepository: ...

    @property
    def playbooks(self) -> PlaybookVersionRepository: ...

    @property
    def notices(self) -> NoticeRepository: ...

    @property
    def saved_views(self) -> SavedViewRepository: ...

    @property
    def sla_policies(self) -> SlaPolicyRepository: ...

    @property
    def quarantine(self) -> QuarantineRepository: ...

    @property
    def events(self) -> EventLog: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...


class UnitOfWorkFactory(Protocol):
    def __call__(self, *, read_only: bool = False) -> UnitOfWork:
        """A fresh unit; a read-only one never takes the write lock (SQLite) and cannot commit."""
        ...


# -- Analytics, listening and quality (issue 8): stores only the SQL unit of work has ----------


class ReportingStore(Protocol):
    """The reporting facts (docs/metrics.md) and the reporting job's cursors."""

    def cursor(self, name: str) -> int:
        """Where the job stopped; held (locked) until the unit ends."""
        ...

    def set_cursor(self, name: str, last_id: int) -> None: ...

    def changed_by_messages(
        self, after: int, limit: int, unplayed_until: datetime
    ) -> tuple[set[int], int, int]:
        """(conversations touched, id read up to, rows read) for messages after `after`."""
        ...

    def changed_by_events(self, after: int, limit: int) -> tuple[set[int], int, int]: ...

    def conversations(self, conversation_ids: Collection[int]) -> dict[int, Conversation]:
        """With their tags, and without locking them."""
        ...

    def records(self, conversation_ids: Collection[int]) -> dict[int, list[RecordedMessage]]: ...

    def replace(
        self, facts: Sequence[tuple[ConversationFacts, Sequence[MessageFact], ConversationFact]]
    ) -> None: ...

    def previous(
        self, conversation_ids: Collection[int]
    ) -> dict[int, tuple[Cuts, list[MessageFact], ConversationFact]]:
        """The facts written last time, as the rollups counted them."""
        ...

    def add_to_rollups(self, delta: Contributions) -> None: ...

    def hold_for_rollups(self, delta: Contributions) -> None:
        """For a rebuild: changes to add to the rollups by `add_held_rollups`, in the same
        transaction (an engine may add them at once)."""
        ...

    def add_held_rollups(self) -> None: ...

    def ends(self, unplayed_until: datetime) -> tuple[int, int]:
        """(message id, event id) the job may read up to now: every message to the first
        customer message still waiting for the playbook (unless it came before
        `unplayed_until`), every event."""
        ...

    def clear(self) -> None:
        """Every fact and rollup row gone (the cursors stay)."""
        ...

    def conversation_ids(self, after: int, limit: int) -> list[int]:
        """Up to `limit` conversation ids after `after`, in order."""
        ...

    def conversation_count(self) -> int: ...


class ReviewStore(Protocol):
    """Quality reviews: rubric versions, reviews, and what a sample is drawn from."""

    def latest_rubric(self) -> Rubric | None:
        """The newest saved version, or None before any was saved."""
        ...

    def add_rubric(self, rubric: Rubric) -> Rubric:
        """Store a new version; returns it with its id."""
        ...

    def has_review(self, conversation_id: int, reviewer_id: int) -> bool: ...

    def add(self, review: Review) -> None:
        """Store it and set its id."""
        ...

    def candidates(self, request: SampleRequest) -> list[int]:
        """Closed conversations in the request's range and mode that nobody has reviewed."""
        ...


class ListeningStore(Protocol):
    """Saved listening queries, what they matched, hourly counts and spike alerts."""

    def add_query(self, query: SavedQuery) -> None:
        """Store it and set its id."""
        ...

    def get_query(self, query_id: int, *, for_update: bool = False) -> SavedQuery | None: ...

    def find_query(self, name: str) -> SavedQuery | None:
        """The query of this name, in any case."""
        ...

    def update_query(self, query: SavedQuery) -> None: ...

    def delete_query(self, query_id: int) -> None:
        """The query and its matches."""
        ...

    def active_queries(self) -> list[SavedQuery]: ...

    def public_posts(self, message_ids: Collection[int]) -> list[StoredPost]:
        """The public inbound messages among these."""
        ...

    def add_matches(self, matches: Sequence[tuple[int, int, datetime, bool]]) -> None:
        """(query id, message id, the post's time, negative) rows."""
        ...

    def set_meta(self, metas: Sequence[tuple[int, dict[str, Any]]]) -> None:
        """Replace these messages' `meta`."""
        ...

    def conversation_tags(self, conversation_ids: Collection[int]) -> dict[int, list[str]]: ...

    def add_conversation_tags(self, pairs: Sequence[tuple[int, str]]) -> None:
        """Add (conversation id, tag) rows that are not there yet."""
        ...

    def count_posts(self, counts: Sequence[tuple[datetime, str, int, int]]) -> None:
        """Add (hour start, intent or '', posts, negative posts) to the hourly counts."""
        ...

    def post_hours(self, since: datetime) -> list[tuple[datetime, str, int, int]]:
        """(hour start, intent or '', posts, negative posts) of public inbound posts from
        `since`."""
        ...

    def match_hours(
        self, query_ids: Collection[int], since: datetime
    ) -> list[tuple[int, datetime, int, int]]:
        """(query id, hour start, matches, negative matches) from `since`."""
        ...

    def sample_posts(
        self,
        start: datetime,
        end: datetime,
        *,
        intent: str | None = None,
        query_id: int | None = None,
        negative_first: bool = False,
        limit: int = 5,
    ) -> list[SamplePost]: ...

    def claim_check(self, now: datetime, every: timedelta) -> bool:
        """Whether the spike job should run now (it did not within `every`); takes the turn."""
        ...

    def latest_alerts(self) -> list[Alert]:
        """The newest alert of each subject, open or closed."""
        ...

    def add_alert(self, alert: Alert) -> None:
        """Store it and set its id."""
        ...

    def update_alert(self, alert: Alert) -> None:
        """Store its state and `closed_at`."""
        ...


class SurveyStore(Protocol):
    """CSAT/NPS surveys asked after a close, and the close events that ask for them."""

    def closes_after(
        self, after: int, limit: int
    ) -> tuple[list[tuple[int, int, datetime]], int, int]:
        """(event id, conversation id, time) of the closes among the `limit` events after id
        `after`, the id read up to, and how many events were read."""
        ...

    def add(self, survey: Survey) -> None:
        """Store it and set its id."""
        ...

    def by_token_hash(self, token_hash: str, *, for_update: bool = False) -> Survey | None: ...

    def latest_for_conversation(self, conversation_id: int) -> Survey | None: ...

    def last_asked(self, customer_id: int) -> datetime | None:
        """When the customer was last asked, on any channel."""
        ...

    def awaiting(self, customer_ids: Collection[int], since: datetime) -> list[tuple[int, Survey]]:
        """(customer id, survey) of these customers' unanswered surveys that expire after
        `since`, locked for update."""
        ...

    def save_answer(self, survey: Survey) -> None: ...


@runtime_checkable
class SurveyUnitOfWork(Protocol):
    """A unit of work that stores surveys, as intake needs to read answers in its own
    transaction. The SQL unit is one; the core's in-memory fakes are not, and with them no
    message is read as a survey answer."""

    @property
    def surveys(self) -> SurveyStore: ...


class AnalyticsUnitOfWork(UnitOfWork, Protocol):
    """A unit of work that also reaches the stores of analytics, listening and quality. Only the
    services of those features need it, so the fakes of the core need not grow."""

    @property
    def reporting(self) -> ReportingStore: ...

    @property
    def reviews(self) -> ReviewStore: ...

    @property
    def listening(self) -> ListeningStore: ...

    @property
    def surveys(self) -> SurveyStore: ...


class AnalyticsUnitOfWorkFactory(Protocol):
    def __call__(self, *, read_only: bool = False) -> AnalyticsUnitOfWork: ...
