"""Triage after intake, on fakes: results stored, priority explained, waiting raises it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from socialdesk.domain.messages import MessageKind, NormalisedMessage
from socialdesk.services import conversations as actions
from socialdesk.services.customers import retag_customer
from socialdesk.services.intake import IngestResult, IntakePolicy, ingest
from socialdesk.services.triage import TriagePolicy, rescore_waiting, triage_pending
from tests import factories as f
from tests.factories import T0
from tests.fakes import FakeClassifier, FakeUnitOfWorkFactory

POLICY = TriagePolicy()


@pytest.fixture
def uow() -> FakeUnitOfWorkFactory:
    return FakeUnitOfWorkFactory()


def take(uow: FakeUnitOfWorkFactory, *items: NormalisedMessage) -> IngestResult:
    return ingest(uow, list(items), now=T0, policy=IntakePolicy(), source="test")


def test_new_inbound_messages_are_triaged_once_in_one_batch(uow) -> None:
    x = f.channel(uow)
    take(
        uow,
        f.inbound(x, "a", "angry, help me", author="u1", followers=5000),
        f.inbound(x, "b", "nice day", author="u2"),
    )
    take(uow, f.outbound(x, "r", "a"))
    classifier = FakeClassifier()
    assert triage_pending(uow, classifier, now=T0, policy=POLICY) == 2
    assert classifier.calls == [["angry, help me", "nice day"]]
    assert triage_pending(uow, classifier, now=T0, policy=POLICY) == 0
    first, second, reply = uow.all("messages")
    assert first.triage["sentiment"] == "negative"
    assert first.triage["needs_response"] is True
    assert first.triage["priority"]["score"] > second.triage["priority"]["score"]
    assert reply.triage is None
    assert "message_triaged" in uow.event_names()


def test_conversation_takes_sentiment_intent_and_an_explained_priority(uow) -> None:
    x = f.channel(uow)
    take(uow, f.inbound(x, "a", "angry about my bill, help", followers=200_000))
    triage_pending(uow, FakeClassifier(), now=T0 + timedelta(minutes=30), policy=POLICY)
    (c,) = uow.all("conversations")
    assert (c.sentiment, c.intent, c.language) == ("negative", "billing", "en")
    factors = {f["name"]: f["points"] for f in c.priority_factors}
    assert factors["needs_response"] == 38.0
    assert factors["waiting"] == 7.5
    assert c.priority == round(sum(factors.values()))


def test_a_later_hello_keeps_the_urgency_of_the_first_message(uow) -> None:
    x = f.channel(uow)
    take(uow, f.inbound(x, "a", "help, angry", kind=MessageKind.DM))
    triage_pending(uow, FakeClassifier(), now=T0, policy=POLICY)
    urgent = uow.all("conversations")[0].priority
    take(uow, f.inbound(x, "b", "hello?", kind=MessageKind.DM, at=T0 + timedelta(minutes=1)))
    triage_pending(uow, FakeClassifier(), now=T0 + timedelta(minutes=1), policy=POLICY)
    assert uow.all("conversations")[0].priority >= urgent


def test_vip_customers_rank_higher(uow) -> None:
    x = f.channel(uow)
    take(uow, f.inbound(x, "a", "help", author="plain"), f.inbound(x, "b", "help", author="vip"))
    agent = f.agent(uow)
    vip_customer = uow.all("identities")[1].customer_id
    retag_customer(uow(), agent, vip_customer, ["VIP"], [], T0)
    triage_pending(uow, FakeClassifier(), now=T0, policy=POLICY)
    plain, vip = uow.all("conversations")
    assert vip.priority - plain.priority == 10


def test_spam_sinks(uow) -> None:
    x = f.channel(uow)
    take(uow, f.inbound(x, "a", "help! spam spam"))
    triage_pending(uow, FakeClassifier(), now=T0, policy=POLICY)
    assert uow.all("conversations")[0].priority == 0


def test_priority_grows_while_the_customer_waits_and_stops_when_answered(uow) -> None:
    x = f.channel(uow)
    take(uow, f.inbound(x, "a", "help"), f.inbound(x, "b", "help", author="u2"))
    triage_pending(uow, FakeClassifier(), now=T0, policy=POLICY)
    before = uow.all("conversations")[0].priority
    agent = f.agent(uow)
    answered = uow.all("conversations")[1].id
    actions.reply(uow(), agent, answered, actions.ReplyDraft("on it"), T0 + timedelta(minutes=1))
    later = T0 + timedelta(minutes=45)
    assert rescore_waiting(uow, now=later, policy=POLICY) == 1
    waiting, replied = uow.all("conversations")
    assert {f["name"]: f["points"] for f in waiting.priority_factors}["waiting"] == 11.2
    assert waiting.priority > before
    assert replied.priority_scored_at == T0
    assert rescore_waiting(uow, now=later + timedelta(seconds=30), policy=POLICY) == 0


def test_a_dead_workers_claim_expires(uow) -> None:
    x = f.channel(uow)
    take(uow, f.inbound(x, "a", "help"))
    with uow() as u:
        assert u.messages.claim_for_triage(T0, T0 - timedelta(minutes=5), 10) != []
        u.commit()
    assert triage_pending(uow, FakeClassifier(), now=T0 + timedelta(minutes=1), policy=POLICY) == 0
    assert triage_pending(uow, FakeClassifier(), now=T0 + timedelta(minutes=6), policy=POLICY) == 1
