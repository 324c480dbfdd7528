"""The outbox sender on fakes: once posted, reconciled after doubt, retried with backoff, failed
after the last attempt, retried by hand."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from socialdesk.domain.connectors import ReplyMode, SendError
from socialdesk.domain.errors import InvalidTransition, NotFound
from socialdesk.domain.messages import DeliveryState, Direction, Visibility
from socialdesk.domain.outbox import MAX_ATTEMPTS
from socialdesk.services import conversations as actions
from socialdesk.services.delivery import deliver_due, retry_reply
from socialdesk.services.intake import IntakePolicy, ingest
from tests import factories as f
from tests.factories import T0
from tests.fakes import FakeConnector, FakeConnectors, FakeUnitOfWorkFactory


class LostAnswer(SendError):
    """Posted on the platform, but the answer never came back."""

    after_effect = True


@pytest.fixture
def uow() -> FakeUnitOfWorkFactory:
    return FakeUnitOfWorkFactory()


@pytest.fixture
def fake() -> FakeConnector:
    return FakeConnector("x")


def replied(
    uow: FakeUnitOfWorkFactory, text: str = "On it!", visibility: Visibility | None = None
) -> int:
    """A conversation with a customer tweet and an agent's reply in the outbox; the reply's id."""
    channel = f.channel(uow, "x", "@brand")
    result = ingest(
        uow, [f.inbound(channel, "t-1", "@brand help")], now=T0, policy=IntakePolicy(), source="t"
    )
    sam = f.agent(uow)
    reply = actions.reply(
        uow(),
        sam,
        result.outcomes[0].conversation_id,
        actions.ReplyDraft(text, visibility),
        T0,
    )
    assert reply.message.id is not None
    return reply.message.id


def deliver(uow: FakeUnitOfWorkFactory, fake: FakeConnector, at: timedelta = timedelta(0)):
    return deliver_due(uow, FakeConnectors(fake), now=T0 + at, rng=random.Random(7))


def state(uow: FakeUnitOfWorkFactory):
    (item,) = uow.all("outbox")
    (message,) = [m for m in uow.all("messages") if m.direction is Direction.OUTBOUND]
    return item, message


def test_a_reply_is_sent_once_with_what_addresses_it(uow, fake) -> None:
    replied(uow, "Sorry about that")
    report = deliver(uow, fake)
    assert (report.sent, report.failed, report.retrying) == (1, 0, 0)
    (sent,) = fake.sent
    assert (sent.text, sent.mode, sent.in_reply_to, sent.recipient_id) == (
        "Sorry about that",
        ReplyMode.PUBLIC_REPLY,
        "t-1",
        "cust-1",
    )
    item, message = state(uow)
    assert (item.state, item.platform_message_id, item.in_doubt) == (
        DeliveryState.SENT,
        "p-1",
        False,
    )
    assert (message.delivery_state, message.external_id, message.url) == (
        DeliveryState.SENT,
        "p-1",
        "https://fake/1",
    )
    assert deliver(uow, fake, timedelta(hours=1)).total == 0
    assert "reply_sent" in uow.event_names()


def test_a_private_answer_to_a_public_post_is_a_private_message(uow, fake) -> None:
    replied(uow, visibility=Visibility.PRIVATE)
    deliver(uow, fake)
    assert fake.sent[0].mode is ReplyMode.PRIVATE_MESSAGE


def test_a_retryable_failure_waits_then_succeeds(uow, fake) -> None:
    replied(uow)
    fake.script = [SendError("busy", retryable=True, retry_after=30)]
    assert deliver(uow, fake).retrying == 1
    item, message = state(uow)
    assert (item.state, item.next_attempt_at, item.last_error) == (
        DeliveryState.QUEUED,
        T0 + timedelta(seconds=30),
        "busy",
    )
    assert (message.delivery_state, message.delivery_error) == (DeliveryState.QUEUED, "busy")
    assert deliver(uow, fake, timedelta(seconds=29)).total == 0
    assert deliver(uow, fake, timedelta(seconds=30)).sent == 1
    assert fake.lookups == 0  # a refusal is not in doubt: no need to ask the platform first


def test_the_last_failure_fails_the_reply_and_logs_it(uow, fake) -> None:
    replied(uow)
    fake.script = [SendError(f"boom {i}", retryable=True) for i in range(MAX_ATTEMPTS)]
    reports = [deliver(uow, fake, timedelta(hours=i)) for i in range(MAX_ATTEMPTS)]
    assert reports[-1].failed == 1
    item, message = state(uow)
    assert (item.state, item.attempts, message.delivery_error) == (
        DeliveryState.FAILED,
        MAX_ATTEMPTS,
        f"boom {MAX_ATTEMPTS - 1}",
    )
    assert "reply_failed" in uow.event_names()
    assert deliver(uow, fake, timedelta(days=1)).total == 0


def test_a_refusal_fails_at_once(uow, fake) -> None:
    replied(uow)
    fake.script = [SendError("text too long", retryable=False)]
    assert deliver(uow, fake).failed == 1
    assert state(uow)[0].attempts == 1


def test_a_lost_answer_is_reconciled_instead_of_posted_again(uow, fake) -> None:
    replied(uow)
    fake.script = [LostAnswer("timeout", retryable=True, maybe_posted=True)]
    assert deliver(uow, fake).retrying == 1
    assert state(uow)[0].in_doubt
    report = deliver(uow, fake, timedelta(minutes=5))
    assert (report.sent, report.reconciled) == (1, 1)
    assert len(fake.sent) == 1
    assert fake.lookups == 1
    assert state(uow)[0].platform_message_id == "p-1"


def test_a_worker_that_died_mid_send_is_taken_over_after_its_lease(uow, fake) -> None:
    replied(uow)
    with uow() as unit:  # the dead worker's claim
        unit.outbox.claim_due(T0, T0, 10)
        unit.commit()
    assert deliver(uow, fake, timedelta(minutes=1)).total == 0
    report = deliver(uow, fake, timedelta(minutes=3))
    assert report.sent == 1
    assert fake.lookups == 1  # asked first: the dead worker may have posted


def test_no_connector_fails_the_reply_with_a_reason(uow) -> None:
    replied(uow)
    assert deliver_due(uow, FakeConnectors(), now=T0).failed == 1
    assert "no connector can send on x channels" in state(uow)[1].delivery_error


def test_an_agent_retries_a_failed_reply(uow, fake) -> None:
    message_id = replied(uow)
    fake.script = [SendError("refused", retryable=False)]
    deliver(uow, fake)
    item, _ = state(uow)
    sam = uow.all("agents")[0]
    with pytest.raises(NotFound):
        retry_reply(uow(), sam, item.conversation_id + 1, message_id, T0)
    retry_reply(uow(), sam, item.conversation_id, message_id, T0 + timedelta(minutes=1))
    item, message = state(uow)
    assert (item.state, item.attempts, message.delivery_state) == (
        DeliveryState.QUEUED,
        0,
        DeliveryState.QUEUED,
    )
    assert deliver(uow, fake, timedelta(minutes=1)).sent == 1
    with pytest.raises(InvalidTransition, match="only a failed reply can be retried"):
        retry_reply(uow(), sam, item.conversation_id, message_id, T0)
