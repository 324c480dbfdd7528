"""Pollers on fakes: due channels only, the cursor moves after storing, failures back off."""

from __future__ import annotations

from datetime import timedelta

import pytest

from socialdesk.domain.connectors import Delivery, SendError
from socialdesk.services.intake import IntakePolicy
from socialdesk.services.polling import poll_due, poll_state
from tests import factories as f
from tests.factories import T0
from tests.fakes import FakeConnector, FakeConnectors, FakeUnitOfWorkFactory

POLICY = IntakePolicy()


@pytest.fixture
def uow() -> FakeUnitOfWorkFactory:
    return FakeUnitOfWorkFactory()


def batch(channel_id: int, *ids: str) -> Delivery:
    return Delivery(messages=[f.inbound(channel_id, i) for i in ids])


def test_due_channels_are_polled_and_the_cursor_moves_on(uow) -> None:
    fake = FakeConnector("email")
    ch = f.channel(uow, "email", "help@acme.example")
    fake.deliveries = [batch(ch, "a", "b"), batch(ch, "b", "c")]
    connectors = FakeConnectors(fake)
    report = poll_due(uow, connectors, now=T0, policy=POLICY)
    assert (report.polled, report.messages) == (1, 2)
    state = poll_state(uow, ch)
    assert state is not None
    assert (state.cursor, state.next_poll_at, state.claimed_at) == (
        {"polls": 1},
        T0 + timedelta(seconds=60),
        None,
    )
    assert poll_due(uow, connectors, now=T0 + timedelta(seconds=30), policy=POLICY).polled == 0
    report = poll_due(uow, connectors, now=T0 + timedelta(seconds=60), policy=POLICY)
    assert report.messages == 1  # "b" again is a duplicate
    state = poll_state(uow, ch)
    assert state is not None
    assert (state.cursor, state.polled_messages) == ({"polls": 2}, 3)


def test_a_failure_keeps_the_cursor_and_backs_off(uow) -> None:
    fake = FakeConnector("email")
    ch = f.channel(uow, "email", "help@acme.example")
    fake.deliveries = [SendError("login refused", retryable=True), batch(ch, "a")]
    connectors = FakeConnectors(fake)
    report = poll_due(uow, connectors, now=T0, policy=POLICY)
    assert (report.failed, report.errors) == (1, {ch: "login refused"})
    state = poll_state(uow, ch)
    assert state is not None
    assert (state.cursor, state.last_error, state.consecutive_errors) == ({}, "login refused", 1)
    assert state.next_poll_at == T0 + timedelta(seconds=120)
    assert poll_due(uow, connectors, now=T0 + timedelta(seconds=119), policy=POLICY).polled == 0
    report = poll_due(uow, connectors, now=T0 + timedelta(seconds=120), policy=POLICY)
    assert report.messages == 1
    state = poll_state(uow, ch)
    assert state is not None
    assert (state.last_error, state.consecutive_errors) == (None, 0)


def test_polling_follows_channel_settings(uow) -> None:
    fake = FakeConnector("x")
    fake.default_poll_seconds = None
    quiet = f.channel(uow, "x", "@webhooks-only")
    polled = f.channel(uow, "x", "@polled", settings={"poll_seconds": "300"})
    off = f.channel(uow, "x", "@off", settings={"poll_seconds": "0"})
    fake.deliveries = [batch(polled, "p")]
    report = poll_due(uow, FakeConnectors(fake), now=T0, policy=POLICY)
    assert report.polled == 1
    assert poll_state(uow, quiet) is None
    assert poll_state(uow, off) is None
    state = poll_state(uow, polled)
    assert state is not None
    assert state.next_poll_at == T0 + timedelta(seconds=300)
