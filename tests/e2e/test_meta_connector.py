"""The Meta connector over real HTTP: Facebook Page and Instagram deliveries into the desk's
webhook, and the desk's outbox against a fake Graph API on 127.0.0.1, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from socialdesk.adapters.connectors.meta import appsecret_proof
from socialdesk.adapters.connectors.meta.fake import FakeMeta
from socialdesk.adapters.connectors.meta.inbound import signature
from socialdesk.adapters.db import tables as t
from socialdesk.services.delivery import DeliveryReport, deliver_due
from tests.e2e.conftest import Api
from tests.support.server import live_server

APP_SECRET = "meta-app-secret"
VERIFY_TOKEN = "meatyhamhock"
COMMENTER = "6543210987654321"
PSID = "7001002003004005"
IGSID = "990000000000001"


@pytest.fixture
def fake_meta() -> Iterator[tuple[FakeMeta, str]]:
    fake = FakeMeta(app_secret=APP_SECRET)
    with live_server(fake.app()) as url:
        yield fake, url


class MetaDesk:
    def __init__(self, api: Api, fake: FakeMeta, url: str) -> None:
        self.api, self.fake = api, fake
        fake.now = api.desk.clock.now  # the fake's windows run on the desk's clock
        self.facebook = self._channel("facebook", "Acme", {"page_id": fake.page_id}, url)
        self.instagram = self._channel(
            "instagram", "@acme", {"instagram_account_id": fake.ig_account_id}, url
        )

    def _channel(self, platform: str, name: str, own: dict[str, str], url: str) -> int:
        r = self.api.post(
            "/api/v1/channels",
            json={
                "platform": platform,
                "name": name,
                "settings": {
                    **own,
                    "app_secret": APP_SECRET,
                    "verify_token": VERIFY_TOKEN,
                    "access_token": self.fake.access_token,
                    "api_base": url,
                },
            },
        )
        assert r.status_code == 201, r.text
        channel_id: int = r.json()["id"]
        return channel_id

    def hook(self, channel_id: int | None = None) -> str:
        return f"/webhooks/meta/{channel_id or self.facebook}"

    def deliver(self, payload: dict[str, Any], channel_id: int | None = None) -> Any:
        body, headers = self.fake.signed(payload, APP_SECRET)
        return self.api.client.post(self.hook(channel_id), content=body, headers=headers)

    def deliver_ig(self, payload: dict[str, Any]) -> Any:
        return self.deliver(payload, self.instagram)

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

    def ignored(self, kind: str) -> str:
        return (
            f'socialdesk_webhook_events_total{{connector="meta",kind="{kind}",outcome="ignored"}}'
        )

    def posts(self) -> list[dict[str, Any]]:
        return [r for r in self.fake.requests if r["method"] == "POST"]


@pytest.fixture
def meta(api: Api, fake_meta: tuple[FakeMeta, str]) -> MetaDesk:
    fake, url = fake_meta
    return MetaDesk(api, fake, url)


# -- signatures and verification ----------------------------------------------------------------


def test_signature_and_proof_vectors_from_the_reference() -> None:
    assert signature("test_app_secret", b'{"object":"page","entry":[]}') == (
        "sha256=5da47c9c7409e70d7a1851f0cfd9bc27786bd99587a9bf1dd5b51e23a2de03cf"
    )
    assert appsecret_proof("test_app_secret", "EAAtest") == (
        "49358f80523f3501db3aacc96d86f4aac4f3448ce65bfeff7c75d0e622d3f17e"
    )


def test_verification_echoes_the_challenge_for_the_right_token(meta: MetaDesk) -> None:
    r = meta.api.client.get(
        meta.hook(),
        params={
            "hub.mode": "subscribe",
            "hub.challenge": "1158201444",
            "hub.verify_token": VERIFY_TOKEN,
        },
    )
    assert r.status_code == 200
    assert r.text == "1158201444"
    assert r.headers["content-type"].startswith("text/plain")


@pytest.mark.parametrize(
    "params",
    [
        {"hub.mode": "subscribe", "hub.challenge": "1", "hub.verify_token": "guess"},
        {"hub.mode": "unsubscribe", "hub.challenge": "1", "hub.verify_token": VERIFY_TOKEN},
        {"hub.challenge": "1"},
    ],
)
def test_verification_with_a_wrong_token_is_refused(meta: MetaDesk, params: dict[str, str]) -> None:
    r = meta.api.client.get(meta.hook(meta.instagram), params=params)
    assert r.status_code == 403
    assert r.text != "1"
    assert "hub." in r.json()["detail"]


@pytest.mark.parametrize("secret", ["wrong-secret", None])
def test_a_wrong_or_missing_signature_is_refused_and_nothing_is_stored(
    meta: MetaDesk, secret: str | None
) -> None:
    before = meta.api.snapshot()
    body, headers = meta.fake.signed(
        meta.fake.feed_comment(COMMENTER, "spoofed"), secret or APP_SECRET
    )
    if secret is None:
        del headers["x-hub-signature-256"]
    r = meta.api.client.post(meta.hook(), content=body, headers=headers)
    assert r.status_code == 401
    assert "x-hub-signature-256" in r.json()["detail"]
    assert meta.api.snapshot() == before


def test_non_ascii_text_is_signed_over_the_exact_bytes(meta: MetaDesk) -> None:
    payload = meta.fake.feed_comment(COMMENTER, "Où est ma commande ? ☕ 注文")
    body, headers = meta.fake.signed(payload, APP_SECRET)
    tampered = body.replace(b"\\u2615", b"\\u2614")
    assert tampered != body
    before = meta.api.snapshot()
    assert meta.api.client.post(meta.hook(), content=tampered, headers=headers).status_code == 401
    assert meta.api.snapshot() == before
    # The same text sent as raw UTF-8 bytes, signed over those bytes, is as good.
    raw = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    headers["x-hub-signature-256"] = signature(APP_SECRET, raw)
    assert meta.api.client.post(meta.hook(), content=raw, headers=headers).status_code == 200
    (message,) = meta.messages()
    assert message.text == "Où est ma commande ? ☕ 注文"


# -- Facebook Page feed -------------------------------------------------------------------------


def test_a_feed_comment_becomes_a_message_with_its_author(meta: MetaDesk) -> None:
    post_id = meta.fake.new_post()
    payload = meta.fake.feed_comment(
        COMMENTER, "Still waiting for my refund, order 4411", post_id=post_id
    )
    r = meta.deliver(payload)
    assert r.status_code == 200, r.text
    (message,) = meta.messages()
    value = payload["entry"][0]["changes"][0]["value"]
    assert message.external_id == value["comment_id"]
    assert message.text == "Still waiting for my refund, order 4411"
    assert (message.kind, message.visibility) == ("comment", "public")
    assert message.in_reply_to == post_id
    assert message.created_at.replace(tzinfo=None) == meta.api.desk.clock.now().replace(tzinfo=None)
    local = value["comment_id"].rsplit("_", 1)[-1]
    assert message.url == f"{value['post']['permalink_url']}?comment_id={local}"
    with meta.api.desk.engine.connect() as conn:
        identity = conn.execute(select(t.identities)).one()
        raw = conn.execute(select(t.raw_events)).one()
    assert (identity.platform, identity.external_id) == ("facebook", COMMENTER)
    assert identity.display_name == "Dana Q"
    assert raw.payload["comment_id"] == message.external_id  # Meta's own object, kept


def test_an_edit_updates_the_text_and_keeps_the_old_one(meta: MetaDesk) -> None:
    payload = meta.fake.feed_comment(COMMENTER, "Order 4411 is lost")
    comment_id = payload["entry"][0]["changes"][0]["value"]["comment_id"]
    assert meta.deliver(payload).status_code == 200
    meta.api.desk.clock.advance(minutes=3)  # type: ignore[attr-defined]
    assert meta.deliver(meta.fake.feed_comment_edited(comment_id, "Order 4412 is lost")).is_success
    (message,) = meta.messages()
    assert message.text == "Order 4412 is lost"
    assert [e["text"] for e in message.meta["edits"]] == ["Order 4411 is lost"]
    assert message.meta["edits"][0]["until"].startswith(meta.api.desk.clock.now().isoformat()[:16])


def test_a_removed_comment_is_marked_removed(meta: MetaDesk) -> None:
    payload = meta.fake.feed_comment(COMMENTER, "rude words")
    comment_id = payload["entry"][0]["changes"][0]["value"]["comment_id"]
    assert meta.deliver(payload).status_code == 200
    assert meta.deliver(meta.fake.feed_comment_removed(comment_id)).status_code == 200
    (message,) = meta.messages()
    assert message.text == "rude words"
    assert message.meta["removed_at"].startswith(meta.api.desk.clock.now().date().isoformat())


def test_a_redelivery_changes_nothing(meta: MetaDesk) -> None:
    payload = meta.fake.feed_comment(COMMENTER, "hello?")
    assert meta.deliver(payload).status_code == 200
    before = meta.api.snapshot()
    assert meta.deliver(payload).status_code == 200
    assert meta.api.snapshot() == before


def test_a_visitor_post_is_a_public_post(meta: MetaDesk) -> None:
    assert meta.deliver(meta.fake.visitor_post(COMMENTER, "Your app keeps crashing")).is_success
    (message,) = meta.messages()
    assert (message.kind, message.visibility, message.in_reply_to) == ("post", "public", None)
    assert message.external_id.startswith(f"{meta.fake.page_id}_")


def test_our_own_comments_and_reactions_are_ignored_and_counted(meta: MetaDesk) -> None:
    own = meta.fake.feed_comment(meta.fake.page_id, "Thanks for reaching out!", name="Acme")
    reaction = meta.fake.page_delivery(
        changes=[
            {
                "field": "feed",
                "value": {
                    "item": "reaction",
                    "verb": "add",
                    "reaction_type": "love",
                    "from": {"id": COMMENTER},
                    "post_id": meta.fake.new_post(),
                    "created_time": 1772442000,
                },
            },
            {"field": "ratings", "value": {"item": "rating"}},
        ]
    )
    assert meta.deliver(own).status_code == 200
    assert meta.deliver(reaction).status_code == 200
    assert meta.messages() == []
    metrics = meta.api.client.get("/metrics").text
    assert meta.ignored("echo") + " 1.0" in metrics
    assert meta.ignored("feed:reaction") + " 1.0" in metrics
    assert meta.ignored("unknown:ratings") + " 1.0" in metrics


# -- Messenger ----------------------------------------------------------------------------------


def test_messenger_messages_thread_by_participant(meta: MetaDesk) -> None:
    assert meta.deliver(meta.fake.messenger_text(PSID, "Hi, my parcel is late")).is_success
    meta.api.desk.clock.advance(minutes=1)  # type: ignore[attr-defined]
    assert meta.deliver(meta.fake.messenger_text(PSID, "Order 4411")).is_success
    first, second = meta.messages()
    assert first.conversation_id == second.conversation_id
    assert (first.kind, first.visibility) == ("dm", "private")
    assert first.external_id.startswith("m_")
    assert first.created_at.replace(tzinfo=None) == (
        meta.api.desk.clock.now() - timedelta(minutes=1)
    ).replace(tzinfo=None)  # epoch milliseconds read as such
    with meta.api.desk.engine.connect() as conn:
        identity = conn.execute(select(t.identities)).one()
    assert identity.external_id == PSID


def test_echoes_deliveries_and_reads_are_ignored_and_counted(meta: MetaDesk) -> None:
    assert meta.deliver(meta.fake.messenger_echo(PSID, "Here to help")).status_code == 200
    assert meta.deliver(meta.fake.messenger_delivery(PSID, ["m_abc"])).status_code == 200
    assert meta.deliver(meta.fake.messenger_read(PSID)).status_code == 200
    assert meta.messages() == []
    metrics = meta.api.client.get("/metrics").text
    assert meta.ignored("echo") + " 1.0" in metrics
    assert meta.ignored("delivery") + " 1.0" in metrics
    assert meta.ignored("read") + " 1.0" in metrics


# -- Instagram ----------------------------------------------------------------------------------


def test_an_instagram_comment_becomes_a_message_with_the_username(meta: MetaDesk) -> None:
    payload = meta.fake.ig_comment(IGSID, "dana.q", "@acme where is my order??")
    assert meta.deliver_ig(payload).status_code == 200
    (message,) = meta.messages()
    value = payload["entry"][0]["changes"][0]["value"]
    assert (message.channel_id, message.external_id) == (meta.instagram, value["id"])
    assert (message.kind, message.visibility, message.in_reply_to) == ("comment", "public", None)
    assert message.meta["media_id"] == value["media"]["id"]
    with meta.api.desk.engine.connect() as conn:
        identity = conn.execute(select(t.identities)).one()
    assert (identity.platform, identity.external_id, identity.handle) == (
        "instagram",
        IGSID,
        "@dana.q",
    )


def test_an_instagram_mention_is_fetched_from_the_graph_api(meta: MetaDesk) -> None:
    payload = meta.fake.ig_mention(IGSID, "dana.q", "@acme your store was closed at noon")
    comment_id = payload["entry"][0]["changes"][0]["value"]["comment_id"]
    assert meta.deliver_ig(payload).status_code == 200
    (message,) = meta.messages()
    assert message.external_id == comment_id
    assert message.text == "@acme your store was closed at noon"
    (fetch,) = [r for r in meta.fake.requests if r["method"] == "GET"]
    assert fetch["path"] == f"/v21.0/{comment_id}"
    assert fetch["params"]["fields"] == "id,text,username,timestamp,from"
    assert fetch["params"]["appsecret_proof"] == meta.fake.proof()


def test_a_mention_that_cannot_be_fetched_is_kept_with_the_reason(meta: MetaDesk) -> None:
    meta.fake.graph_error("/v21.0/", 10, message="(#10) Requires instagram_basic", method="GET")
    payload = meta.fake.ig_mention(IGSID, "dana.q", "@acme hello")
    assert meta.deliver_ig(payload).status_code == 200
    (message,) = meta.messages()
    assert message.text.startswith("[Instagram mention in a comment that could not be fetched")
    assert "Requires instagram_basic" in message.text
    assert "Requires instagram_basic" in message.meta["fetch_error"]


def test_an_instagram_direct_message_is_private(meta: MetaDesk) -> None:
    assert meta.deliver_ig(meta.fake.ig_dm(IGSID, "Is this in stock in blue?")).is_success
    (message,) = meta.messages()
    assert (message.channel_id, message.kind, message.visibility) == (
        meta.instagram,
        "dm",
        "private",
    )


# -- deliveries that cannot be taken --------------------------------------------------------------


def test_a_delivery_for_the_other_object_is_refused_and_quarantined(meta: MetaDesk) -> None:
    r = meta.deliver(meta.fake.ig_comment(IGSID, "dana.q", "wrong door"))  # IG → the Page
    assert r.status_code == 400
    assert "is for object 'instagram', but channel" in r.json()["detail"]
    assert meta.messages() == []
    (item,) = meta.api.get("/api/v1/quarantine").json()
    assert item["channel_id"] == meta.facebook
    assert json.loads(item["body"])["object"] == "instagram"


def test_a_delivery_for_another_page_is_refused(meta: MetaDesk) -> None:
    payload = meta.fake.messenger_text(PSID, "hi")
    payload["entry"][0]["id"] = "999999"
    r = meta.deliver(payload)
    assert r.status_code == 400
    assert r.json()["detail"] == (
        f"entry[0] is for Page 999999, but channel {meta.facebook} is Page {meta.fake.page_id}"
    )


def test_a_malformed_change_is_quarantined_naming_where(meta: MetaDesk) -> None:
    payload = meta.fake.feed_comment(COMMENTER, "hi")
    good = payload["entry"][0]["changes"][0]
    bad = json.loads(json.dumps(good))
    del bad["value"]["comment_id"]
    payload["entry"][0]["changes"] = [good, bad]
    r = meta.deliver(payload)
    assert r.status_code == 400
    assert r.json()["detail"] == "entry[0].changes[1].value has no comment_id"
    assert meta.messages() == []  # the whole delivery waits for replay
    assert len(meta.api.get("/api/v1/quarantine").json()) == 1


def test_unknown_objects_and_fields_are_ignored_and_counted(meta: MetaDesk) -> None:
    other = {"object": "permissions", "entry": [{"id": "1", "time": 1, "changes": []}]}
    assert meta.deliver(other).status_code == 200
    odd = meta.fake.page_delivery(messaging=[])
    odd["entry"][0]["brand_new"] = [{}]
    assert meta.deliver(odd).status_code == 200
    metrics = meta.api.client.get("/metrics").text
    assert meta.ignored("unknown:permissions") + " 1.0" in metrics
    assert meta.ignored("unknown:brand_new") + " 1.0" in metrics


# -- replies ----------------------------------------------------------------------------------------


def _comment(meta: MetaDesk, text: str = "Where is my order?") -> tuple[int, str]:
    payload = meta.fake.feed_comment(COMMENTER, text)
    assert meta.deliver(payload).status_code == 200
    message = meta.messages()[-1]
    return message.conversation_id, message.external_id


def _dm(meta: MetaDesk, text: str = "My parcel is late") -> tuple[int, str]:
    assert meta.deliver(meta.fake.messenger_text(PSID, text)).status_code == 200
    message = meta.messages()[-1]
    return message.conversation_id, message.external_id


def test_a_comment_reply_is_posted_under_the_customers_comment(meta: MetaDesk) -> None:
    conversation_id, comment_id = _comment(meta)
    reply = meta.reply(conversation_id, "Sorry, Dana! Checking now.")
    assert (meta.send_outbox().sent, len(meta.fake.posted_comments())) == (1, 1)
    (request,) = meta.posts()
    assert request["path"] == f"/v21.0/{comment_id}/comments"
    assert request["params"]["message"] == "Sorry, Dana! Checking now."
    assert request["params"]["access_token"] == meta.fake.access_token
    assert request["params"]["appsecret_proof"] == meta.fake.proof()
    (posted,) = meta.fake.posted_comments()
    assert posted["object_id"] == comment_id
    shown = meta.message(conversation_id, reply["id"])
    assert shown["delivery"]["state"] == "sent"
    assert shown["delivery"]["platform_message_id"] == posted["id"]
    # The echo of our comment comes back through the webhook and is skipped.
    echo = meta.fake.feed_comment(meta.fake.page_id, "Sorry, Dana! Checking now.", name="Acme")
    assert meta.deliver(echo).status_code == 200
    assert len(meta.messages()) == 2


def test_an_instagram_reply_uses_the_replies_edge(meta: MetaDesk) -> None:
    assert meta.deliver_ig(meta.fake.ig_comment(IGSID, "dana.q", "price?")).is_success
    message = meta.messages()[-1]
    meta.reply(message.conversation_id, "€49, in all sizes")
    assert meta.send_outbox().sent == 1
    (request,) = meta.posts()
    assert request["path"] == f"/v21.0/{message.external_id}/replies"
    assert request["params"]["message"] == "€49, in all sizes"
    (posted,) = meta.fake.posted_comments()
    assert posted["from"]["id"] == meta.fake.ig_account_id


def test_a_messenger_reply_is_a_response_to_the_psid(meta: MetaDesk) -> None:
    conversation_id, _ = _dm(meta)
    reply = meta.reply(conversation_id, "Let me look into it.")
    assert meta.send_outbox().sent == 1
    (request,) = meta.posts()
    assert request["path"] == "/v21.0/me/messages"
    assert request["json"] == {
        "recipient": {"id": PSID},
        "messaging_type": "RESPONSE",
        "message": {"text": "Let me look into it."},
    }
    (sent,) = meta.fake.sent_messages()
    shown = meta.message(conversation_id, reply["id"])
    assert shown["delivery"]["platform_message_id"] == sent["id"]


def test_an_instagram_dm_reply_goes_through_the_send_api(meta: MetaDesk) -> None:
    assert meta.deliver_ig(meta.fake.ig_dm(IGSID, "blue in M?")).is_success
    meta.reply(meta.messages()[-1].conversation_id, "Yes, in stock")
    assert meta.send_outbox().sent == 1
    (sent,) = meta.fake.sent_messages()
    assert (sent["platform"], sent["user_id"], sent["from"]["id"]) == (
        "instagram",
        IGSID,
        meta.fake.ig_account_id,
    )


def test_a_private_reply_to_a_comment_names_the_comment(meta: MetaDesk) -> None:
    conversation_id, comment_id = _comment(meta, "My card was charged twice")
    meta.reply(conversation_id, "Could you send us your order number?", visibility="private")
    assert meta.send_outbox().sent == 1
    (request,) = meta.posts()
    assert request["json"]["recipient"] == {"comment_id": comment_id}
    assert request["json"]["messaging_type"] == "RESPONSE"
    assert meta.fake.private_replies[comment_id] == meta.fake.sent_messages()[0]["id"]
    # Meta takes one private reply per comment: a second one is refused, not retried.
    second = meta.reply(conversation_id, "Anything else?", visibility="private")
    assert meta.send_outbox().failed == 1
    error = meta.message(conversation_id, second["id"])["delivery"]["last_error"]
    assert "already been answered with a private reply" in error


def test_a_reply_meta_refuses_as_outside_the_window_fails_with_a_clear_message(
    meta: MetaDesk,
) -> None:
    conversation_id, _ = _dm(meta)
    # Meta's own record of the customer's last message is older than the desk's (say the
    # delivery arrived late): Meta refuses with code 10 / 2018278.
    meta.fake.last_inbound[PSID] -= timedelta(hours=30)
    reply = meta.reply(conversation_id, "Sorry for the wait")
    report = meta.send_outbox()
    assert (report.sent, report.retrying, report.failed) == (0, 0, 1)
    delivery = meta.message(conversation_id, reply["id"])["delivery"]
    assert delivery["state"] == "failed"
    assert delivery["attempts"] == 1
    assert delivery["last_error"].startswith(
        "Messenger only accepts replies within 24 hours of the customer's last message"
    )
    assert meta.fake.sent_messages() == []


def test_a_private_message_after_24_hours_is_refused_at_reply_time(meta: MetaDesk) -> None:
    conversation_id, _ = _dm(meta)
    meta.api.desk.clock.advance(hours=25)  # type: ignore[attr-defined]
    r = meta.api.post(f"/api/v1/conversations/{conversation_id}/reply", json={"text": "Hello?"})
    assert r.status_code == 422
    assert "within 24 hours" in r.json()["detail"]
    assert meta.posts() == []


def test_throttling_code_4_is_retried_after_the_platforms_wait(meta: MetaDesk) -> None:
    conversation_id, _ = _comment(meta)
    usage = {meta.fake.page_id: [{"type": "pages", "estimated_time_to_regain_access": 2}]}
    meta.fake.graph_error(
        "/comments", 4, status=400, headers={"x-business-use-case-usage": json.dumps(usage)}
    )
    reply = meta.reply(conversation_id, "One moment please")
    first = meta.send_outbox()
    assert (first.sent, first.retrying) == (0, 1)
    shown = meta.message(conversation_id, reply["id"])["delivery"]
    assert shown["state"] == "queued"
    assert "throttled by Meta (code 4" in shown["last_error"]
    assert meta.send_outbox(seconds=60).total == 0  # not before Meta's two minutes
    assert meta.send_outbox(seconds=61).sent == 1
    assert len(meta.fake.posted_comments()) == 1


def test_server_errors_three_times_fail_the_reply_and_an_agent_can_retry(meta: MetaDesk) -> None:
    conversation_id, _ = _comment(meta)
    meta.fake.fail("/comments", 500, times=3)
    reply = meta.reply(conversation_id, "Looking into it")
    reports = [meta.send_outbox(minutes=30) for _ in range(3)]
    assert [r.retrying for r in reports] == [1, 1, 0]
    assert reports[-1].failed == 1
    shown = meta.message(conversation_id, reply["id"])
    assert shown["delivery"]["state"] == "failed"
    assert shown["delivery"]["attempts"] == 3
    assert "Meta failed with 500" in shown["delivery"]["last_error"]
    assert meta.fake.posted_comments() == []
    r = meta.api.post(f"/api/v1/conversations/{conversation_id}/messages/{reply['id']}/retry")
    assert r.status_code == 200, r.text
    assert meta.send_outbox().sent == 1
    assert len(meta.fake.posted_comments()) == 1


def test_an_invalid_token_fails_at_once_saying_what_to_do(meta: MetaDesk) -> None:
    conversation_id, _ = _comment(meta)
    meta.fake.access_token = "EAArotated"
    reply = meta.reply(conversation_id, "Hello")
    assert meta.send_outbox().failed == 1
    error = meta.message(conversation_id, reply["id"])["delivery"]["last_error"]
    assert "Meta refused the Page access token (code 190" in error
    assert "set a new access_token" in error


def test_a_comment_posted_but_answer_lost_is_reconciled_not_posted_twice(meta: MetaDesk) -> None:
    conversation_id, comment_id = _comment(meta)
    meta.fake.fail("/comments", 503, after_effect=True)  # posted, but the answer is an error
    reply = meta.reply(conversation_id, "We have refunded order 4411")
    assert meta.send_outbox().retrying == 1
    assert len(meta.fake.posted_comments()) == 1
    report = meta.send_outbox(minutes=30)
    assert (report.sent, report.reconciled) == (1, 1)
    (posted,) = meta.fake.posted_comments()
    assert len(meta.posts()) == 1
    lookup = [r for r in meta.fake.requests if r["method"] == "GET"][-1]
    assert lookup["path"] == f"/v21.0/{comment_id}/comments"
    shown = meta.message(conversation_id, reply["id"])["delivery"]
    assert shown["platform_message_id"] == posted["id"]


def test_a_message_sent_but_answer_lost_is_reconciled_not_sent_twice(meta: MetaDesk) -> None:
    conversation_id, _ = _dm(meta)
    meta.fake.fail("/me/messages", 500, after_effect=True)
    reply = meta.reply(conversation_id, "Your replacement ships today")
    assert meta.send_outbox().retrying == 1
    report = meta.send_outbox(minutes=30)
    assert (report.sent, report.reconciled) == (1, 1)
    (sent,) = meta.fake.sent_messages()
    lookup = [r for r in meta.fake.requests if r["method"] == "GET"][-1]
    assert lookup["path"] == f"/v21.0/{meta.fake.page_id}/conversations"
    assert lookup["params"]["user_id"] == PSID
    shown = meta.message(conversation_id, reply["id"])["delivery"]
    assert shown["platform_message_id"] == sent["id"]


def test_credentials_are_encrypted_at_rest_and_never_shown(meta: MetaDesk) -> None:
    with meta.api.desk.engine.connect() as conn:
        stored = conn.execute(
            select(t.channels.c.settings).where(t.channels.c.id == meta.facebook)
        ).scalar_one()
    for name in ("app_secret", "verify_token", "access_token"):
        assert stored[name].startswith("enc:v1:")
    assert APP_SECRET not in json.dumps(stored)
    shown = meta.api.get(f"/api/v1/channels/{meta.facebook}").json()["settings"]
    assert shown["app_secret"] == "********"
    assert shown["page_id"] == meta.fake.page_id
