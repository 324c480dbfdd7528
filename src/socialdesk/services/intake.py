"""Intake: normalised messages become stored messages in threaded conversations, durably, once.

The whole batch is one transaction: either every item is stored (and committed before the caller
acknowledges anything) or, when one item is wrong, nothing is and the error names the item's index.
A message already stored under (channel, external_id) is a redelivery: its outcome points at the
stored message and nothing else changes. Lookups are made per batch (one query per kind of thing),
not per message, so a batch of 1,000 costs a handful of statements.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

from socialdesk.domain.channels import Channel
from socialdesk.domain.conversations import Conversation, Status
from socialdesk.domain.customers import Customer, Identity
from socialdesk.domain.errors import ItemInvalid
from socialdesk.domain.events import (
    ConversationOpened,
    ConversationReopened,
    Event,
    MessageReceived,
)
from socialdesk.domain.messages import (
    Author,
    Direction,
    Message,
    NormalisedMessage,
    RawEvent,
)
from socialdesk.domain.sla import ResponseTargets
from socialdesk.domain.threading import ThreadDecision, decide_thread
from socialdesk.services.ports import RetryableConflict, UnitOfWork, UnitOfWorkFactory
from socialdesk.services.survey_answers import BatchAnswers

T = TypeVar("T")
RETRIES = 5


@dataclass(frozen=True, slots=True)
class IntakePolicy:
    """How intake threads: the quiet period after which a closed conversation is not reopened."""

    quiet_period: timedelta = timedelta(days=7)
    targets: ResponseTargets = field(default_factory=ResponseTargets)


@dataclass(frozen=True, slots=True)
class IngestOutcome:
    message_id: int
    conversation_id: int
    created: bool


@dataclass(slots=True)
class IngestResult:
    outcomes: list[IngestOutcome]
    new_conversations: int = 0
    reopened_conversations: int = 0
    new_customers: int = 0

    @property
    def new_messages(self) -> int:
        return sum(1 for o in self.outcomes if o.created)

    @property
    def duplicates(self) -> int:
        return len(self.outcomes) - self.new_messages


def ingest(
    uow_factory: UnitOfWorkFactory,
    items: Sequence[NormalisedMessage],
    *,
    now: datetime,
    policy: IntakePolicy,
    source: str,
) -> IngestResult:
    """Store a batch; retried whole when a concurrent writer won a race (PostgreSQL)."""
    return with_retries(lambda: _ingest_once(uow_factory(), items, now, policy, source))


def with_retries(attempt: Callable[[], T]) -> T:
    """Run a transactional attempt again after a lost race; the loser's work was rolled back."""
    for _ in range(RETRIES - 1):
        try:
            return attempt()
        except RetryableConflict:
            continue
    return attempt()


def _ingest_once(
    uow: UnitOfWork,
    items: Sequence[NormalisedMessage],
    now: datetime,
    policy: IntakePolicy,
    source: str,
) -> IngestResult:
    with uow:
        batch = _Batch(uow, now, policy)
        batch.load(items)
        placed = [batch.place(index, item) for index, item in enumerate(items)]
        result = batch.flush(placed, source)
        uow.commit()
    return result


@dataclass(slots=True)
class _Placed:
    """Where one item went: a new message (to store) or the stored message it repeats."""

    message: Message
    conversation: Conversation
    created: bool
    item: NormalisedMessage | None = None
    opened: bool = False
    reopened: bool = False


class _Batch:
    """The batch's view of the database, loaded up front and extended as items are placed."""

    def __init__(self, uow: UnitOfWork, now: datetime, policy: IntakePolicy) -> None:
        self.uow = uow
        self.now = now
        self.policy = policy
        self.channels: dict[int, Channel] = {}
        self.messages: dict[tuple[int, str], Message] = {}
        self.conversations: dict[int, Conversation] = {}
        self.by_thread_key: dict[tuple[int, str], Conversation] = {}
        self.identities: dict[tuple[str, str], Identity] = {}
        self.new_conversations: list[Conversation] = []
        self.message_conversation: dict[int, Conversation] = {}
        self.new_customer_count = 0
        self.answers = BatchAnswers(uow)

    # -- loading -----------------------------------------------------------------------------

    def load(self, items: Sequence[NormalisedMessage]) -> None:
        self.channels = self.uow.channels.get_many({i.channel_id for i in items})
        for index, item in enumerate(items):
            channel = self.channels.get(item.channel_id)
            if channel is None:
                raise ItemInvalid(
                    index,
                    f"channel {item.channel_id} does not exist; list channels with "
                    "GET /api/v1/channels or create one with POST /api/v1/channels",
                    field="channel_id",
                )
            if not channel.active:
                raise ItemInvalid(
                    index, f"channel {item.channel_id} is deactivated", field="channel_id"
                )
            if item.direction is Direction.NOTE:
                raise ItemInvalid(
                    index,
                    "notes are written by agents on a conversation, not ingested",
                    field="direction",
                )
            if item.direction is Direction.INBOUND and item.author is None:
                raise ItemInvalid(index, "an inbound message needs its author", field="author")

        wanted: dict[int, set[str]] = {}
        keys: dict[int, set[str]] = {}
        for item in items:
            wanted.setdefault(item.channel_id, set()).update(
                [item.external_id, *item.threading_refs()]
            )
            key = item.participant_thread_key()
            if key:
                keys.setdefault(item.channel_id, set()).add(key)
        for channel_id, external_ids in wanted.items():
            for external_id, message in self.uow.messages.find_many(
                channel_id, external_ids
            ).items():
                self.messages[(channel_id, external_id)] = message
        referenced = {m.conversation_id for m in self.messages.values() if m.conversation_id}
        self.conversations = self.uow.conversations.get_many(referenced)
        for channel_id, thread_keys in keys.items():
            for key, conversation in self.uow.conversations.latest_by_thread_keys(
                channel_id, thread_keys
            ).items():
                assert conversation.id is not None
                known = self.conversations.setdefault(conversation.id, conversation)
                self.by_thread_key[(channel_id, key)] = known
        self._resolve_identities(items)
        self._load_surveys(items)

    def _resolve_identities(self, items: Sequence[NormalisedMessage]) -> None:
        """Find or create the customer behind each new item's customer party, in bulk.

        A new identity whose author carries an e-mail address joins the customer who owns that
        address (creating the e-mail identity when nobody does), so a chat or a social account
        that gives its address lands in the same permanent record as the customer's e-mails.
        Redelivered items are skipped so that a redelivery changes nothing, not even profile facts.
        """
        parties: dict[str, dict[str, Author]] = {}
        for item in items:
            party = item.customer_party
            if party is None or (item.channel_id, item.external_id) in self.messages:
                continue
            platform = self.channels[item.channel_id].platform
            parties.setdefault(platform, {})[_identity_key(platform, party)] = party
        changed: list[Identity] = []
        missing: list[tuple[str, str, Author]] = []
        for platform, by_key in parties.items():
            found = self.uow.identities.find_many(platform, by_key.keys())
            for key, party in by_key.items():
                identity = found.get(key)
                if identity is None:
                    missing.append((platform, key, party))
                    continue
                if identity.refresh(
                    handle=party.handle,
                    display_name=party.name,
                    followers=party.followers,
                    verified=party.verified,
                ):
                    changed.append(identity)
                self.identities[(platform, key)] = identity
        if missing:
            self._create_identities(missing)
        if changed:
            self.uow.identities.update_many(changed)

    def _load_surveys(self, items: Sequence[NormalisedMessage]) -> None:
        """The open surveys of the batch's writers, and the conversations they were asked in (a
        message that only answers one joins it, even when nothing else points there)."""
        writers = [
            item
            for item in items
            if item.direction is Direction.INBOUND
            and (item.channel_id, item.external_id) not in self.messages
        ]
        customers = {
            customer
            for item in writers
            if (customer := self._identity(item).customer_id) is not None
        }
        since = min((item.created_at or self.now for item in writers), default=self.now)
        wanted = self.answers.load(customers, since) - self.conversations.keys()
        if wanted:
            self.conversations.update(self.uow.conversations.get_many(wanted))

    def _identity(self, item: NormalisedMessage) -> Identity:
        party = item.customer_party
        assert party is not None
        platform = self.channels[item.channel_id].platform
        return self.identities[(platform, _identity_key(platform, party))]

    def _create_identities(self, missing: list[tuple[str, str, Author]]) -> None:
        emails = {
            p.email.lower()
            for platform, _, p in missing
            if p.email and platform != "email" and ("email", p.email.lower()) not in self.identities
        }
        for key, identity in self.uow.identities.find_many("email", emails).items():
            self.identities[("email", key)] = identity
        customers: list[Customer] = []
        owner: dict[tuple[str, str], Customer | int] = {}
        new: list[Identity] = []

        def add(platform: str, key: str, party: Author, customer: Customer | int) -> None:
            identity = Identity(
                platform=platform,
                external_id=key,
                customer_id=None,
                created_at=self.now,
                handle=party.handle if platform != "email" else key,
                display_name=party.name,
                followers=party.followers if platform != "email" else None,
                verified=bool(party.verified) if platform != "email" else False,
            )
            owner[(platform, key)] = customer
            self.identities[(platform, key)] = identity
            new.append(identity)

        for platform, key, party in missing:
            if (platform, key) in self.identities:
                continue  # created a moment ago as another party's e-mail identity
            address = party.email.lower() if party.email and platform != "email" else None
            known = self.identities.get(("email", address)) if address else None
            customer: Customer | int
            if known is not None and address is not None:
                customer = owner.get(("email", address)) or _customer_id(known)
            else:
                customer = Customer(created_at=self.now, name=party.name or party.handle)
                customers.append(customer)
                if address:
                    add("email", address, Author(external_id=address, name=party.name), customer)
            add(platform, key, party, customer)
        self.uow.customers.add_many(customers)
        for identity in new:
            customer = owner[(identity.platform, identity.external_id)]
            identity.customer_id = customer if isinstance(customer, int) else customer.id
        self.uow.identities.add_many(new)
        self.new_customer_count = len(customers)

    # -- placing -----------------------------------------------------------------------------

    def place(self, index: int, item: NormalisedMessage) -> _Placed:
        existing = self.messages.get((item.channel_id, item.external_id))
        if existing is not None:
            conversation = self._conversation_of(existing)
            return _Placed(existing, conversation, created=False)

        channel = self.channels[item.channel_id]
        at = item.created_at or self.now
        identity = self._identity(item) if item.customer_party is not None else None
        candidate = self._candidate(item)
        decision = decide_thread(candidate, at, self.policy.quiet_period)
        answered = (
            self.answers.read(
                item.channel_id,
                identity.customer_id,
                item.text,
                at,
                (candidate, decision),
            )
            if item.direction is Direction.INBOUND
            and identity is not None
            and identity.customer_id is not None
            else None
        )
        opened = reopened = False
        if answered is not None and answered.answer.only:
            conversation = self.conversations[answered.survey.conversation_id]
        elif decision is ThreadDecision.NEW:
            if identity is None:
                raise ItemInvalid(
                    index,
                    "an outbound message must answer a known message (in_reply_to) "
                    "or name its recipient",
                    field="in_reply_to",
                )
            conversation = self._open(channel, item, identity, at)
            opened = True
        else:
            assert candidate is not None
            conversation = candidate

        message = Message(
            conversation_id=conversation.id,
            channel_id=item.channel_id,
            direction=item.direction,
            visibility=item.effective_visibility,
            kind=item.kind,
            text=item.text,
            created_at=at,
            received_at=self.now,
            external_id=item.external_id,
            author_identity_id=identity.id
            if identity is not None and item.direction is Direction.INBOUND
            else None,
            in_reply_to=item.in_reply_to,
            references=list(item.references),
            subject=item.subject,
            url=item.url,
            meta=dict(item.meta),
        )
        if answered is not None:
            self.answers.take(answered, message, at)
        if answered is not None and answered.answer.only:
            conversation.record_survey_answer(at, self.now)
        elif item.direction is Direction.INBOUND:
            reopened = conversation.receive_customer_message(
                at, item.text, self.now, self.policy.targets
            )
        else:
            keep = Status.CLOSED if conversation.status is Status.CLOSED else Status.PENDING
            conversation.record_brand_reply(at, self.now, keep)
        self.messages[(item.channel_id, item.external_id)] = message
        self.message_conversation[id(message)] = conversation
        return _Placed(message, conversation, True, item, opened, reopened)

    def _candidate(self, item: NormalisedMessage) -> Conversation | None:
        for ref in item.threading_refs():
            parent = self.messages.get((item.channel_id, ref))
            if parent is not None:
                return self._conversation_of(parent)
        key = item.participant_thread_key()
        if key:
            return self.by_thread_key.get((item.channel_id, key))
        return None

    def _conversation_of(self, message: Message) -> Conversation:
        in_batch = self.message_conversation.get(id(message))
        if in_batch is not None:
            return in_batch
        assert message.conversation_id is not None
        return self.conversations[message.conversation_id]

    def _open(
        self, channel: Channel, item: NormalisedMessage, identity: Identity, at: datetime
    ) -> Conversation:
        assert identity.customer_id is not None
        thread_key = item.participant_thread_key()
        conversation = Conversation(
            channel_id=item.channel_id,
            platform=channel.platform,
            customer_id=identity.customer_id,
            identity_id=identity.id,
            visibility=item.effective_visibility,
            created_at=at,
            status=Status.OPEN if item.direction is Direction.INBOUND else Status.PENDING,
            thread_key=thread_key,
            subject=item.subject,
            updated_at=self.now,
        )
        self.new_conversations.append(conversation)
        if thread_key:
            self.by_thread_key[(item.channel_id, thread_key)] = conversation
        return conversation

    # -- writing -----------------------------------------------------------------------------

    def flush(self, placed: list[_Placed], source: str) -> IngestResult:
        """Write raw events, conversations, messages and events in dependency order."""
        fresh = [p for p in placed if p.created]
        raw_events = [
            RawEvent(
                source=source,
                received_at=self.now,
                payload=p.item.raw if p.item.raw is not None else p.item.as_record(),
                channel_id=p.message.channel_id,
            )
            for p in fresh
            if p.item is not None
        ]
        if raw_events:
            self.uow.raw_events.add_many(raw_events)
            for p, raw in zip(fresh, raw_events, strict=True):
                p.message.raw_event_id = raw.id
        if self.new_conversations:
            self.uow.conversations.add_many(self.new_conversations)
        for p in fresh:
            p.message.conversation_id = p.conversation.id
        if fresh:
            self.uow.messages.add_many([p.message for p in fresh])
        new_ids = {id(c) for c in self.new_conversations}
        touched = {id(p.conversation): p.conversation for p in fresh}
        updated = [c for key, c in touched.items() if key not in new_ids]
        if updated:
            self.uow.conversations.update_many(updated)
        self.uow.events.append([*self._events(fresh), *self.answers.flush(self.now)])
        outcomes = []
        for p in placed:
            assert p.message.id is not None
            assert p.conversation.id is not None
            outcomes.append(IngestOutcome(p.message.id, p.conversation.id, p.created))
        return IngestResult(
            outcomes=outcomes,
            new_conversations=len(self.new_conversations),
            reopened_conversations=sum(1 for p in fresh if p.reopened),
            new_customers=self.new_customer_count,
        )

    def _events(self, fresh: list[_Placed]) -> list[Event]:
        events: list[Event] = []
        for p in fresh:
            conversation = p.conversation
            if p.opened:
                events.append(
                    ConversationOpened(
                        occurred_at=self.now,
                        conversation_id=conversation.id,
                        channel_id=conversation.channel_id,
                        customer_id=conversation.customer_id,
                    )
                )
            if p.reopened:
                events.append(
                    ConversationReopened(
                        occurred_at=self.now, conversation_id=conversation.id, by_customer=True
                    )
                )
            assert p.message.id is not None
            events.append(
                MessageReceived(
                    occurred_at=self.now,
                    conversation_id=conversation.id,
                    message_id=p.message.id,
                    channel_id=p.message.channel_id,
                    direction=p.message.direction.value,
                )
            )
        return events


def _customer_id(identity: Identity) -> int:
    assert identity.customer_id is not None
    return identity.customer_id


def _identity_key(platform: str, party: Author) -> str:
    """E-mail addresses are case-insensitive; every other platform id is kept as given."""
    return party.external_id.lower() if platform == "email" else party.external_id
