"""Agent actions on fakes: replies into the outbox, notes, assignment, tags, snooze, close."""

from __future__ import annotations

import copy
from datetime import timedelta

import pytest

from socialdesk.domain.conversations import Status
from socialdesk.domain.errors import Conflict, InvalidInput, InvalidTransition, NotFound
from socialdesk.domain.messages import DeliveryState, Direction, MessageKind, Visibility
from socialdesk.domain.sla import ResponseTargets
from socialdesk.services import conversations as actions
from socialdesk.services.intake import IntakePolicy, ingest
from tests import factories as f
from tests.factories import T0
from tests.fakes import FakeUnitOfWorkFactory

TARGETS = ResponseTargets()


@pytest.fixture
def uow() -> FakeUnitOfWorkFactory:
    return FakeUnitOfWorkFactory()


def conversation(
    uow: FakeUnitOfWorkFactory,
    platform: str = "x",
    kind: MessageKind = MessageKind.POST,
    at=T0,
) -> int:
    existing = uow.all("channels")
    ch = existing[0].id if existing else f.channel(uow, platform, f"{platform} account")
    result = ingest(
        uow,
        [f.inbound(ch, f"m-{at.timestamp()}", kind=kind, at=at)],
        now=at,
        policy=IntakePolicy(),
        source="test",
    )
    return result.outcomes[0].conversation_id


class TestReply:
    def test_reply_goes_to_the_outbox_and_waits_on_the_customer(self, uow) -> None:
        sam = f.agent(uow)
        cid = conversation(uow)
        now = T0 + timedelta(minutes=12)
        result = actions.reply(uow(), sam, cid, actions.ReplyDraft("We're on it!"), now)
        assert result.created
        (stored,) = [m for m in uow.all("messages") if m.direction is Direction.OUTBOUND]
        assert (stored.delivery_state, stored.visibility, stored.author_agent_id) == (
            DeliveryState.QUEUED,
            Visibility.PUBLIC,
            sam.id,
        )
        (item,) = uow.all("outbox")
        assert (item.message_id, item.state) == (stored.id, DeliveryState.QUEUED)
        assert item.idempotency_key.startswith("reply-")
        c = uow.all("conversations")[0]
        assert (c.status, c.first_response_at, c.assignee_id) == (Status.PENDING, now, sam.id)
        assert "reply_queued" in uow.event_names()

    def test_same_idempotency_key_gives_the_same_reply_once(self, uow) -> None:
        sam = f.agent(uow)
        cid = conversation(uow)
        draft = actions.ReplyDraft("On it", idempotency_key="key-12345")
        first = actions.reply(uow(), sam, cid, draft, T0)
        before = copy.deepcopy(uow.store)
        again = actions.reply(uow(), sam, cid, draft, T0 + timedelta(seconds=3))
        assert (again.created, again.message.id, again.outbox.id) == (
            False,
            first.message.id,
            first.outbox.id,
        )
        assert uow.store == before

    def test_idempotency_key_of_another_conversation_is_a_conflict(self, uow) -> None:
        sam = f.agent(uow)
        one, two = conversation(uow), conversation(uow, at=T0 + timedelta(minutes=1))
        actions.reply(uow(), sam, one, actions.ReplyDraft("a", idempotency_key="key-12345"), T0)
        with pytest.raises(Conflict, match="already used"):
            actions.reply(uow(), sam, two, actions.ReplyDraft("b", idempotency_key="key-12345"), T0)

    def test_x_limit_is_280_characters(self, uow) -> None:
        sam = f.agent(uow)
        cid = conversation(uow)
        actions.reply(uow(), sam, cid, actions.ReplyDraft("x" * 280), T0)
        with pytest.raises(InvalidInput, match="the reply is 281 characters; X allows 280"):
            actions.reply(uow(), sam, cid, actions.ReplyDraft("x" * 281), T0)

    def test_private_conversation_cannot_be_answered_publicly(self, uow) -> None:
        sam = f.agent(uow)
        cid = conversation(uow, kind=MessageKind.DM)
        draft = actions.ReplyDraft("hi", visibility=Visibility.PUBLIC)
        with pytest.raises(InvalidInput, match="is private; a public reply is not possible"):
            actions.reply(uow(), sam, cid, draft, T0)

    def test_public_x_post_may_be_answered_by_dm(self, uow) -> None:
        sam = f.agent(uow)
        cid = conversation(uow)
        result = actions.reply(
            uow(), sam, cid, actions.ReplyDraft("DM'd you", Visibility.PRIVATE), T0
        )
        assert (result.message.visibility, result.message.kind) == (
            Visibility.PRIVATE,
            MessageKind.DM,
        )

    def test_messenger_window_is_enforced_with_a_clear_error(self, uow) -> None:
        sam = f.agent(uow)
        cid = conversation(uow, "facebook", MessageKind.DM)
        late = T0 + timedelta(hours=30)
        with pytest.raises(InvalidInput, match=r"within 24 hours .* 30 hours ago"):
            actions.reply(uow(), sam, cid, actions.ReplyDraft("sorry"), late)

    def test_phone_takes_no_written_reply(self, uow) -> None:
        sam = f.agent(uow)
        cid = conversation(uow, "phone", MessageKind.CALL)
        with pytest.raises(InvalidInput, match="Phone takes no private messages"):
            actions.reply(uow(), sam, cid, actions.ReplyDraft("hello"), T0)

    def test_closed_conversation_must_be_reopened_first(self, uow) -> None:
        sam = f.agent(uow)
        cid = conversation(uow)
        actions.close(uow(), sam, cid, "resolved", T0)
        with pytest.raises(InvalidTransition, match="reopen it before replying"):
            actions.reply(uow(), sam, cid, actions.ReplyDraft("hi"), T0)

    def test_reply_with_status_closed_closes(self, uow) -> None:
        sam = f.agent(uow)
        cid = conversation(uow)
        actions.reply(uow(), sam, cid, actions.ReplyDraft("done", status_after=Status.CLOSED), T0)
        assert uow.all("conversations")[0].status is Status.CLOSED
        assert uow.event_names()[-2:] == ["reply_queued", "conversation_closed"]

    def test_unknown_conversation(self, uow) -> None:
        sam = f.agent(uow)
        with pytest.raises(NotFound, match="conversation 404 does not exist"):
            actions.reply(uow(), sam, 404, actions.ReplyDraft("hi"), T0)


class TestOtherActions:
    def test_note_is_private_and_never_queued(self, uow) -> None:
        sam = f.agent(uow)
        cid = conversation(uow)
        note = actions.add_note(uow(), sam, cid, "customer is a journalist, careful", T0)
        assert (note.direction, note.visibility, note.kind) == (
            Direction.NOTE,
            Visibility.PRIVATE,
            MessageKind.NOTE,
        )
        assert uow.all("outbox") == []
        assert uow.all("conversations")[0].status is Status.OPEN

    def test_assign_checks_agent_and_team_and_keeps_omitted_fields(self, uow) -> None:
        sam = f.agent(uow)
        cid = conversation(uow)
        with pytest.raises(InvalidInput, match="agent 999 does not exist"):
            actions.assign(uow(), sam, cid, actions.Assignment(999, None), T0)
        actions.assign(uow(), sam, cid, actions.Assignment(sam.id, None, team_given=False), T0)
        c = uow.all("conversations")[0]
        assert (c.assignee_id, c.team_id) == (sam.id, None)
        assert uow.event_names()[-1] == "conversation_assigned"

    def test_tags_are_stored_and_only_changes_logged(self, uow) -> None:
        sam = f.agent(uow)
        cid = conversation(uow)
        actions.retag(uow(), sam, cid, ["Billing", "vip"], [], T0)
        actions.retag(uow(), sam, cid, ["vip"], [], T0)
        with uow() as u:
            assert u.conversations.get(cid).tags == ["billing", "vip"]
        assert uow.event_names().count("conversation_tagged") == 1

    def test_snooze_then_wake_when_due(self, uow) -> None:
        sam = f.agent(uow)
        cid = conversation(uow)
        actions.snooze(uow(), sam, cid, T0 + timedelta(hours=2), T0)
        assert actions.wake_due_snoozes(uow(), T0 + timedelta(hours=1)) == 0
        assert actions.wake_due_snoozes(uow(), T0 + timedelta(hours=2)) == 1
        assert uow.all("conversations")[0].status is Status.OPEN
        assert uow.event_names()[-1] == "conversation_woken"

    def test_close_and_reopen(self, uow) -> None:
        sam = f.agent(uow)
        cid = conversation(uow)
        actions.close(uow(), sam, cid, "resolved", T0)
        c = uow.all("conversations")[0]
        assert (c.status, c.close_reason) == (Status.CLOSED, "resolved")
        actions.reopen(uow(), sam, cid, T0 + timedelta(minutes=5), TARGETS)
        assert uow.all("conversations")[0].status is Status.OPEN
        with pytest.raises(InvalidInput, match="at most 500"):
            actions.close(uow(), sam, cid, "x" * 501, T0)
