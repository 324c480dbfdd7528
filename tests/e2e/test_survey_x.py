"""A survey on X end to end: the question reaches the fake X API as a reply under the
customer's tweet, and the customer's reply to it, delivered by the Account Activity webhook, is
taken as the answer without reopening the conversation."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from socialdesk.adapters.connectors.x.fake import FakeX
from socialdesk.adapters.db import tables as t
from socialdesk.services.delivery import deliver_due
from socialdesk.worker import JOBS
from tests.e2e.conftest import Api
from tests.support.server import live_server

SECRET = "x-consumer-secret"
CUSTOMER = "2200000000000000007"
RULES = """\
version: 1
rules:
  - name: CSAT on X
    trigger: close
    when: {platform: x}
    then: [{survey: csat}]
"""


@pytest.fixture
def fake_x() -> Iterator[tuple[FakeX, str]]:
    fake = FakeX()
    fake.add_user(CUSTOMER, "robin")
    with live_server(fake.app()) as url:
        yield fake, url


def test_the_question_reaches_x_and_the_reply_answers_it(
    api: Api, fake_x: tuple[FakeX, str]
) -> None:
    fake, url = fake_x
    settings = {
        "user_id": fake.user_id,
        "consumer_secret": SECRET,
        "access_token": fake.access_token,
        "api_base": url,
    }
    r = api.post("/api/v1/channels", json={"platform": "x", "name": "@Acme", "settings": settings})
    assert r.status_code == 201, r.text
    hook = f"/webhooks/x/{r.json()['id']}"
    r = api.post("/api/v1/playbooks", json={"source": RULES, "comment": "CSAT on X"})
    assert r.status_code == 201, r.text
    clock = api.desk.clock

    def tweet(text: str, in_reply_to: str | None = None) -> None:
        payload = fake.activity_tweet(
            CUSTOMER, text, in_reply_to=in_reply_to, created_at=clock.now()
        )
        body, headers = fake.signed(payload, SECRET)
        assert api.client.post(hook, content=body, headers=headers).status_code == 200

    tweet("@Acme my parcel never came")
    with api.desk.engine.connect() as conn:
        conversation = conn.execute(select(t.conversations.c.id)).scalar_one()
    r = api.post(f"/api/v1/conversations/{conversation}/close", json={"reason": "delivered"})
    assert r.status_code == 200, r.text
    clock.advance(minutes=1)  # type: ignore[attr-defined]
    assert JOBS["surveyed"](api.desk) == 1
    assert deliver_due(api.desk.uow, api.desk.connectors, now=clock.now()).sent == 1

    (question,) = fake.posted()
    assert question["text"].startswith("How satisfied are you with the help you got from us?")
    assert "/s/" in question["text"]
    assert question["referenced_tweets"][0]["type"] == "replied_to"

    clock.advance(minutes=5)  # type: ignore[attr-defined]
    tweet("@Acme 5 stars, thanks!", in_reply_to=question["id"])
    with api.desk.engine.connect() as conn:
        survey = conn.execute(select(t.surveys)).one()
        status = conn.execute(select(t.conversations.c.status)).scalar_one()
    assert (survey.score, survey.answered_via, status) == (5, "message", "closed")
    assert survey.answered_at - survey.asked_at == timedelta(minutes=5)
