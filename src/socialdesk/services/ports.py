"""The interfaces services need from the outside world (typing.Protocol), and nothing else.

Repositories work in batches where intake needs speed: `add_many` assigns ids to the objects it is
given; `find_many` answers many lookups with one query. Concrete adapters live in `adapters/`; the
unit tests use in-memory fakes of these same protocols.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, Protocol, Self

from socialdesk.domain.agents import Agent, ApiToken, Team
from socialdesk.domain.channels import Channel
from socialdesk.domain.conversations import Conversation
from socialdesk.domain.customers import Customer, Identity
from socialdesk.domain.events import Event
from socialdesk.domain.messages import Message, RawEvent
from socialdesk.domain.outbox import OutboxItem
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


class PasswordHasher(Protocol):
    def hash(self, password: str) -> str: ...

    def verify(self, password_hash: str, password: str) -> bool: ...


class ChannelRepository(Protocol):
    def add(self, channel: Channel) -> None: ...

    def get(self, channel_id: int) -> Channel | None: ...

    def get_many(self, channel_ids: Collection[int]) -> dict[int, Channel]: ...

    def find(self, platform: str, name: str) -> Channel | None: ...


class CustomerRepository(Protocol):
    def add_many(self, customers: Sequence[Customer]) -> None: ...

    def get(self, customer_id: int, *, for_update: bool = False) -> Customer | None: ...

    def update(self, customer: Customer) -> None: ...


class IdentityRepository(Protocol):
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


class RawEventRepository(Protocol):
    def add_many(self, raw_events: Sequence[RawEvent]) -> None: ...


class AgentRepository(Protocol):
    def add(self, agent: Agent) -> None: ...

    def get(self, agent_id: int) -> Agent | None: ...

    def find(self, username: str) -> Agent | None: ...

    def update(self, agent: Agent) -> None: ...


class TeamRepository(Protocol):
    def add(self, team: Team) -> None: ...

    def get(self, team_id: int) -> Team | None: ...

    def find(self, name: str) -> Team | None: ...


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
