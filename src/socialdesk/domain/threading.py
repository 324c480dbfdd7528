"""Which conversation a new message belongs to. Pure: the caller finds candidates, this decides.

Order of evidence, strongest first: the message answers a known message (reply chain, e-mail
In-Reply-To/References); the platform's conversation id or, for DMs/chats/calls, the participant;
otherwise a new conversation starts. A closed candidate is reopened when the customer writes within
the quiet period after it closed, else a new conversation starts.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from socialdesk.domain.conversations import Conversation, Status


class ThreadDecision(StrEnum):
    JOIN = "join"
    REOPEN = "reopen"
    NEW = "new"


def decide_thread(
    candidate: Conversation | None, message_at: datetime, quiet_period: timedelta
) -> ThreadDecision:
    """Join, reopen or start anew, given the conversation the evidence points to.

    The gap is measured from the close to the message's own time (not to now), so importing
    history threads the way it did when it happened.
    """
    if candidate is None:
        return ThreadDecision.NEW
    if candidate.status is not Status.CLOSED:
        return ThreadDecision.JOIN
    closed_at = candidate.closed_at
    if closed_at is None or message_at - closed_at <= quiet_period:
        return ThreadDecision.REOPEN
    return ThreadDecision.NEW
