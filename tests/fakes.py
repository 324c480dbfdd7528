"""In-memory fakes of our ports, for unit tests of services: same protocols, no database.

The fake unit of work copies objects in and out, so a service that forgets to save a change (or to
commit) is caught just as it would be against a real database.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, ClassVar, Self, TypeVar

from socialdesk.domain.agents import Agent, ApiToken, Team
from socialdesk.domain.channels import Channel, ChannelPoll, is_secret_setting
from socialdesk.domain.connectors import (
    Delivery,
    HandshakeRefused,
    MessageChange,
    OutboundReply,
    PayloadInvalid,
    QuarantinedDelivery,
    SendError,
    SendResult,
    SignatureInvalid,
    WebhookRequest,
    WebhookResponse,
)
from socialdesk.domain.conversations import Conversation, Status
from socialdesk.domain.customers import Customer, Identity
from socialdesk.domain.errors import NotFound
from socialdesk.domain.events import Event
from socialdesk.domain.messages import (
    Author,
    DeliveryState,
    Direction,
    Message,
    NormalisedMessage,
    RawEvent,
)
from socialdesk.domain.notices import Notice, SavedView
from socialdesk.domain.notifications import Notification
from socialdesk.domain.outbox import OutboxItem
from socialdesk.domain.platforms import PlatformCapabilities, capabilities_for
from socialdesk.domain.playbook import Facts
from socialdesk.domain.playbook_versions import PlaybookVersion
from socialdesk.domain.routing import Activity
from socialdesk.domain.triage import PiiFinding, TextSignals, TriageInput

T = TypeVar("T")


class FrozenClock:
    """A clock that stands still until a test moves it."""

    def __init__(self, now: datetime | None = None) -> None:
        self.current = now or datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> datetime:
        self.current += timedelta(**delta)
        return self.current


class FakePasswordHasher:
    def hash(self, password: str) -> str:
        return "fake$" + password[::-1]

    def verify(self, password_hash: str, password: str) -> bool:
        return password_hash == self.hash(password)


class FakeSecretBox:
    """Marks secrets as sealed without real cryptography (the real box has its own tests)."""

    PREFIX = "sealed:"

    def seal(self, settings: Mapping[str, str]) -> dict[str, str]:
        return {
            k: (
                self.PREFIX + v
                if is_secret_setting(k) and v and not v.startswith(self.PREFIX)
                else v
            )
            for k, v in settings.items()
        }

    def open(self, name: str, value: str) -> str:
        return value.removeprefix(self.PREFIX)

    def derive(self, purpose: str) -> str:
        return f"derived-{purpose}"


@dataclass
class Store:
    """The committed state all fake units share."""

    tables: dict[str, dict[int, Any]] = field(default_factory=dict)
    tags: dict[int, list[str]] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    next_id: int = 1

    def table(self, name: str) -> dict[int, Any]:
        return self.tables.setdefault(name, {})


class _Repo:
    name = ""

    def __init__(self, state: Store) -> None:
        self.state = state

    @property
    def rows(self) -> dict[int, Any]:
        return self.state.table(self.name)

    def _add(self, obj: Any) -> None:
        obj.id = self.state.next_id
        self.state.next_id += 1
        self.rows[obj.id] = copy.deepcopy(obj)

    def _get(self, obj_id: int | None) -> Any:
        found = self.rows.get(obj_id or -1)
        return copy.deepcopy(found) if found is not None else None

    def _put(self, obj: Any) -> None:
        assert obj.id in self.rows, f"update of unknown {self.name} {obj.id}"
        self.rows[obj.id] = copy.deepcopy(obj)

    def _where(self, **conditions: Any) -> list[Any]:
        return [
            copy.deepcopy(row)
            for row in self.rows.values()
            if all(getattr(row, k) == v for k, v in conditions.items())
        ]


class FakeChannels(_Repo):
    name = "channels"

    def add(self, channel: Channel) -> None:
        self._add(channel)

    def get(self, channel_id: int) -> Channel | None:
        found: Channel | None = self._get(channel_id)
        return found

    def get_many(self, channel_ids: Collection[int]) -> dict[int, Channel]:
        return {i: c for i in channel_ids if (c := self.get(i)) is not None}

    def find(self, platform: str, name: str) -> Channel | None:
        found = self._where(platform=platform, name=name)
        return found[0] if found else None

    def list_active(self, platforms: Collection[str]) -> list[Channel]:
        return sorted(
            (c for c in self._where(active=True) if c.platform in platforms), key=lambda c: c.id
        )

    def update(self, channel: Channel) -> None:
        self._put(channel)


class FakeCustomers(_Repo):
    name = "customers"

    def add_many(self, customers: Sequence[Customer]) -> None:
        for customer in customers:
            self._add(customer)

    def get(self, customer_id: int, *, for_update: bool = False) -> Customer | None:
        found: Customer | None = self._get(customer_id)
        return found

    def update(self, customer: Customer) -> None:
        self._put(customer)


class FakeIdentities(_Repo):
    name = "identities"

    def get(self, identity_id: int) -> Identity | None:
        found: Identity | None = self._get(identity_id)
        return found

    def find_many(self, platform: str, external_ids: Collection[str]) -> dict[str, Identity]:
        wanted = set(external_ids)
        return {i.external_id: i for i in self._where(platform=platform) if i.external_id in wanted}

    def add_many(self, identities: Sequence[Identity]) -> None:
        for identity in identities:
            assert identity.customer_id in self.state.table("customers")
            assert not self.find_many(identity.platform, [identity.external_id]), "unique key"
            self._add(identity)

    def update_many(self, identities: Sequence[Identity]) -> None:
        for identity in identities:
            self._put(identity)


class FakeConversations(_Repo):
    name = "conversations"

    def get(self, conversation_id: int, *, for_update: bool = False) -> Conversation | None:
        found: Conversation | None = self._get(conversation_id)
        if found is not None:
            found.tags = list(self.state.tags.get(conversation_id, []))
        return found

    def get_many(self, conversation_ids: Collection[int]) -> dict[int, Conversation]:
        found = {i: self._get(i) for i in conversation_ids}
        return {i: c for i, c in found.items() if c is not None}

    def latest_by_thread_keys(
        self, channel_id: int, thread_keys: Collection[str]
    ) -> dict[str, Conversation]:
        found: dict[str, Conversation] = {}
        for conversation in sorted(self._where(channel_id=channel_id), key=lambda c: c.id):
            if conversation.thread_key in thread_keys:
                found[conversation.thread_key] = conversation
        return found

    def add_many(self, conversations: Sequence[Conversation]) -> None:
        for conversation in conversations:
            self._add(conversation)
            self.state.tags[conversation.id or -1] = list(conversation.tags)

    def update_many(self, conversations: Sequence[Conversation]) -> None:
        for conversation in conversations:
            kept = self.state.tags.get(conversation.id or -1, [])
            stored = copy.deepcopy(conversation)
            stored.tags = []
            self._put(stored)
            self.state.tags[conversation.id or -1] = kept

    def set_tags(self, conversation_id: int, tags: Sequence[str]) -> None:
        self.state.tags[conversation_id] = list(tags)

    def stale_priorities(self, scored_before: datetime, limit: int) -> list[Conversation]:
        stale = [
            c
            for c in self._where(status=Status.OPEN)
            if c.waiting_since is not None
            and c.priority_scored_at is not None
            and c.priority_scored_at < scored_before
        ]
        return sorted(stale, key=lambda c: c.priority_scored_at)[:limit]

    def open_counts(self, agent_ids: Collection[int]) -> dict[int, dict[str, int]]:
        counts: dict[int, dict[str, int]] = {i: {} for i in agent_ids}
        for c in self.rows.values():
            if c.assignee_id in counts and c.status in (Status.OPEN, Status.PENDING):
                per = counts[c.assignee_id]
                per[c.platform] = per.get(c.platform, 0) + 1
        return counts

    def assigned_open(self, agent_id: int) -> list[Conversation]:
        return sorted(
            (c for c in self._where(assignee_id=agent_id) if c.status is not Status.CLOSED),
            key=lambda c: c.id,
        )

    def claim_free(self, conversation_id: int) -> Conversation | None:
        found = self.get(conversation_id)
        if found is None or found.status is not Status.OPEN or found.assignee_id is not None:
            return None
        return found

    def take_candidates(self, team_ids: Collection[int], limit: int) -> list[Conversation]:
        far = datetime.max.replace(tzinfo=UTC)
        found = [
            c
            for c in self._where(status=Status.OPEN, assignee_id=None)
            if c.team_id is None or c.team_id in team_ids
        ]
        found.sort(key=lambda c: (c.sla_due_at is None, c.sla_due_at or far, -c.priority, c.id))
        return found[:limit]

    def sla_stale(self, limit: int) -> list[Conversation]:
        stale = [
            c
            for c in self.rows.values()
            if c.status is not Status.CLOSED
            and (c.sla_refreshed_at is None or (c.updated_at and c.sla_refreshed_at < c.updated_at))
        ]
        return [copy.deepcopy(c) for c in sorted(stale, key=lambda c: c.id)[:limit]]

    def sla_due_before(self, before: datetime, limit: int) -> list[Conversation]:
        due = [
            c
            for c in self._where(status=Status.OPEN)
            if c.sla_due_at is not None and c.sla_due_at < before and c.sla_state != "breached"
        ]
        return sorted(due, key=lambda c: c.sla_due_at)[:limit]

    def due_snoozes(self, now: datetime, limit: int) -> list[Conversation]:
        due = [
            c
            for c in self._where(status=Status.SNOOZED)
            if c.snoozed_until is not None and c.snoozed_until <= now
        ]
        return sorted(due, key=lambda c: c.snoozed_until)[:limit]


class FakeMessages(_Repo):
    name = "messages"

    def find_many(self, channel_id: int, external_ids: Collection[str]) -> dict[str, Message]:
        wanted = set(external_ids)
        return {
            m.external_id: m
            for m in self._where(channel_id=channel_id)
            if m.external_id is not None and m.external_id in wanted
        }

    def add_many(self, messages: Sequence[Message]) -> None:
        for message in messages:
            assert message.conversation_id in self.state.table("conversations")
            if message.external_id is not None:
                assert not self.find_many(message.channel_id, [message.external_id]), "unique key"
            self._add(message)

    def get(self, message_id: int) -> Message | None:
        found: Message | None = self._get(message_id)
        return found

    def claim_for_triage(self, now: datetime, stale_before: datetime, limit: int) -> list[int]:
        claims = self.state.table("triage_claims")
        waiting = [
            m
            for m in self._where(direction=Direction.INBOUND)
            if m.triage is None and (m.id not in claims or claims[m.id] < stale_before)
        ]
        chosen = sorted(m.id for m in waiting)[:limit]
        for message_id in chosen:
            claims[message_id] = now
        return chosen

    def triage_inputs(self, message_ids: Collection[int]) -> list[TriageInput]:
        found = []
        for message_id in sorted(message_ids):
            m = self.rows[message_id]
            identity = self.state.table("identities").get(m.author_identity_id or -1)
            customer = self.state.table("customers").get(identity.customer_id) if identity else None
            found.append(
                TriageInput(
                    message_id=message_id,
                    conversation_id=m.conversation_id,
                    text=m.text,
                    created_at=m.created_at,
                    followers=identity.followers if identity else None,
                    verified=bool(identity.verified) if identity else False,
                    vip="vip" in customer.tags if customer else False,
                )
            )
        return found

    def set_triage(self, results: Sequence[tuple[int, dict[str, Any]]]) -> None:
        for message_id, triage in results:
            if self.rows[message_id].triage is None:
                self.rows[message_id].triage = copy.deepcopy(triage)

    def claim_for_playbook(self, now: datetime, stale_before: datetime, limit: int) -> list[int]:
        claims = self.state.table("playbook_claims")
        waiting = [
            m
            for m in self._where(direction=Direction.INBOUND)
            if m.triage is not None
            and m.playbook is None
            and (m.id not in claims or claims[m.id] < stale_before)
        ]
        chosen = sorted(m.id for m in waiting)[:limit]
        for message_id in chosen:
            claims[message_id] = now
        return chosen

    def playbook_facts(self, message_ids: Collection[int]) -> list[tuple[Facts, int | None]]:
        found = []
        for message_id in sorted(message_ids):
            m = self.rows[message_id]
            conversation = self.state.table("conversations")[m.conversation_id]
            found.append((self._facts(m), conversation.team_id))
        return found

    def history(
        self,
        since: datetime | None,
        after_id: int,
        limit: int,
        business_hours: Callable[[int | None, datetime], bool] | None = None,
    ) -> list[tuple[Facts, int | None, float | None]]:
        found = []
        for m in sorted(self._where(direction=Direction.INBOUND), key=lambda m: m.id):
            if m.id <= after_id or (since is not None and m.created_at < since):
                continue
            conversation = self.state.table("conversations")[m.conversation_id]
            facts = self._facts(m)
            if business_hours is not None:
                facts = replace(
                    facts, business_hours=business_hours(conversation.team_id, m.created_at)
                )
            minutes = None
            if facts.first_message and conversation.first_response_at is not None:
                minutes = (conversation.first_response_at - m.created_at).total_seconds() / 60
            found.append((facts, conversation.team_id, minutes))
        return found[:limit]

    def _facts(self, m: Message) -> Facts:
        channel = self.state.table("channels")[m.channel_id]
        identity = self.state.table("identities").get(m.author_identity_id or -1)
        customer = self.state.table("customers").get(identity.customer_id) if identity else None
        triage = m.triage or {}
        earlier = [
            o
            for o in self.rows.values()
            if o.conversation_id == m.conversation_id
            and o.direction is Direction.INBOUND
            and (o.created_at, o.id) < (m.created_at, m.id)
        ]
        return Facts(
            platform=channel.platform,
            channel_id=m.channel_id,
            channel_name=channel.name,
            visibility=m.visibility.value,
            kind=m.kind.value,
            text=m.text,
            created_at=m.created_at,
            sentiment=triage.get("sentiment"),
            needs_response=triage.get("needs_response"),
            needs_response_p=triage.get("needs_response_p"),
            intent=triage.get("intent"),
            language=triage.get("language"),
            pii=frozenset(p["kind"] for p in triage.get("pii", [])),
            spam_p=triage.get("spam_p"),
            priority=(triage.get("priority") or {}).get("score"),
            question=bool(triage.get("question")),
            followers=identity.followers if identity else None,
            verified=bool(identity.verified) if identity else False,
            customer_tags=frozenset(customer.tags) if customer else frozenset(),
            listening_query=m.meta.get("listening_query"),
            listening_queries=frozenset(
                str(n).casefold() for n in m.meta.get("listening_queries", ())
            ),
            first_message=not earlier,
            message_id=m.id,
            conversation_id=m.conversation_id,
        )

    def inbound_id_range(self) -> tuple[int, int] | None:
        ids = [m.id for m in self._where(direction=Direction.INBOUND)]
        return (min(ids), max(ids)) if ids else None

    def set_playbook(self, message_id: int, result: dict[str, Any]) -> None:
        self.rows[message_id].playbook = copy.deepcopy(result)

    def brand_replies(self, conversation_id: int) -> list[tuple[int, int | None, datetime]]:
        found = self._where(conversation_id=conversation_id, direction=Direction.OUTBOUND)
        return [(m.id, m.author_agent_id, m.created_at) for m in sorted(found, key=lambda m: m.id)]

    def latest_inbound(self, conversation_id: int) -> Message | None:
        found = self._where(conversation_id=conversation_id, direction=Direction.INBOUND)
        return max(found, key=lambda m: (m.created_at, m.id)) if found else None

    def set_delivery(
        self,
        message_id: int,
        state: DeliveryState,
        *,
        error: str | None = None,
        external_id: str | None = None,
        url: str | None = None,
    ) -> None:
        row = self.rows[message_id]
        row.delivery_state, row.delivery_error = state, error
        row.external_id = external_id or row.external_id
        row.url = url or row.url

    def apply_change(self, change: MessageChange) -> bool:
        found = self.find_many(change.channel_id, [change.external_id])
        if not found:
            return False
        row = self.rows[found[change.external_id].id or -1]
        if change.removed:
            row.meta["removed_at"] = change.at.isoformat()
        elif change.text is not None and change.text != row.text:
            row.meta.setdefault("edits", []).append(
                {"text": row.text, "until": change.at.isoformat()}
            )
            row.text = change.text
        return True


class FakeRawEvents(_Repo):
    name = "raw_events"

    def add_many(self, raw_events: Sequence[RawEvent]) -> None:
        for raw in raw_events:
            self._add(raw)


class FakeAgents(_Repo):
    name = "agents"

    def in_team(self, team_id: int) -> list[Agent]:
        return sorted(
            (a for a in self._where(active=True) if team_id in a.team_ids), key=lambda a: a.id
        )

    def add(self, agent: Agent) -> None:
        self._add(agent)

    def get(self, agent_id: int) -> Agent | None:
        found: Agent | None = self._get(agent_id)
        return found

    def find(self, username: str) -> Agent | None:
        found = self._where(username=username)
        return found[0] if found else None

    def update(self, agent: Agent) -> None:
        self._put(agent)


class FakeTeams(_Repo):
    name = "teams"

    def add(self, team: Team) -> None:
        self._add(team)

    def get(self, team_id: int) -> Team | None:
        found: Team | None = self._get(team_id)
        return found

    def find(self, name: str) -> Team | None:
        found = self._where(name=name)
        return found[0] if found else None

    def list_all(self) -> list[Team]:
        return sorted(self._where(), key=lambda t: t.id)

    def update(self, team: Team) -> None:
        self._put(team)


class FakeTokens(_Repo):
    name = "tokens"

    def add(self, token: ApiToken) -> None:
        self._add(token)

    def get(self, token_id: int) -> ApiToken | None:
        found: ApiToken | None = self._get(token_id)
        return found

    def find_owner(self, token_hash: str) -> tuple[ApiToken, Agent] | None:
        found = self._where(token_hash=token_hash)
        if not found:
            return None
        agent = copy.deepcopy(self.state.table("agents")[found[0].agent_id])
        return found[0], agent

    def update(self, token: ApiToken) -> None:
        self._put(token)


class FakeOutbox(_Repo):
    name = "outbox"

    def add(self, item: OutboxItem) -> None:
        assert self.find_by_key(item.idempotency_key) is None, "unique key"
        self._add(item)

    def find_by_key(self, idempotency_key: str) -> OutboxItem | None:
        found = self._where(idempotency_key=idempotency_key)
        return found[0] if found else None

    def get_for_message(self, message_id: int, *, for_update: bool = False) -> OutboxItem | None:
        found = self._where(message_id=message_id)
        return found[0] if found else None

    def claim_due(self, now: datetime, stale_before: datetime, limit: int) -> list[OutboxItem]:
        due = sorted(
            (
                i
                for i in self.rows.values()
                if (
                    i.state is DeliveryState.QUEUED
                    and i.next_attempt_at is not None
                    and i.next_attempt_at <= now
                )
                or (
                    i.state is DeliveryState.SENDING
                    and i.claimed_at is not None
                    and i.claimed_at < stale_before
                )
            ),
            key=lambda i: (i.next_attempt_at, i.id),
        )[:limit]
        claimed = []
        for item in due:
            before = item.in_doubt
            item.state, item.claimed_at, item.attempts = (
                DeliveryState.SENDING,
                now,
                item.attempts + 1,
            )
            item.in_doubt = True
            copied = copy.deepcopy(item)
            copied.in_doubt = before
            claimed.append(copied)
        return claimed

    def update(self, item: OutboxItem) -> None:
        self._put(item)


class FakePolls(_Repo):
    name = "channel_polls"

    def claim_due(
        self, channel_ids: Collection[int], now: datetime, stale_before: datetime, limit: int
    ) -> list[ChannelPoll]:
        for channel_id in channel_ids:
            self.rows.setdefault(channel_id, ChannelPoll(channel_id, next_poll_at=now))
        due = [
            p
            for i in channel_ids
            if (
                (p := self.rows[i]).claimed_at is None
                and p.next_poll_at is not None
                and p.next_poll_at <= now
            )
            or (p.claimed_at is not None and p.claimed_at < stale_before)
        ][:limit]
        for poll in due:
            poll.claimed_at = now
        return [copy.deepcopy(p) for p in due]

    def update(self, poll: ChannelPoll) -> None:
        self.rows[poll.channel_id] = copy.deepcopy(poll)

    def get(self, channel_id: int) -> ChannelPoll | None:
        found: ChannelPoll | None = self._get(channel_id)
        return found


class FakeQuarantine(_Repo):
    name = "quarantine"

    def add(self, item: QuarantinedDelivery) -> None:
        self._add(item)

    def get(self, item_id: int, *, for_update: bool = False) -> QuarantinedDelivery | None:
        found: QuarantinedDelivery | None = self._get(item_id)
        return found

    def update(self, item: QuarantinedDelivery) -> None:
        self._put(item)


class _Named(_Repo):
    """A repository of things found by name (templates, calendars, SLA policies)."""

    def add(self, item: Any) -> None:
        assert self.find(item.name) is None, "unique name"
        self._add(item)

    def get(self, item_id: int) -> Any:
        return self._get(item_id)

    def find(self, name: str) -> Any:
        found = self._where(name=name)
        return found[0] if found else None

    def update(self, item: Any) -> None:
        self._put(item)

    def delete(self, item_id: int) -> None:
        del self.rows[item_id]


class FakeTemplates(_Named):
    name = "templates"


class FakeCalendars(_Named):
    name = "calendars"


class FakeSlaPolicies(_Named):
    name = "sla_policies"

    def longest_warning(self) -> int:
        return max((p.warn_before_minutes for p in self.rows.values()), default=0)


class FakeNotifications(_Repo):
    name = "notifications"

    def add(self, notification: Notification) -> bool:
        if self._where(dedupe_key=notification.dedupe_key):
            return False
        self._add(notification)
        return True

    def claim_due(self, now: datetime, lease: timedelta, limit: int) -> list[Notification]:
        due = sorted(
            (
                n
                for n in self.rows.values()
                if n.state == "queued"
                and n.next_attempt_at is not None
                and n.next_attempt_at <= now
            ),
            key=lambda n: (n.next_attempt_at, n.id),
        )[:limit]
        for n in due:
            n.attempts += 1
            n.next_attempt_at = now + lease
        return [copy.deepcopy(n) for n in due]

    def update(self, notification: Notification) -> None:
        self._put(notification)


class FakeActivities(_Repo):
    name = "activities"

    def beat(self, activity: Activity, seen_up_to: datetime | None) -> None:
        key = activity.conversation_id * 1_000_000 + activity.agent_id
        self.rows[key] = activity

    def in_conversation(self, conversation_id: int, since: datetime) -> list[Activity]:
        return [
            a for a in self.rows.values() if a.conversation_id == conversation_id and a.at >= since
        ]


class FakePlaybooks(_Repo):
    name = "playbooks"

    def add(self, version: PlaybookVersion) -> None:
        self._add(version)

    def get(self, version: int) -> PlaybookVersion | None:
        found = self._where(version=version)
        return found[0] if found else None

    def live(self) -> PlaybookVersion | None:
        found = self._where(live=True)
        return found[0] if found else None

    def latest_number(self) -> int:
        return max((v.version for v in self.rows.values()), default=0)

    def list(self, limit: int) -> list[PlaybookVersion]:
        return sorted(self._where(), key=lambda v: -v.version)[:limit]

    def activate(self, version: int, now: datetime) -> None:
        for v in self.rows.values():
            v.live = v.version == version
            if v.live:
                v.activated_at = now

    def previously_live(self, current: int) -> PlaybookVersion | None:
        found = [v for v in self._where() if v.version != current and v.activated_at is not None]
        return max(found, key=lambda v: (v.activated_at, v.version)) if found else None


class FakeNotices(_Repo):
    name = "agent_notices"

    def add_many(self, notices: Sequence[Notice]) -> None:
        for notice in notices:
            self._add(notice)

    def mark_read(self, agent_id: int, notice_ids: Collection[int], now: datetime) -> int:
        marked = 0
        for notice in self.rows.values():
            if notice.agent_id == agent_id and notice.id in notice_ids and notice.read_at is None:
                notice.read_at = now
                marked += 1
        return marked


class FakeSavedViews(_Repo):
    name = "saved_views"

    def save(self, view: SavedView) -> None:
        self.delete(view.agent_id, view.name)
        self._add(view)

    def delete(self, agent_id: int, name: str) -> bool:
        found = [k for k, v in self.rows.items() if v.agent_id == agent_id and v.name == name]
        for key in found:
            del self.rows[key]
        return bool(found)


class FakeEventLog:
    def __init__(self, pending: list[Event]) -> None:
        self.pending = pending

    def append(self, events: Sequence[Event]) -> None:
        self.pending.extend(events)


class FakeUnitOfWork:
    """Works on a private copy of the store; commit publishes it, anything else discards it."""

    def __init__(self, store: Store, *, read_only: bool = False) -> None:
        self.store = store
        self.read_only = read_only
        self.committed = False

    def __enter__(self) -> Self:
        self.work = copy.deepcopy(self.store)
        self.pending: list[Event] = []
        self.channels = FakeChannels(self.work)
        self.customers = FakeCustomers(self.work)
        self.identities = FakeIdentities(self.work)
        self.conversations = FakeConversations(self.work)
        self.messages = FakeMessages(self.work)
        self.raw_events = FakeRawEvents(self.work)
        self.agents = FakeAgents(self.work)
        self.teams = FakeTeams(self.work)
        self.tokens = FakeTokens(self.work)
        self.outbox = FakeOutbox(self.work)
        self.polls = FakePolls(self.work)
        self.quarantine = FakeQuarantine(self.work)
        self.templates = FakeTemplates(self.work)
        self.notifications = FakeNotifications(self.work)
        self.calendars = FakeCalendars(self.work)
        self.sla_policies = FakeSlaPolicies(self.work)
        self.activities = FakeActivities(self.work)
        self.playbooks = FakePlaybooks(self.work)
        self.notices = FakeNotices(self.work)
        self.saved_views = FakeSavedViews(self.work)
        self.events = FakeEventLog(self.pending)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.work = Store()

    def commit(self) -> None:
        assert not self.read_only, "a read-only unit committed"
        self.work.events.extend(self.pending)
        self.store.tables = self.work.tables
        self.store.tags = self.work.tags
        self.store.events = self.work.events
        self.store.next_id = self.work.next_id
        self.work = copy.deepcopy(self.store)
        self.committed = True

    def rollback(self) -> None:
        self.work = copy.deepcopy(self.store)


class FakeUnitOfWorkFactory:
    def __init__(self) -> None:
        self.store = Store()

    def __call__(self, *, read_only: bool = False) -> FakeUnitOfWork:
        return FakeUnitOfWork(self.store, read_only=read_only)

    def all(self, table: str) -> list[Any]:
        return [copy.deepcopy(v) for _, v in sorted(self.store.table(table).items())]

    def event_names(self) -> list[str]:
        return [e.name for e in self.store.events]


def first(items: Sequence[T]) -> T:
    assert items, "expected at least one item"
    return items[0]


class FakeClassifier:
    """Reads a text the way a test wants: 'angry' → negative, 'help' → needs a response,
    'spam' → spam, '4111' → a card number. Records what it was asked, so tests can see batching."""

    version = "fake-1"

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def classify(self, texts: Sequence[str]) -> list[TextSignals]:
        self.calls.append(list(texts))
        out = []
        for text in texts:
            negative = 0.9 if "angry" in text else 0.1
            needs = 0.95 if "help" in text else 0.05
            out.append(
                TextSignals(
                    sentiment="negative" if negative > 0.5 else "neutral",
                    sentiment_p={"negative": negative, "neutral": 1 - negative, "positive": 0.0},
                    needs_response=needs > 0.5,
                    needs_response_p=needs,
                    intent="billing" if "bill" in text else "other",
                    intent_p=0.7,
                    intent_model="builtin",
                    language="en",
                    language_p=0.9,
                    pii=(PiiFinding("card", text.index("4111"), text.index("4111") + 19, "…1111"),)
                    if "4111" in text
                    else (),
                    spam_p=0.95 if "spam" in text else 0.01,
                    question="?" in text,
                    model_version=self.version,
                )
            )
        return out


class FakeConnector:
    """A connector whose platform is a list in memory: `sent` holds what reached it, `script`
    the outcomes of the next sends (a SendError to raise; one with `after_effect` set is raised
    after the post was made), `deliveries` what the next polls return (or raise). Enough to drive
    the webhook, outbox and polling services."""

    name = "fake"
    features = frozenset({"webhook", "poll", "send"})
    settings: ClassVar[dict[str, str]] = {"secret": "signs deliveries"}
    default_poll_seconds: int | None = 60

    def __init__(self, platform: str = "x") -> None:
        self.platforms: tuple[PlatformCapabilities, ...] = (capabilities_for(platform),)
        self.sent: list[OutboundReply] = []
        self.script: list[SendError | None] = []
        self.deliveries: list[Delivery | Exception] = []
        self.lookups = 0
        self.closed = False

    def handshake(self, channel: Channel, request: WebhookRequest) -> WebhookResponse:
        challenge = request.query.get("challenge")
        if challenge is None:
            raise HandshakeRefused("no challenge")
        return WebhookResponse(body=challenge, media_type="text/plain")

    def verify(self, channel: Channel, request: WebhookRequest) -> None:
        expected = FakeSecretBox().open("secret", str(channel.settings.get("secret", "")))
        if request.header("x-signature") != expected:
            raise SignatureInvalid("bad signature")

    def parse(self, channel: Channel, request: WebhookRequest) -> Delivery:
        try:
            items = json.loads(request.body)
        except ValueError as exc:
            raise PayloadInvalid("not JSON") from exc
        delivery = Delivery()
        for item in items:
            if "kind" in item:
                delivery.ignore(item["kind"])
                continue
            delivery.messages.append(
                NormalisedMessage(
                    channel_id=channel.id or 0,
                    external_id=item["id"],
                    text=item["text"],
                    author=Author(external_id=item.get("author", "cust-1")),
                )
            )
        return delivery

    def poll(self, channel: Channel, cursor: dict[str, Any]) -> tuple[Delivery, dict[str, Any]]:
        outcome = self.deliveries.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome, {"polls": cursor.get("polls", 0) + 1}

    def send(self, channel: Channel, reply: OutboundReply) -> SendResult:
        outcome = self.script.pop(0) if self.script else None
        if outcome is not None and not getattr(outcome, "after_effect", False):
            raise outcome
        self.sent.append(reply)
        if outcome is not None:
            raise outcome
        return SendResult(f"p-{len(self.sent)}", url=f"https://fake/{len(self.sent)}")

    def find_sent(self, channel: Channel, reply: OutboundReply) -> SendResult | None:
        self.lookups += 1
        for i, earlier in enumerate(self.sent, start=1):
            if earlier.idempotency_key == reply.idempotency_key:
                return SendResult(f"p-{i}")
        return None

    def close(self) -> None:
        self.closed = True


class FakeConnectors:
    def __init__(self, *connectors: FakeConnector) -> None:
        self.connectors = list(connectors)

    def get(self, name: str) -> FakeConnector:
        for c in self.connectors:
            if c.name == name:
                return c
        raise NotFound(f"no {name} connector")

    def for_platform(self, platform: str) -> FakeConnector | None:
        return next((c for c in self.connectors if c.platforms[0].platform == platform), None)

    def capabilities(self, platform: str) -> PlatformCapabilities:
        return capabilities_for(platform)

    def all(self) -> list[FakeConnector]:
        return list(self.connectors)
