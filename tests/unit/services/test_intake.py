"""Intake on fakes: dedupe, identity resolution, threading, reopening, refusing bad batches."""

from __future__ import annotations

import copy
from dataclasses import replace
from datetime import timedelta

import pytest

from socialdesk.domain.conversations import Status
from socialdesk.domain.errors import ItemInvalid
from socialdesk.domain.messages import Author, Direction, MessageKind, NormalisedMessage
from socialdesk.services.intake import IngestResult, IntakePolicy, ingest
from tests import factories as f
from tests.factories import T0
from tests.fakes import FakeUnitOfWorkFactory

POLICY = IntakePolicy(quiet_period=timedelta(days=7))


@pytest.fixture
def uow() -> FakeUnitOfWorkFactory:
    return FakeUnitOfWorkFactory()


def take(uow: FakeUnitOfWorkFactory, *items: NormalisedMessage, now=T0) -> IngestResult:
    return ingest(uow, list(items), now=now, policy=POLICY, source="test")


class TestStoring:
    def test_new_post_creates_customer_identity_conversation_and_events(self, uow) -> None:
        x = f.channel(uow)
        result = take(uow, f.inbound(x, "t1", author="u1", followers=900))
        (outcome,) = result.outcomes
        assert outcome.created
        (conversation,) = uow.all("conversations")
        assert conversation.id == outcome.conversation_id
        assert (conversation.status, conversation.platform, conversation.waiting_since) == (
            Status.OPEN,
            "x",
            T0,
        )
        (identity,) = uow.all("identities")
        assert (identity.platform, identity.external_id, identity.followers) == ("x", "u1", 900)
        assert conversation.customer_id == identity.customer_id
        (raw,) = uow.all("raw_events")
        assert raw.source == "test"
        assert uow.event_names()[-2:] == ["conversation_opened", "message_received"]
        assert (result.new_conversations, result.new_customers) == (1, 1)

    def test_redelivery_returns_the_stored_message_and_changes_nothing(self, uow) -> None:
        x = f.channel(uow)
        first = take(uow, f.inbound(x, "t1", followers=10)).outcomes[0]
        before = copy.deepcopy(uow.store)
        again = take(
            uow, f.inbound(x, "t1", "edited text", followers=99), now=T0 + timedelta(hours=1)
        )
        assert again.outcomes[0] == replace(first, created=False)
        assert uow.store == before

    def test_same_message_twice_in_one_batch_is_stored_once(self, uow) -> None:
        x = f.channel(uow)
        result = take(uow, f.inbound(x, "t1"), f.inbound(x, "t1"))
        assert [o.created for o in result.outcomes] == [True, False]
        assert result.outcomes[0].message_id == result.outcomes[1].message_id
        assert len(uow.all("messages")) == 1

    def test_same_external_id_on_two_channels_is_two_messages(self, uow) -> None:
        a, b = f.channel(uow, name="@a"), f.channel(uow, name="@b")
        result = take(uow, f.inbound(a, "t1"), f.inbound(b, "t1"))
        assert all(o.created for o in result.outcomes)

    def test_profile_facts_refresh_on_new_messages(self, uow) -> None:
        x = f.channel(uow)
        take(uow, f.inbound(x, "t1", followers=10))
        take(uow, f.inbound(x, "t2", followers=12000))
        (identity,) = uow.all("identities")
        assert identity.followers == 12000
        assert len(uow.all("customers")) == 1


class TestRefusals:
    def test_unknown_channel_names_the_item_and_stores_nothing(self, uow) -> None:
        x = f.channel(uow)
        before = copy.deepcopy(uow.store)
        with pytest.raises(ItemInvalid) as caught:
            take(uow, f.inbound(x, "t1"), f.inbound(999, "t2"))
        assert caught.value.index == 1
        assert "channel 999 does not exist" in caught.value.message
        assert uow.store == before

    def test_outbound_without_thread_or_recipient_is_refused(self, uow) -> None:
        x = f.channel(uow)
        with pytest.raises(ItemInvalid, match="item 0: an outbound message must answer"):
            take(uow, f.outbound(x, "b1", in_reply_to="nowhere"))
        assert uow.all("messages") == []

    def test_inbound_needs_an_author(self, uow) -> None:
        x = f.channel(uow)
        with pytest.raises(ItemInvalid, match="needs its author"):
            take(uow, replace(f.inbound(x, "t1"), author=None))


class TestThreading:
    def test_reply_chain_joins_even_inside_one_batch(self, uow) -> None:
        x = f.channel(uow)
        result = take(
            uow,
            f.inbound(x, "t1", at=T0),
            f.outbound(x, "b1", "t1", at=T0 + timedelta(minutes=9)),
            f.inbound(x, "t2", "still waiting", at=T0 + timedelta(minutes=30), in_reply_to="b1"),
        )
        assert len({o.conversation_id for o in result.outcomes}) == 1
        (conversation,) = uow.all("conversations")
        assert conversation.first_response_at == T0 + timedelta(minutes=9)
        assert conversation.status is Status.OPEN
        assert conversation.waiting_since == T0 + timedelta(minutes=30)
        assert conversation.message_count == 3

    def test_another_customer_replying_in_the_thread_joins_it(self, uow) -> None:
        x = f.channel(uow)
        result = take(uow, f.inbound(x, "t1"), f.inbound(x, "t2", author="u2", in_reply_to="t1"))
        assert result.outcomes[0].conversation_id == result.outcomes[1].conversation_id
        assert len(uow.all("customers")) == 2

    def test_public_posts_without_reply_refs_are_separate(self, uow) -> None:
        x = f.channel(uow)
        result = take(uow, f.inbound(x, "t1"), f.inbound(x, "t2"))
        assert result.outcomes[0].conversation_id != result.outcomes[1].conversation_id

    def test_dms_thread_by_participant(self, uow) -> None:
        x = f.channel(uow)
        dm = MessageKind.DM
        first = take(uow, f.inbound(x, "d1", kind=dm, author="u1"))
        later = take(
            uow,
            f.inbound(x, "d2", kind=dm, author="u1", at=T0 + timedelta(hours=3)),
            f.inbound(x, "d3", kind=dm, author="u2"),
        )
        assert later.outcomes[0].conversation_id == first.outcomes[0].conversation_id
        assert later.outcomes[1].conversation_id != first.outcomes[0].conversation_id

    def test_email_threads_by_in_reply_to_and_references(self, uow) -> None:
        mail = f.channel(uow, "email", "support@brand.example")
        e = MessageKind.EMAIL
        take(uow, f.inbound(mail, "<a@x>", kind=e, author="ann@x.example", subject="Refund"))
        take(uow, f.outbound(mail, "<b@brand>", "<a@x>", kind=e))
        result = take(
            uow,
            # a reply quoting only References (In-Reply-To points at a message we never saw)
            f.inbound(
                mail,
                "<c@x>",
                kind=e,
                author="ann@x.example",
                in_reply_to="<zz@x>",
                references=("<a@x>", "<b@brand>"),
            ),
            f.inbound(mail, "<d@x>", kind=e, author="ann@x.example", subject="New topic"),
        )
        first_id = uow.all("conversations")[0].id
        assert result.outcomes[0].conversation_id == first_id
        assert result.outcomes[1].conversation_id != first_id

    def test_email_identity_is_case_insensitive(self, uow) -> None:
        mail = f.channel(uow, "email", "support@brand.example")
        take(uow, f.inbound(mail, "<a@x>", kind=MessageKind.EMAIL, author="Ann@X.example"))
        take(uow, f.inbound(mail, "<b@x>", kind=MessageKind.EMAIL, author="ann@x.EXAMPLE"))
        assert len(uow.all("identities")) == 1

    def test_closed_conversation_reopens_within_quiet_period(self, uow) -> None:
        x = f.channel(uow)
        dm = MessageKind.DM
        conversation_id = take(uow, f.inbound(x, "d1", kind=dm)).outcomes[0].conversation_id
        _close(uow, conversation_id, T0 + timedelta(hours=1))
        again = take(uow, f.inbound(x, "d2", kind=dm, at=T0 + timedelta(days=6)))
        assert again.outcomes[0].conversation_id == conversation_id
        assert again.reopened_conversations == 1
        assert uow.all("conversations")[0].status is Status.OPEN
        assert "conversation_reopened" in uow.event_names()

    def test_after_the_quiet_period_a_new_conversation_starts(self, uow) -> None:
        x = f.channel(uow)
        dm = MessageKind.DM
        conversation_id = take(uow, f.inbound(x, "d1", kind=dm)).outcomes[0].conversation_id
        _close(uow, conversation_id, T0 + timedelta(hours=1))
        late = take(uow, f.inbound(x, "d2", kind=dm, at=T0 + timedelta(days=8)))
        assert late.outcomes[0].conversation_id != conversation_id
        old, new = uow.all("conversations")
        assert (old.status, new.status) == (Status.CLOSED, Status.OPEN)
        assert old.customer_id == new.customer_id

    def test_outbound_to_a_recipient_starts_a_pending_conversation(self, uow) -> None:
        phone = f.channel(uow, "phone", "+1 555 0100")
        call = NormalisedMessage(
            channel_id=phone,
            external_id="call-1",
            text="Outbound call: explained the bill",
            created_at=T0,
            direction=Direction.OUTBOUND,
            kind=MessageKind.CALL,
            recipient=Author("+15550123"),
            meta={"duration_seconds": 300},
        )
        result = take(uow, call)
        (conversation,) = uow.all("conversations")
        assert conversation.id == result.outcomes[0].conversation_id
        assert conversation.status is Status.PENDING
        assert uow.all("messages")[0].meta == {"duration_seconds": 300}


class TestCrossChannelRecord:
    def test_author_email_links_a_chat_to_the_email_customer(self, uow) -> None:
        mail = f.channel(uow, "email", "support@brand.example")
        chat = f.channel(uow, "chat", "web chat")
        take(uow, f.inbound(mail, "<a@x>", kind=MessageKind.EMAIL, author="ann@x.example"))
        take(
            uow,
            f.inbound(chat, "c1", kind=MessageKind.CHAT, author="visitor-9", email="Ann@x.example"),
        )
        assert len(uow.all("customers")) == 1
        assert {i.platform for i in uow.all("identities")} == {"email", "chat"}

    def test_unknown_email_creates_the_email_identity_for_later(self, uow) -> None:
        chat = f.channel(uow, "chat", "web chat")
        mail = f.channel(uow, "email", "support@brand.example")
        take(
            uow,
            f.inbound(chat, "c1", kind=MessageKind.CHAT, author="v1", email="bo@x.example"),
            f.inbound(chat, "c2", kind=MessageKind.CHAT, author="v2", email="bo@x.example"),
        )
        take(uow, f.inbound(mail, "<m@x>", kind=MessageKind.EMAIL, author="bo@x.example"))
        assert len(uow.all("customers")) == 1
        assert sorted(i.platform for i in uow.all("identities")) == ["chat", "chat", "email"]


def _close(uow: FakeUnitOfWorkFactory, conversation_id: int, at) -> None:
    with uow() as u:
        conversation = u.conversations.get(conversation_id)
        assert conversation is not None
        conversation.close(at, "resolved")
        u.conversations.update_many([conversation])
        u.commit()
