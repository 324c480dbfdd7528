"""The X connector over real HTTP: X's Account Activity deliveries into the desk's webhook, and
the desk's outbox and poller against a fake X API on 127.0.0.1, on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from socialdesk.adapters.connectors.x.fake import FakeX
from socialdesk.adapters.connectors.x.inbound import crc_response, signature
from socialdesk.adapters.db import tables as t
from socialdesk.services.delivery import DeliveryReport, deliver_due
from socialdesk.services.polling import poll_due
from tests.e2e.conftest import Api
from tests.support.server import live_server

SECRET = "x-consumer-secret"
CUSTOMER = "2200000000000000001"


@pytest.fixture
def fake_x() -> Iterator[tuple[FakeX, str]]:
    fake = FakeX()
    fake.add_user(CUSTOMER, "danaq", followers=312)
    with live_server(fake.app()) as url:
        yield fake, url


@pytest.fixture
def x(api: Api, fake_x: tuple[FakeX, str]) -> XDesk:
    fake, url = fake_x
    r = api.post("/api/v1/channels", json=fake.channel(url, SECRET))
    assert r.status_code == 201, r.text
    return XDesk(api, fake, r.json()["id"])


class XDesk:
    def __init__(self, api: Api, fake: FakeX, channel_id: int) -> None:
        self.api, self.fake, self.channel_id = api, fake, channel_id

    @property
    def hook(self) -> str:
        return f"/webhooks/x/{self.channel_id}"

    def deliver(self, payload: dict[str, Any], secret: str = SECRET) -> Any:
        body, headers = self.fake.signed(payload, secret)
        return self.api.client.post(self.hook, content=body, headers=headers)

    def send_outbox(self, **advance: float) -> DeliveryReport:
        desk = self.api.desk
        if advance:
            desk.clock.advance(**advance)  # type: ignore[attr-defined]
        return deliver_due(desk.uow, desk.connectors, now=desk.clock.now())

    def messages(self) -> list[Any]:
        with self.api.desk.engine.connect() as conn:
            return list(conn.execute(select(t.messages).order_by(t.messages.c.id)))

    def reply(self, conversation_id: int, text: str, **extra: Any) -> Any:
        r = self.api.post(
            f"/api/v1/conversations/{conversation_id}/reply", json={"text": text, **extra}
        )
        assert r.status_code == 201, r.text
        return r.json()

    def message(self, conversation_id: int, message_id: int) -> dict[str, Any]:
        body = self.api.get(f"/api/v1/conversations/{conversation_id}").json()
        found: dict[str, Any] = next(m for m in body["messages"] if m["id"] == message_id)
        return found


# -- webhooks -----------------------------------------------------------------------------------


def test_crc_answers_with_the_documented_token(x: XDesk) -> None:
    r = x.api.client.get(x.hook, params={"crc_token": "9b4507b3-9040-4669-9ca3-6b94edb50553"})
    assert r.status_code == 200
    digest = hmac.new(
        SECRET.encode(), b"9b4507b3-9040-4669-9ca3-6b94edb50553", hashlib.sha256
    ).digest()
    assert r.json() == {"response_token": "sha256=" + base64.b64encode(digest).decode()}


def test_crc_vector_from_x_documentation() -> None:
    assert crc_response(
        "z3ZX4v7mAAUGykl3EcmkqbartmuW8VFOOzCloLx9Q45P0hLrFu", "9b4507b3-9040-4669-9ca3-6b94edb50553"
    ) == {"response_token": "sha256=Cytd4Sq+NvEcV3MMrXxWJGJx5A+y/lXzzU2Maartkx8="}


def test_crc_without_token_is_refused(x: XDesk) -> None:
    r = x.api.client.get(x.hook)
    assert r.status_code == 403
    assert "crc_token" in r.json()["detail"]


def test_a_mention_becomes_a_message_with_the_authors_reach(x: XDesk) -> None:
    r = x.deliver(x.fake.activity_tweet(CUSTOMER, "@AcmeSupport my order 4411 never arrived"))
    assert r.status_code == 200, r.text
    (message,) = x.messages()
    assert message.text == "@AcmeSupport my order 4411 never arrived"
    assert message.visibility == "public"
    assert message.url.startswith("https://x.com/danaq/status/")
    with x.api.desk.engine.connect() as conn:
        identity = conn.execute(select(t.identities)).one()
        raw = conn.execute(select(t.raw_events)).one()
    assert (identity.handle, identity.followers) == ("@danaq", 312)
    assert raw.payload["id_str"] == message.external_id  # the platform's own object, kept


def test_a_redelivery_changes_nothing(x: XDesk) -> None:
    payload = x.fake.activity_tweet(CUSTOMER, "@AcmeSupport hello?")
    assert x.deliver(payload).status_code == 200
    before = x.api.snapshot()
    assert x.deliver(payload).status_code == 200
    assert x.api.snapshot() == before


@pytest.mark.parametrize("secret", ["wrong-secret", None])
def test_a_wrong_or_missing_signature_is_refused_and_nothing_is_stored(
    x: XDesk, secret: str | None
) -> None:
    before = x.api.snapshot()
    payload = x.fake.activity_tweet(CUSTOMER, "@AcmeSupport spoofed")
    body, headers = x.fake.signed(payload, secret or SECRET)
    if secret is None:
        del headers["x-twitter-webhooks-signature"]
    r = x.api.client.post(x.hook, content=body, headers=headers)
    assert r.status_code == 401
    assert "x-twitter-webhooks-signature" in r.json()["detail"]
    assert x.api.snapshot() == before


def test_a_signature_over_other_bytes_is_refused(x: XDesk) -> None:
    payload = x.fake.activity_tweet(CUSTOMER, "@AcmeSupport café ☕")
    body, headers = x.fake.signed(payload, SECRET)
    tampered = body.replace("café".encode(), b"cafe!")
    assert x.api.client.post(x.hook, content=tampered, headers=headers).status_code == 401


def test_our_own_tweets_and_dms_are_echoes_and_skipped(x: XDesk) -> None:
    own = x.fake.activity_tweet(x.fake.user_id, "Sorry to hear that! DM us")
    dm = x.fake.activity_dm(x.fake.user_id, "Here to help")
    assert x.deliver(own).status_code == 200
    assert x.deliver(dm).status_code == 200
    assert x.messages() == []
    metrics = x.api.client.get("/metrics").text
    assert (
        'socialdesk_webhook_events_total{connector="x",kind="echo",outcome="ignored"} 2.0'
        in metrics
    )


def test_unknown_and_quiet_event_types_are_ignored_and_counted(x: XDesk) -> None:
    payload = {
        "for_user_id": x.fake.user_id,
        "favorite_events": [{"id": "1"}],
        "brand_new_events": [{"id": "2"}],
    }
    assert x.deliver(payload).status_code == 200
    metrics = x.api.client.get("/metrics").text
    assert 'kind="unknown:brand_new_events",outcome="ignored"} 1.0' in metrics
    assert 'kind="favorite_events",outcome="ignored"} 1.0' in metrics


def test_a_direct_message_threads_by_participant(x: XDesk) -> None:
    assert x.deliver(x.fake.activity_dm(CUSTOMER, "Order 4411, placed Monday")).status_code == 200
    assert x.deliver(x.fake.activity_dm(CUSTOMER, "Any news?")).status_code == 200
    first, second = x.messages()
    assert first.conversation_id == second.conversation_id
    assert (first.kind, first.visibility) == ("dm", "private")


def test_a_malformed_delivery_is_quarantined_and_can_be_replayed(x: XDesk) -> None:
    payload = x.fake.activity_tweet(CUSTOMER, "@AcmeSupport hi")
    payload["tweet_create_events"][0].pop("user")
    r = x.deliver(payload)
    assert r.status_code == 400
    assert "tweet_create_events[0] needs id_str and a user object" in r.json()["detail"]
    assert x.messages() == []
    (item,) = x.api.get("/api/v1/quarantine").json()
    assert item["channel_id"] == x.channel_id
    assert item["reason"] == "tweet_create_events[0] needs id_str and a user object"
    assert json.loads(item["body"])["for_user_id"] == x.fake.user_id
    assert x.api.get(f"/api/v1/channels/{x.channel_id}").json()["health"]["quarantined"] == 1
    replayed = x.api.post(f"/api/v1/quarantine/{item['id']}/replay").json()
    assert replayed["replay_result"].startswith("still unreadable")
    assert x.api.get("/api/v1/quarantine", as_="agent").status_code == 403


def test_a_delivery_that_is_not_json_is_quarantined(x: XDesk) -> None:
    body = b'{"for_user_id": "1100000000000000001", "tweet_create_events": ['
    headers = {"x-twitter-webhooks-signature": signature(SECRET, body)}
    r = x.api.client.post(x.hook, content=body, headers=headers)
    assert r.status_code == 400
    assert r.json()["detail"].startswith("the body is not JSON")
    assert len(x.api.get("/api/v1/quarantine").json()) == 1


def test_a_delivery_for_another_account_is_refused(x: XDesk) -> None:
    payload = x.fake.activity_tweet(CUSTOMER, "@Other hi")
    payload["for_user_id"] = "999"
    r = x.deliver(payload)
    assert r.status_code == 400
    assert "this channel is user" in r.json()["detail"]


def test_a_webhook_path_must_name_a_channel_of_that_connector(x: XDesk) -> None:
    r = x.api.client.get(f"/webhooks/meta/{x.channel_id}", params={"hub.mode": "subscribe"})
    assert r.status_code == 404
    assert x.api.client.get("/webhooks/x/9999", params={"crc_token": "a"}).status_code == 404
    assert x.api.client.get("/webhooks/nope/1").status_code == 404


def test_credentials_are_encrypted_at_rest_and_never_shown(x: XDesk) -> None:
    with x.api.desk.engine.connect() as conn:
        stored = conn.execute(
            select(t.channels.c.settings).where(t.channels.c.id == x.channel_id)
        ).scalar_one()
    assert stored["consumer_secret"].startswith("enc:v1:")
    assert SECRET not in json.dumps(stored)
    shown = x.api.get(f"/api/v1/channels/{x.channel_id}").json()["settings"]
    assert shown["consumer_secret"] == "********"
    assert shown["user_id"] == x.fake.user_id


# -- replies --------------------------------------------------------------------------------


def _mention(x: XDesk, text: str = "@AcmeSupport where is my order?") -> tuple[int, str]:
    payload = x.fake.activity_tweet(CUSTOMER, text)
    assert x.deliver(payload).status_code == 200
    message = x.messages()[-1]
    return message.conversation_id, message.external_id


def test_a_public_reply_is_posted_once_in_reply_to_the_customers_tweet(x: XDesk) -> None:
    conversation_id, tweet_id = _mention(x)
    reply = x.reply(conversation_id, "Sorry, Dana! Checking now.", idempotency_key="reply-key-1")
    report = x.send_outbox()
    assert (report.sent, report.failed) == (1, 0)
    (posted,) = x.fake.posted()
    assert posted["text"] == "Sorry, Dana! Checking now."
    assert posted["referenced_tweets"] == [{"type": "replied_to", "id": tweet_id}]
    request = next(r for r in x.fake.requests if r["method"] == "POST")
    assert request["json"] == {
        "text": "Sorry, Dana! Checking now.",
        "reply": {"in_reply_to_tweet_id": tweet_id},
    }
    shown = x.message(conversation_id, reply["id"])
    assert shown["delivery"]["state"] == "sent"
    assert shown["delivery"]["platform_message_id"] == posted["id"]
    assert shown["url"] == f"https://x.com/AcmeSupport/status/{posted['id']}"
    assert x.send_outbox(seconds=60).total == 0  # nothing left to send
    assert len(x.fake.posted()) == 1


def test_the_customers_answer_to_our_reply_joins_the_conversation(x: XDesk) -> None:
    conversation_id, _ = _mention(x)
    x.reply(conversation_id, "We are on it.")
    x.send_outbox()
    (ours,) = x.fake.posted()
    answer = x.fake.activity_tweet(CUSTOMER, "@AcmeSupport thanks!", in_reply_to=ours["id"])
    assert x.deliver(answer).status_code == 200
    assert x.messages()[-1].conversation_id == conversation_id


def test_a_private_reply_to_a_public_tweet_is_a_direct_message(x: XDesk) -> None:
    conversation_id, _ = _mention(x)
    x.reply(conversation_id, "Could you send us the order number?", visibility="private")
    assert x.send_outbox().sent == 1
    (dm,) = x.fake.sent_dms()
    assert dm["text"] == "Could you send us the order number?"
    assert dm["dm_conversation_id"] == "-".join(sorted([x.fake.user_id, CUSTOMER]))


def test_rate_limited_then_sent_after_the_reset(x: XDesk) -> None:
    conversation_id, _ = _mention(x)
    reset = int(x.api.desk.clock.now().timestamp()) + 120
    x.fake.fail(
        "/2/tweets", 429, headers={"x-rate-limit-reset": str(reset), "x-rate-limit-remaining": "0"}
    )
    reply = x.reply(conversation_id, "One moment please")
    first = x.send_outbox()
    assert (first.sent, first.retrying) == (0, 1)
    shown = x.message(conversation_id, reply["id"])["delivery"]
    assert shown["state"] == "queued"
    assert "rate limited" in shown["last_error"]
    assert shown["next_attempt_at"] is not None
    assert x.send_outbox(seconds=30).total == 0  # not before the platform's reset
    assert x.send_outbox(seconds=120).sent == 1
    assert len(x.fake.posted()) == 1


def test_server_errors_three_times_fail_the_reply_and_an_agent_can_retry(x: XDesk) -> None:
    conversation_id, _ = _mention(x)
    x.fake.fail("/2/tweets", 500, times=3)
    reply = x.reply(conversation_id, "Looking into it")
    reports = [x.send_outbox(minutes=30) for _ in range(3)]
    assert [r.retrying for r in reports] == [1, 1, 0]
    assert reports[-1].failed == 1
    shown = x.message(conversation_id, reply["id"])
    assert shown["delivery"]["state"] == "failed"
    assert shown["delivery"]["attempts"] == 3
    assert "the platform failed with 500" in shown["delivery"]["last_error"]
    assert x.fake.posted() == []
    r = x.api.post(f"/api/v1/conversations/{conversation_id}/messages/{reply['id']}/retry")
    assert r.status_code == 200, r.text
    assert r.json()["delivery"]["state"] == "queued"
    assert x.send_outbox().sent == 1
    assert len(x.fake.posted()) == 1
    again = x.api.post(f"/api/v1/conversations/{conversation_id}/messages/{reply['id']}/retry")
    assert again.status_code == 409


def test_a_refusal_fails_at_once_with_the_platforms_words(x: XDesk) -> None:
    conversation_id, _ = _mention(x)
    x.fake.fail("/2/tweets", 403)
    reply = x.reply(conversation_id, "Hello")
    assert x.send_outbox().failed == 1
    assert "refused with 403" in x.message(conversation_id, reply["id"])["delivery"]["last_error"]


def test_an_answer_lost_after_posting_is_reconciled_not_posted_twice(x: XDesk) -> None:
    conversation_id, _ = _mention(x)
    x.fake.fail("/2/tweets", 503, after_effect=True)  # posted, but the answer is an error
    reply = x.reply(conversation_id, "We have refunded order 4411")
    assert x.send_outbox().retrying == 1
    assert len(x.fake.posted()) == 1
    report = x.send_outbox(minutes=30)
    assert (report.sent, report.reconciled) == (1, 1)
    (posted,) = x.fake.posted()
    assert (
        x.message(conversation_id, reply["id"])["delivery"]["platform_message_id"] == posted["id"]
    )


@pytest.mark.parametrize("later_posts", [0, 250], ids=["alone", "pages-of-later-posts"])
def test_a_worker_killed_between_posting_and_recording_does_not_post_twice(
    x: XDesk, later_posts: int
) -> None:
    """Found again however much the account posted before the lease ended (X gives 100 tweets a
    page: the post may be pages deep)."""
    conversation_id, _ = _mention(x)
    x.reply(conversation_id, "Your replacement ships today")
    desk = x.api.desk
    # The dead worker: it claimed the reply and posted it, then died before recording anything.
    with desk.uow() as unit:
        (claimed,) = unit.outbox.claim_due(desk.clock.now(), desk.clock.now(), 10)
        unit.commit()
    x.fake.add_tweet(
        x.fake.user_id, "Your replacement ships today", in_reply_to=x.messages()[0].external_id
    )
    for n in range(later_posts):
        x.fake.add_tweet(x.fake.user_id, f"Another answer {n}")
    assert x.send_outbox(seconds=30).total == 0  # its lease still holds
    report = x.send_outbox(minutes=5)
    assert (report.sent, report.reconciled) == (1, 1)
    assert len(x.fake.posted()) == 1 + later_posts
    assert claimed.idempotency_key


def test_a_channel_without_a_token_fails_the_reply_with_what_to_set(x: XDesk) -> None:
    conversation_id, _ = _mention(x)
    r = x.api.request(
        "PATCH", f"/api/v1/channels/{x.channel_id}", json={"settings": {"access_token": ""}}
    )
    assert r.status_code == 200, r.text
    assert "access_token" not in r.json()["settings"]
    reply = x.reply(conversation_id, "Hi")
    assert x.send_outbox().failed == 1
    error = x.message(conversation_id, reply["id"])["delivery"]["last_error"]
    assert "has no setting 'access_token'" in error


# -- polling --------------------------------------------------------------------------------


def test_the_poller_reads_mentions_once_and_follows_pages(x: XDesk) -> None:
    desk = x.api.desk
    x.api.request(
        "PATCH",
        f"/api/v1/channels/{x.channel_id}",
        json={"settings": {"poll_seconds": "60", "search_query": "acme OR widget -spam"}},
    )
    x.fake.add_tweet(CUSTOMER, "@AcmeSupport first")
    x.fake.add_tweet(CUSTOMER, "a widget review")
    report = poll_due(desk.uow, desk.connectors, now=desk.clock.now(), policy=desk.policy)
    assert (report.polled, report.messages, report.failed) == (1, 2, 0)
    listening = [m for m in x.messages() if m.meta.get("listening_query")]
    assert [m.text for m in listening] == ["a widget review"]
    for i in range(150):  # more than a page (100) of new mentions
        x.fake.add_tweet(CUSTOMER, f"@AcmeSupport number {i}")
    assert poll_due(desk.uow, desk.connectors, now=desk.clock.now(), policy=desk.policy).polled == 0
    desk.clock.advance(seconds=61)  # type: ignore[attr-defined]
    report = poll_due(desk.uow, desk.connectors, now=desk.clock.now(), policy=desk.policy)
    assert report.messages == 150
    mentions = [r for r in x.fake.requests if r["path"].endswith("/mentions")]
    assert "since_id" in mentions[-1]["params"]
    assert any("pagination_token" in r["params"] for r in mentions)
    assert len(x.messages()) == 152  # nothing read twice


def test_a_failing_poll_backs_off_and_shows_on_the_channel(x: XDesk) -> None:
    desk = x.api.desk
    x.api.request(
        "PATCH", f"/api/v1/channels/{x.channel_id}", json={"settings": {"poll_seconds": "60"}}
    )
    x.fake.fail("/2/users", 500, times=5)
    report = poll_due(desk.uow, desk.connectors, now=desk.clock.now(), policy=desk.policy)
    assert report.failed == 1
    health = x.api.get(f"/api/v1/channels/{x.channel_id}").json()["health"]
    assert "the platform failed with 500" in health["poll_error"]
    assert health["consecutive_poll_errors"] == 1
    desk.clock.advance(seconds=61)  # type: ignore[attr-defined]
    assert poll_due(desk.uow, desk.connectors, now=desk.clock.now(), policy=desk.policy).polled == 0
    desk.clock.advance(minutes=2)  # type: ignore[attr-defined]
    assert poll_due(desk.uow, desk.connectors, now=desk.clock.now(), policy=desk.policy).polled == 1


def test_replies_wait_for_the_backoff(x: XDesk) -> None:
    conversation_id, _ = _mention(x)
    x.fake.fail("/2/tweets", 500)
    x.reply(conversation_id, "hello")
    assert x.send_outbox().retrying == 1
    with x.api.desk.engine.connect() as conn:
        due = conn.execute(select(t.outbox.c.next_attempt_at)).scalar_one()
    wait = due - x.api.desk.clock.now()
    assert timedelta(seconds=2) <= wait <= timedelta(seconds=5)
