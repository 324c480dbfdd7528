"""The spike job: unusual volume or negative share for the whole brand, each active listening
query and each intent, measured against each subject's own weeks of history (domain/spikes.py),
announced once per spike.

A pass runs at most once per `SpikePolicy.every` (the time is taken in `report_cursors`, so several
workers take turns). It reads the hourly counts of the last weeks outside any write transaction,
one statement per kind of subject: public posts per hour and intent, counted as triage stored them
(`post_hours`; their sum is the brand), and listening matches grouped by hour and query. Then it
checks two hours per subject: the last complete one (only complete calm hours end a spike) and the
running one (so an alert goes out minutes after a storm starts). Each subject's state lives on its open alert (`alerts.state`): opening inserts an
alert with its summary, measures and up to five sample posts, and queues it once (dedupe key
`alert:<id>`) for the outbound webhook and e-mail; while the spike lasts only the state changes;
when it is over, `closed_at` is set. The supervisors' alerts page lists them.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from socialdesk.domain.alerts import BRAND, Alert, SubjectKind, open_alert
from socialdesk.domain.events import SpikeAlerted
from socialdesk.domain.listening import SavedQuery
from socialdesk.domain.spikes import (
    HOUR,
    AlertDecision,
    HourBucket,
    SpikeCheck,
    SpikeKind,
    SpikeSettings,
    SpikeState,
    check_spike,
    next_state,
)
from socialdesk.services.notifications import Destination, enqueue
from socialdesk.services.ports import AnalyticsUnitOfWork, AnalyticsUnitOfWorkFactory

ALERT_TARGET = "alerts"  # the notifications' target name for spike alerts


@dataclass(frozen=True, slots=True)
class SpikePolicy:
    """How the job runs: the desk's time zone (the baseline compares local hours of the week),
    how often, the detector's thresholds, where alerts go besides the page, and the desk's
    address for links."""

    timezone: str = "UTC"
    every: timedelta = timedelta(minutes=5)
    settings: SpikeSettings = field(default_factory=SpikeSettings)
    destination: Destination | None = None
    public_url: str = "http://127.0.0.1:8000"


@dataclass(slots=True)
class SpikeReport:
    ran: bool = False
    subjects: int = 0
    opened: list[int] = field(default_factory=list)  # alert ids
    closed: list[int] = field(default_factory=list)


@dataclass(slots=True)
class _Subject:
    kind: SubjectKind
    name: str
    hours: dict[datetime, HourBucket]
    since: datetime | None = None  # hours before this are unknown, not quiet
    intent: str | None = None
    query_id: int | None = None


@dataclass(slots=True)
class _Outcome:
    """What a pass decided for one subject, applied in one write transaction."""

    subject: _Subject
    state: SpikeState
    open_alert: Alert | None  # the alert open before the pass
    # Each decision to open or close, with the check that made it and the state right after it.
    changes: list[tuple[AlertDecision, SpikeCheck, SpikeState]] = field(default_factory=list)


def detect_spikes(
    uow: AnalyticsUnitOfWorkFactory, *, now: datetime, policy: SpikePolicy
) -> SpikeReport:
    """One pass, unless one ran less than `policy.every` ago."""
    report = SpikeReport()
    with uow() as unit:
        if not unit.listening.claim_check(now, policy.every):
            return report
        unit.commit()
    report.ran = True
    cfg = policy.settings
    current = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    since = current - timedelta(weeks=cfg.weeks) - HOUR  # the earliest hour a baseline reads
    with uow(read_only=True) as unit:
        queries = unit.listening.active_queries()
        subjects = _subjects(
            unit.listening.post_hours(since),
            unit.listening.match_hours([q.id for q in queries if q.id is not None], since),
            queries,
        )
        latest = {(a.subject_kind, a.subject): a for a in unit.listening.latest_alerts()}
    outcomes = []
    for subject in subjects:
        alert = latest.pop((subject.kind, subject.name), None)
        outcome = _measure(subject, alert, current, now, policy)
        if outcome.changes or (outcome.open_alert and outcome.open_alert.state != outcome.state):
            outcomes.append(outcome)
    report.subjects = len(subjects)
    # Open alerts whose subject is gone (a query switched off, renamed or deleted) end now.
    orphans = [a for a in latest.values() if a.closed_at is None]
    if outcomes or orphans:
        with uow() as unit:
            for outcome in outcomes:
                _apply(unit, outcome, now, policy, report)
            for alert in orphans:
                _close(unit, alert, _ended(alert.state), now, report)
            unit.commit()
    return report


def _ended(state: SpikeState) -> SpikeState:
    """The state of a subject whose spike ended without calming (it is no longer watched)."""
    return SpikeState(
        started_at=state.started_at, kinds=state.kinds, last_alert_at=state.last_alert_at
    )


def _subjects(
    posts: list[tuple[datetime, str, int, int]],
    matches: list[tuple[int, datetime, int, int]],
    queries: list[SavedQuery],
) -> list[_Subject]:
    """The brand, each intent seen in the window, each active query, with their hours."""
    brand: dict[datetime, list[int]] = defaultdict(lambda: [0, 0])
    intents: dict[str, dict[datetime, HourBucket]] = defaultdict(dict)
    for hour, intent, count, negative in posts:
        brand[hour][0] += count
        brand[hour][1] += negative
        if intent:
            intents[intent][hour] = HourBucket(hour, count, negative)
    first = min(brand, default=None)
    subjects = [
        _Subject(SubjectKind.BRAND, BRAND, {h: HourBucket(h, c, n) for h, (c, n) in brand.items()})
    ]
    # An intent that was quiet in an hour had no posts then (counted from the brand's first hour).
    subjects += [
        _Subject(SubjectKind.INTENT, name, hours, since=first, intent=name)
        for name, hours in sorted(intents.items())
    ]
    by_query: dict[int, dict[datetime, HourBucket]] = defaultdict(dict)
    for query_id, hour, count, negative in matches:
        by_query[query_id][hour] = HourBucket(hour, count, negative)
    # A query has history only from the first whole hour after it was made.
    subjects += [
        _Subject(
            SubjectKind.QUERY,
            q.name,
            by_query.get(q.id, {}),
            since=_next_hour(q.created_at),
            query_id=q.id,
        )
        for q in queries
        if q.id is not None
    ]
    return subjects


def _next_hour(at: datetime) -> datetime:
    start = at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return start if start == at else start + HOUR


def _measure(
    subject: _Subject, alert: Alert | None, current: datetime, now: datetime, policy: SpikePolicy
) -> _Outcome:
    """Check the last complete hour, then the running one, from the subject's stored state."""
    open_alert = alert if alert is not None and alert.closed_at is None else None
    if open_alert is not None:
        state = open_alert.state
    else:  # calm: only the last alert's time matters (for the cooldown)
        state = SpikeState(last_alert_at=alert.opened_at if alert else None)
    outcome = _Outcome(subject, state, open_alert)
    history = list(subject.hours.values())
    for hour in (current - HOUR, current):
        bucket = subject.hours.get(hour) or HourBucket(hour, 0, 0)
        check = check_spike(
            history,
            bucket,
            now=now,
            tz=policy.timezone,
            since=subject.since,
            settings=policy.settings,
        )
        outcome.state, decision = next_state(outcome.state, check, now, policy.settings)
        if decision is not AlertDecision.NONE:
            outcome.changes.append((decision, check, outcome.state))
    return outcome


def _apply(
    unit: AnalyticsUnitOfWork,
    outcome: _Outcome,
    now: datetime,
    policy: SpikePolicy,
    report: SpikeReport,
) -> None:
    alert = outcome.open_alert
    subject = outcome.subject
    for decision, check, state in outcome.changes:
        if decision is AlertDecision.CLOSED and alert is not None:
            _close(unit, alert, state, now, report)
            alert = None
        elif decision is AlertDecision.OPEN:
            posts = unit.listening.sample_posts(
                check.hour_start,
                check.hour_start + HOUR,
                intent=subject.intent,
                query_id=subject.query_id,
                negative_first=SpikeKind.NEGATIVE_SHARE in check.kinds,
            )
            alert = open_alert(subject.kind, subject.name, check, outcome.state, posts, now)
            unit.listening.add_alert(alert)
            _announce(unit, alert, now, policy)
            report.opened.append(alert.id or 0)
    if alert is not None and alert.closed_at is None and alert.state != outcome.state:
        alert.state = outcome.state
        unit.listening.update_alert(alert)


def _close(
    unit: AnalyticsUnitOfWork,
    alert: Alert,
    state: SpikeState,
    now: datetime,
    report: SpikeReport,
) -> None:
    alert.state, alert.closed_at = state, now
    unit.listening.update_alert(alert)
    unit.events.append([_event(alert, "closed", now)])
    report.closed.append(alert.id or 0)


def _announce(unit: AnalyticsUnitOfWork, alert: Alert, now: datetime, policy: SpikePolicy) -> None:
    unit.events.append([_event(alert, "opened", now)])
    if policy.destination is not None:
        enqueue(
            unit,
            policy.destination,
            alert_payload(alert, policy.public_url),
            key=f"alert:{alert.id}",
            now=now,
            conversation_id=None,
        )


def _event(alert: Alert, change: str, now: datetime) -> SpikeAlerted:
    assert alert.id is not None
    return SpikeAlerted(
        occurred_at=now,
        alert_id=alert.id,
        subject_kind=alert.subject_kind.value,
        subject=alert.subject,
        change=change,
    )


def alert_payload(alert: Alert, public_url: str) -> dict[str, Any]:
    """What the webhook carries (`event: spike_alert`) and the e-mail shows (`subject`, `text`)."""
    base = public_url.rstrip("/")
    link = f"{base}/supervisor/alerts#alert-{alert.id}"
    about = f"{alert.subject_kind.value} {alert.subject!r}"
    posts = alert.details.get("posts", [])
    lines = [
        f"- {p.get('handle') or 'someone'}: {p.get('text', '')}\n"
        f"  {base}/conversations/{p.get('conversation_id')}"
        for p in posts
    ]
    return {
        "event": "spike_alert",
        "target": ALERT_TARGET,
        "alert": {
            "id": alert.id,
            "url": link,
            "subject_kind": alert.subject_kind.value,
            "subject": alert.subject,
            "kinds": alert.kinds,
            "summary": alert.summary,
            "opened_at": alert.opened_at.isoformat(),
            "details": alert.details,
        },
        "subject": f"[socialdesk] spike: {about}: {alert.summary}"[:250],
        "text": f"Spike for {about}\n\n{alert.summary}\n\nSample posts:\n"
        + ("\n".join(lines) or "(none)")
        + f"\n\n{link}\n",
    }
