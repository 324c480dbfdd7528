"""Which conversation a message joins: the pure decision and the evidence it is given."""

from __future__ import annotations

from datetime import timedelta

from socialdesk.domain.conversations import Conversation, Status
from socialdesk.domain.messages import Author, Direction, MessageKind, NormalisedMessage, Visibility
from socialdesk.domain.threading import ThreadDecision, decide_thread
from tests.factories import T0

WEEK = timedelta(days=7)


def conv(status: Status, closed_at_offset: timedelta | None = None) -> Conversation:
    c = Conversation(
        channel_id=1,
        platform="x",
        customer_id=1,
        identity_id=1,
        visibility=Visibility.PUBLIC,
        created_at=T0,
        status=status,
    )
    if closed_at_offset is not None:
        c.closed_at = T0 + closed_at_offset
    return c


def test_no_candidate_starts_a_conversation() -> None:
    assert decide_thread(None, T0, WEEK) is ThreadDecision.NEW


def test_open_pending_and_snoozed_candidates_are_joined() -> None:
    for status in (Status.OPEN, Status.PENDING, Status.SNOOZED):
        assert decide_thread(conv(status), T0, WEEK) is ThreadDecision.JOIN


def test_closed_within_quiet_period_reopens_and_after_it_starts_anew() -> None:
    closed = conv(Status.CLOSED, timedelta(0))
    assert decide_thread(closed, T0 + WEEK, WEEK) is ThreadDecision.REOPEN
    assert decide_thread(closed, T0 + WEEK + timedelta(seconds=1), WEEK) is ThreadDecision.NEW


def msg(**fields: object) -> NormalisedMessage:
    base: dict[str, object] = {
        "channel_id": 1,
        "external_id": "m1",
        "text": "hi",
        "author": Author("u1"),
    }
    base.update(fields)
    return NormalisedMessage(**base)  # type: ignore[arg-type]


def test_reply_refs_nearest_first_without_repeats() -> None:
    m = msg(in_reply_to="c", references=("a", "b", "c"))
    assert m.threading_refs() == ["c", "b", "a"]


def test_participant_key_only_for_private_kinds_without_platform_thread_ids() -> None:
    assert msg(kind=MessageKind.DM).participant_thread_key() == "participant:dm:u1"
    assert msg(kind=MessageKind.CALL).participant_thread_key() == "participant:call:u1"
    assert msg(kind=MessageKind.POST).participant_thread_key() is None
    assert msg(kind=MessageKind.EMAIL).participant_thread_key() is None
    assert msg(kind=MessageKind.DM, thread_key="t-9").participant_thread_key() == "t-9"


def test_outbound_threads_by_its_recipient() -> None:
    m = msg(direction=Direction.OUTBOUND, author=None, recipient=Author("u2"), kind=MessageKind.DM)
    assert m.customer_party == Author("u2")
    assert m.participant_thread_key() == "participant:dm:u2"


def test_default_visibility_follows_kind() -> None:
    assert msg(kind=MessageKind.COMMENT).effective_visibility is Visibility.PUBLIC
    assert msg(kind=MessageKind.EMAIL).effective_visibility is Visibility.PRIVATE
    assert msg(kind=MessageKind.POST, visibility=Visibility.PRIVATE).effective_visibility is (
        Visibility.PRIVATE
    )
