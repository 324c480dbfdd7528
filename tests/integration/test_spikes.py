"""The spike job on real databases: three weeks of one post an hour, then a storm of angry posts
about an outage. It alerts once for the brand, the listening query and the intent, queues each
alert once for the webhook and the e-mail, stays quiet while the storm lasts and closes the alerts
after two calm hours."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from socialdesk.adapters.db import tables as t
from socialdesk.bootstrap import Desk
from socialdesk.domain.alerts import BRAND
from socialdesk.queries.listening import list_alerts
from socialdesk.services import listening
from socialdesk.services.intake import ingest
from socialdesk.services.listening import listen
from socialdesk.services.notifications import Destination
from socialdesk.services.spikes import SpikePolicy, detect_spikes
from socialdesk.services.triage import triage_pending
from tests import factories as f
from tests.fakes import FakeClassifier, FrozenClock

WEEKS = 3
POLICY = SpikePolicy(
    timezone="Europe/Berlin",
    destination=Destination("alerts", "https://hooks.example/alerts", ("pr@brand.example",)),
    public_url="https://desk.example",
)


def load(desk: Desk, channel: int, texts_at: list[tuple[str, datetime]], now: datetime) -> None:
    items = [
        f.inbound(channel, f"m{at.timestamp():.0f}-{i}", text, author=f"c{i % 50}", at=at)
        for i, (text, at) in enumerate(texts_at)
    ]
    for start in range(0, len(items), 500):
        ingest(desk.uow, items[start : start + 500], now=now, policy=desk.policy, source="test")
    while triage_pending(
        desk.analytics_uow, FakeClassifier(), now=now, policy=desk.triage_policy, then=listen
    ):
        pass


@pytest.fixture
def steady(desk: Desk, clock: FrozenClock) -> int:
    """One post an hour for three weeks before the clock's hour (Monday 09:00 UTC)."""
    channel = f.channel(desk.uow, "x", "@brand", clock.now())
    start = clock.now() - timedelta(weeks=WEEKS)
    listening.create_query(desk.analytics_uow, None, "Outage Watch", "outage OR down", start)
    hours = [start + timedelta(hours=h) for h in range(WEEKS * 7 * 24)]
    load(desk, channel, [("steady post about the app", at) for at in hours], clock.now())
    return channel


def alerts(desk: Desk) -> list[tuple[str, str, bool]]:
    with desk.engine.connect() as conn:
        page = list_alerts(conn)
    return sorted((a.subject_kind, a.subject, a.open) for a in page.items)


def notifications(desk: Desk) -> list[tuple[str, str]]:
    with desk.engine.connect() as conn:
        rows = conn.execute(select(t.notifications.c.kind, t.notifications.c.dedupe_key))
        return sorted((kind, key) for kind, key in rows)


def test_a_storm_alerts_once_and_closes_after_calm_hours(
    desk: Desk, clock: FrozenClock, steady: int
) -> None:
    storm_hour = clock.now()
    clock.advance(minutes=20)
    quiet = detect_spikes(desk.analytics_uow, now=clock.now(), policy=POLICY)
    assert quiet.ran
    assert quiet.subjects == 3  # the brand, the intent "other", the query
    assert quiet.opened == []
    assert alerts(desk) == []

    storm = [(f"angry: the app is down #{i}", storm_hour + timedelta(minutes=i)) for i in range(25)]
    load(desk, steady, storm, clock.now())
    assert not detect_spikes(desk.analytics_uow, now=clock.now(), policy=POLICY).ran  # too soon
    clock.advance(minutes=5)
    opened = detect_spikes(desk.analytics_uow, now=clock.now(), policy=POLICY)
    assert len(opened.opened) == 3
    assert alerts(desk) == [
        ("brand", BRAND, True),
        ("intent", "other", True),
        ("query", "Outage Watch", True),
    ]
    with desk.engine.connect() as conn:
        by_kind = {a.subject_kind: a for a in list_alerts(conn).items}
    # The brand's posts were never negative before; the query had no matches to compare with.
    assert by_kind["brand"].kinds == ["volume", "negative_share"]
    query_alert = by_kind["query"]
    assert query_alert.kinds == ["volume"]
    assert query_alert.observed == 25
    assert query_alert.summary.startswith("Volume 25.0× normal")
    assert "Mon 10:00" in query_alert.summary  # Berlin time
    assert len(query_alert.posts) == 5
    assert query_alert.posts[0]["text"] == "angry: the app is down #24"
    keys = [f"alert:{i}" for i in sorted(opened.opened)]
    assert notifications(desk) == sorted(
        [("email", f"{k}:email:pr@brand.example") for k in keys]
        + [("webhook", f"{k}:webhook:https://hooks.example/alerts") for k in keys]
    )

    # The storm goes on: nothing new is said.
    more = [(f"angry: still down #{i}", storm_hour + timedelta(minutes=30 + i)) for i in range(10)]
    clock.advance(minutes=20)
    load(desk, steady, more, clock.now())
    again = detect_spikes(desk.analytics_uow, now=clock.now(), policy=POLICY)
    assert (again.ran, again.opened, again.closed) == (True, [], [])
    assert len(notifications(desk)) == 6

    # Two calm hours after the storm hour close every alert, once.
    closed: list[int] = []
    for hour in (1, 2, 3):
        clock.current = storm_hour + timedelta(hours=hour, minutes=5)
        closed += detect_spikes(desk.analytics_uow, now=clock.now(), policy=POLICY).closed
    assert sorted(closed) == sorted(opened.opened)
    assert [is_open for *_, is_open in alerts(desk)] == [False, False, False]
    assert len(notifications(desk)) == 6


def test_an_alert_ends_when_its_query_is_switched_off(
    desk: Desk, clock: FrozenClock, steady: int
) -> None:
    storm = [(f"angry: the app is down #{i}", clock.now()) for i in range(25)]
    clock.advance(minutes=20)
    load(desk, steady, storm, clock.now())
    assert len(detect_spikes(desk.analytics_uow, now=clock.now(), policy=POLICY).opened) == 3
    with desk.analytics_uow(read_only=True) as unit:
        (query,) = unit.listening.active_queries()
    listening.update_query(desk.analytics_uow, None, query.id or 0, clock.now(), active=False)
    clock.advance(minutes=5)
    report = detect_spikes(desk.analytics_uow, now=clock.now(), policy=POLICY)
    assert len(report.closed) == 1
    assert alerts(desk) == [
        ("brand", BRAND, True),
        ("intent", "other", True),
        ("query", "Outage Watch", False),
    ]


def busy(at: datetime) -> int:
    """Posts in the hour from `at` on a working week: 12 in office hours, 2 otherwise."""
    return 12 if at.weekday() < 5 and 9 <= at.hour < 18 else 2


def test_a_day_like_the_weeks_before_raises_nothing(desk: Desk, clock: FrozenClock) -> None:
    channel = f.channel(desk.uow, "x", "@brand", clock.now())
    rng = random.Random(7)
    day = clock.now().replace(hour=0)  # a Monday
    start = day - timedelta(weeks=WEEKS)
    listening.create_query(desk.analytics_uow, None, "App", "app", start)

    def posts(hour: datetime) -> list[tuple[str, datetime]]:
        count = max(0, round(busy(hour) * rng.uniform(0.7, 1.3)))
        return [
            ("angry about the app" if rng.random() < 0.1 else "a word about the app", hour)
            for _ in range(count)
        ]

    history = [start + timedelta(hours=h) for h in range(WEEKS * 7 * 24)]
    load(desk, channel, [p for hour in history for p in posts(hour)], day)
    for h in range(24):
        hour = day + timedelta(hours=h)
        load(desk, channel, posts(hour), hour + timedelta(minutes=50))
        clock.current = hour + timedelta(minutes=50)
        report = detect_spikes(desk.analytics_uow, now=clock.now(), policy=POLICY)
        assert report.ran
        assert report.opened == [], f"false alert at {clock.now()}"
    assert alerts(desk) == []
