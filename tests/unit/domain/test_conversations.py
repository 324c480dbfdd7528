"""The conversation state machine and its clocks, without a database."""

from __future__ import annotations

from datetime import timedelta

import pytest

from socialdesk.domain.conversations import Conversation, Status, preview_of
from socialdesk.domain.errors import InvalidInput, InvalidTransition
from socialdesk.domain.messages import Visibility
from socialdesk.domain.sla import ResponseTargets
from socialdesk.domain.tags import normalise_tag
from tests.factories import T0

TARGETS = ResponseTargets(first_response=timedelta(hours=1), next_response=timedelta(hours=4))


def make(status: Status = Status.OPEN) -> Conversation:
    return Conversation(
        channel_id=1,
        platform="x",
        customer_id=1,
        identity_id=1,
        visibility=Visibility.PUBLIC,
        created_at=T0,
        status=status,
        id=7,
    )


class TestCustomerWrites:
    def test_waiting_clock_starts_at_first_unanswered_message(self) -> None:
        c = make()
        c.receive_customer_message(T0, "hello", T0, TARGETS)
        c.receive_customer_message(T0 + timedelta(minutes=20), "anyone?", T0, TARGETS)
        assert c.waiting_since == T0
        assert c.sla_due_at == T0 + timedelta(hours=1)
        assert c.message_count == 2
        assert c.preview == "anyone?"

    def test_next_response_target_applies_after_first_answer(self) -> None:
        c = make()
        c.receive_customer_message(T0, "hello", T0, TARGETS)
        c.record_brand_reply(T0 + timedelta(minutes=5), T0, Status.PENDING)
        later = T0 + timedelta(hours=2)
        c.receive_customer_message(later, "still broken", later, TARGETS)
        assert c.status is Status.OPEN
        assert c.sla_due_at == later + timedelta(hours=4)

    @pytest.mark.parametrize("status", [Status.PENDING, Status.SNOOZED])
    def test_pending_and_snoozed_come_back_open(self, status: Status) -> None:
        c = make(status)
        c.snoozed_until = T0 + timedelta(days=1) if status is Status.SNOOZED else None
        reopened = c.receive_customer_message(T0, "hi", T0, TARGETS)
        assert (c.status, c.snoozed_until, reopened) == (Status.OPEN, None, False)

    def test_closed_reopens_and_says_so(self) -> None:
        c = make()
        c.close(T0, "resolved")
        assert c.receive_customer_message(T0 + timedelta(hours=1), "again", T0, TARGETS) is True
        assert (c.status, c.closed_at, c.close_reason) == (Status.OPEN, None, None)

    def test_preview_is_one_line_and_bounded(self) -> None:
        assert preview_of("a\n\n b\tc") == "a b c"
        assert len(preview_of("x" * 500)) == 200


class TestBrandReplies:
    def test_first_response_recorded_once(self) -> None:
        c = make()
        c.receive_customer_message(T0, "hi", T0, TARGETS)
        c.record_brand_reply(T0 + timedelta(minutes=7), T0, Status.PENDING)
        c.receive_customer_message(T0 + timedelta(hours=1), "thanks", T0, TARGETS)
        c.record_brand_reply(T0 + timedelta(hours=2), T0, Status.PENDING)
        assert c.first_response_at == T0 + timedelta(minutes=7)
        assert (c.status, c.waiting_since, c.sla_due_at) == (Status.PENDING, None, None)

    def test_reply_older_than_the_wait_keeps_the_customer_waiting(self) -> None:
        c = make()
        c.receive_customer_message(T0, "hi", T0, TARGETS)
        c.record_brand_reply(T0 - timedelta(minutes=1), T0, Status.PENDING)
        assert c.waiting_since == T0

    def test_reply_can_close(self) -> None:
        c = make()
        c.record_brand_reply(T0, T0, Status.CLOSED)
        assert c.status is Status.CLOSED
        assert c.closed_at == T0


class TestAgentActions:
    def test_close_twice_is_refused(self) -> None:
        c = make()
        c.close(T0, None)
        with pytest.raises(InvalidTransition, match="already closed"):
            c.close(T0, None)

    def test_only_closed_or_snoozed_reopen(self) -> None:
        with pytest.raises(InvalidTransition, match="only those can be reopened"):
            make().reopen(T0, TARGETS)

    def test_reopen_restores_due_time_of_a_waiting_customer(self) -> None:
        c = make()
        c.receive_customer_message(T0, "hi", T0, TARGETS)
        c.snooze(T0 + timedelta(hours=3), T0)
        c.reopen(T0 + timedelta(minutes=1), TARGETS)
        assert c.status is Status.OPEN
        assert c.sla_due_at == T0 + timedelta(hours=1)

    def test_snooze_needs_a_future_time_and_an_open_conversation(self) -> None:
        with pytest.raises(InvalidInput, match="not in the future"):
            make().snooze(T0, T0)
        with pytest.raises(InvalidInput, match="at most a year"):
            make().snooze(T0 + timedelta(days=400), T0)
        closed = make(Status.CLOSED)
        with pytest.raises(InvalidTransition):
            closed.snooze(T0 + timedelta(hours=1), T0)

    def test_wake_only_moves_snoozed(self) -> None:
        c = make()
        c.snooze(T0 + timedelta(hours=1), T0)
        c.wake(T0 + timedelta(hours=1))
        assert (c.status, c.snoozed_until) == (Status.OPEN, None)
        pending = make(Status.PENDING)
        pending.wake(T0)
        assert pending.status is Status.PENDING

    def test_retag_reports_only_real_changes(self) -> None:
        c = make()
        assert c.retag(["VIP", "Billing"], [], T0) == (["vip", "billing"], [])
        assert c.retag(["vip"], ["billing", "missing"], T0) == ([], ["billing"])
        assert c.tags == ["vip"]

    @pytest.mark.parametrize("bad", ["", "two words", "x" * 51, "<b>"])
    def test_bad_tags_are_refused_with_the_rule(self, bad: str) -> None:
        with pytest.raises(InvalidInput, match="letters, digits"):
            normalise_tag(bad)
