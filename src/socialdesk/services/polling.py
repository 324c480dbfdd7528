"""Pollers: channels whose platform is read by asking (X mentions and listening searches for
accounts without webhooks, IMAP mailboxes) are asked on a schedule.

Each channel's poll is a row claimed like a job, so with several workers one channel is polled
by one of them at a time. The cursor moves on only after the messages it covers are stored; a
crash in between reads them again and intake's dedupe keeps them once. Failures back off
(doubling up to an hour) and stay visible as the channel's last error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from socialdesk.domain.channels import Channel, ChannelPoll
from socialdesk.domain.connectors import SendError
from socialdesk.domain.errors import DomainError
from socialdesk.services.intake import IntakePolicy
from socialdesk.services.ports import Connector, Connectors, UnitOfWorkFactory
from socialdesk.services.webhooks import take_in

POLL_SECONDS = "poll_seconds"
LEASE = timedelta(minutes=5)
MAX_BACKOFF = timedelta(hours=1)
BATCH = 10


@dataclass(slots=True)
class PollReport:
    polled: int = 0
    messages: int = 0
    failed: int = 0
    errors: dict[int, str] = field(default_factory=dict)


def poll_interval(channel: Channel, connector: Connector) -> timedelta | None:
    """How often to poll: the channel's `poll_seconds`, else the connector's default (e-mail: a
    minute; X: never, webhooks bring its posts). 0 turns polling off."""
    value = channel.settings.get(POLL_SECONDS)
    if value in (None, ""):
        default = connector.default_poll_seconds
        return timedelta(seconds=default) if default else None
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    return timedelta(seconds=seconds) if seconds > 0 else None


def poll_due(
    uow: UnitOfWorkFactory,
    connectors: Connectors,
    *,
    now: datetime,
    policy: IntakePolicy,
    limit: int = BATCH,
) -> PollReport:
    pollers = {p.platform: c for c in connectors.all() if "poll" in c.features for p in c.platforms}
    report = PollReport()
    if not pollers:
        return report
    with uow() as unit:
        channels = {
            c.id: c
            for c in unit.channels.list_active(list(pollers))
            if c.id is not None and poll_interval(c, pollers[c.platform]) is not None
        }
        polls = unit.polls.claim_due(list(channels), now, now - LEASE, limit) if channels else []
        unit.commit()
    for poll in polls:
        channel = channels[poll.channel_id]
        connector = pollers[channel.platform]
        interval = poll_interval(channel, connector) or timedelta(minutes=1)
        try:
            delivery, cursor = connector.poll(channel, dict(poll.cursor))
            received = take_in(uow, f"poll:{connector.name}", delivery, now=now, policy=policy)
        except (SendError, DomainError, OSError) as exc:
            message = exc.message if isinstance(exc, (SendError, DomainError)) else str(exc)
            poll.consecutive_errors += 1
            poll.last_error = message
            poll.next_poll_at = now + min(MAX_BACKOFF, interval * 2**poll.consecutive_errors)
            report.failed += 1
            report.errors[poll.channel_id] = message
        else:
            poll.cursor = cursor
            poll.consecutive_errors = 0
            poll.last_error = None
            poll.next_poll_at = now + interval
            new = received.result.new_messages if received.result else 0
            poll.polled_messages += new
            report.messages += new
        poll.last_polled_at = now
        poll.claimed_at = None
        report.polled += 1
        with uow() as unit:
            unit.polls.update(poll)
            unit.commit()
    return report


def poll_state(uow: UnitOfWorkFactory, channel_id: int) -> ChannelPoll | None:
    with uow(read_only=True) as unit:
        return unit.polls.get(channel_id)
