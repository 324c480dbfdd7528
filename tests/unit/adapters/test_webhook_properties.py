"""Webhook parsers and signature checks under hostile and generated deliveries.

What a connector may do with a signed body is narrow: give a Delivery whose messages the database
can hold, or raise PayloadInvalid (400, quarantined for replay). Anything else is a 500 that the
platform retries for ever. A well-formed delivery yields exactly the messages it carries, and a
signature that is not the right one is always refused.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from socialdesk.adapters.connectors.meta import inbound as meta
from socialdesk.adapters.connectors.transactions import inbound as transactions
from socialdesk.adapters.connectors.x import inbound as x
from socialdesk.domain.connectors import Delivery, PayloadInvalid, SignatureInvalid, WebhookRequest
from socialdesk.domain.text import text_problem

OWN = "42"
FACEBOOK = meta.Account(7, "facebook", OWN)
INSTAGRAM = meta.Account(8, "instagram", OWN)
NOW = 1_767_225_600

JSON_VALUES: st.SearchStrategy[Any] = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=8)
    | st.sampled_from(["1", "42", "add", "comment", "message_create", "0001-01-01T00:00:00+0100"]),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=12,
)


def no_lookup(object_id: str, kind: str) -> dict[str, Any]:
    return {"id": object_id, "text": "fetched"}


def parse_x(body: bytes) -> Delivery:
    return x.parse(1, OWN, body)


def parse_facebook(body: bytes) -> Delivery:
    return meta.parse(FACEBOOK, body, no_lookup)


def parse_instagram(body: bytes) -> Delivery:
    return meta.parse(INSTAGRAM, body, no_lookup)


def parse_chat(body: bytes) -> Delivery:
    return transactions.parse(3, "chat", "US", body)


def parse_phone(body: bytes) -> Delivery:
    return transactions.parse(4, "phone", "US", body)


PARSERS = st.sampled_from([parse_x, parse_facebook, parse_instagram, parse_chat, parse_phone])


def assert_read_or_refused(parse: Any, body: bytes) -> None:
    """The contract: a Delivery of storable messages, or PayloadInvalid."""
    try:
        delivery = parse(body)
    except PayloadInvalid:
        return
    for message in delivery.messages:
        assert isinstance(message.external_id, str)
        assert message.external_id
        assert text_problem(message.text) is None
        assert message.created_at is None or message.created_at.tzinfo is not None


def dumps(value: Any) -> bytes:
    return json.dumps(value, allow_nan=True).encode()


@given(parse=PARSERS, body=st.binary(max_size=200))
@settings(max_examples=200, deadline=None)
@example(parse=parse_x, body=b"[" * 100_000)
@example(parse=parse_x, body=b'{"a": "\xff"}')
def test_any_bytes_are_read_or_refused(parse: Any, body: bytes) -> None:
    assert_read_or_refused(parse, body)


@given(parse=PARSERS, value=JSON_VALUES)
@settings(max_examples=150, deadline=None)
def test_any_json_is_read_or_refused(parse: Any, value: Any) -> None:
    assert_read_or_refused(parse, dumps(value))


# Envelopes with the right names and anything inside: where the field-by-field bugs live.
X_SHAPED = st.fixed_dictionaries(
    {"for_user_id": st.just(OWN)},
    optional={
        "tweet_create_events": st.lists(
            st.fixed_dictionaries(
                {"id_str": JSON_VALUES, "user": st.dictionaries(
                    st.sampled_from(["id_str", "id", "screen_name", "name", "followers_count"]),
                    JSON_VALUES)},
                optional={"created_at": JSON_VALUES, "text": JSON_VALUES,
                          "in_reply_to_status_id_str": JSON_VALUES, "truncated": JSON_VALUES,
                          "extended_tweet": JSON_VALUES},
            ),
            max_size=2,
        ),
        "direct_message_events": st.lists(
            st.fixed_dictionaries(
                {"type": st.just("message_create"), "id": JSON_VALUES,
                 "created_timestamp": JSON_VALUES,
                 "message_create": st.fixed_dictionaries(
                     {"sender_id": JSON_VALUES}, optional={"message_data": JSON_VALUES})},
            ),
            max_size=2,
        ),
        "tweet_delete_events": st.lists(
            st.fixed_dictionaries({"status": JSON_VALUES, "timestamp_ms": JSON_VALUES}), max_size=2
        ),
        "users": JSON_VALUES,
        "favorite_events": JSON_VALUES,
    },
)  # fmt: skip

META_VALUE = st.dictionaries(
    st.sampled_from(
        ["item", "verb", "comment_id", "post_id", "id", "from", "message", "text", "created_time",
         "timestamp", "parent_id", "attachments", "photo", "post", "permalink_url", "media",
         "media_id"]
    ),
    JSON_VALUES | st.sampled_from(["comment", "status", "add", "edited", "remove"]),
)  # fmt: skip
META_EVENT = st.fixed_dictionaries(
    {"sender": st.fixed_dictionaries({"id": JSON_VALUES}), "timestamp": JSON_VALUES},
    optional={
        "message": st.dictionaries(
            st.sampled_from(["mid", "text", "attachments", "is_echo", "is_deleted", "reply_to",
                             "quick_reply", "sticker_id"]),
            JSON_VALUES,
        ),
        "message_edit": JSON_VALUES,
        "read": JSON_VALUES,
    },
)  # fmt: skip
META_SHAPED = st.fixed_dictionaries(
    {
        "object": st.sampled_from(["page", "instagram"]),
        "entry": st.lists(
            st.fixed_dictionaries(
                {"id": st.just(OWN), "time": JSON_VALUES},
                optional={
                    "changes": st.lists(
                        st.fixed_dictionaries(
                            {"field": st.sampled_from(["feed", "comments", "mentions"]),
                             "value": META_VALUE}
                        ),
                        max_size=2,
                    ),
                    "messaging": st.lists(META_EVENT, max_size=2),
                },
            ),
            max_size=2,
        ),
    }
)  # fmt: skip


@given(value=X_SHAPED)
@settings(max_examples=150, deadline=None)
@example(value={"tweet_delete_events": [{"status": {"id": "1"}, "timestamp_ms": 10**30}]})
@example(value={"tweet_delete_events": [{"status": {"id": "1"}, "timestamp_ms": float("inf")}]})
@example(
    value={"tweet_create_events": [{"id_str": "5", "user": {"id_str": "7"}, "text": "a\x00",
                                    "created_at": "Mon Jan 01 00:00:00 +0100 0001"}]}
)  # fmt: skip
@example(
    value={"tweet_create_events": [{"id_str": "5", "user": {"id_str": "7",
                                                            "followers_count": float("inf")}}]}
)  # fmt: skip
def test_x_envelopes_with_anything_inside(value: dict[str, Any]) -> None:
    """Found: epoch times past year 9999 and `Infinity` (OverflowError, OSError), a year-1 time
    shifted out of range, an infinite follower count, NUL text that PostgreSQL would refuse."""
    assert_read_or_refused(parse_x, dumps(value))


def page(**entry: Any) -> dict[str, Any]:
    """A Page delivery with one entry for our Page."""
    return {"object": "page", "entry": [{"id": OWN, "time": 1, **entry}]}


def dm(message: dict[str, Any]) -> dict[str, Any]:
    return {"sender": {"id": "3"}, "timestamp": 1, "message": message}


def feed_comment(created_time: Any) -> dict[str, Any]:
    value = {"item": "comment", "verb": "add", "comment_id": "1", "created_time": created_time}
    return {"field": "feed", "value": value}


@given(value=META_SHAPED)
@settings(max_examples=150, deadline=None)
@example(value=page(messaging=[dm({"mid": "m", "attachments": 5})]))
@example(value=page(messaging=[dm({"mid": "m", "attachments": [{"payload": "x"}]})]))
@example(value=page(changes=[feed_comment(10**30)]))
@example(value=page(changes=[feed_comment("0001-01-01T00:00:00+0100")]))
@example(value=page(changes=[{"field": "feed", "value": {"item": []}}]))
def test_meta_envelopes_with_anything_inside(value: dict[str, Any]) -> None:
    """Found: attachments that are not a list, a payload that is not an object, epoch times past
    year 9999, a year-1 time shifted out of range."""
    parse = parse_facebook if value["object"] == "page" else parse_instagram
    assert_read_or_refused(parse, dumps(value))


CHAT_LINE = st.fixed_dictionaries(
    {"id": JSON_VALUES, "from": st.sampled_from(["visitor", "agent", "system"]),
     "text": JSON_VALUES, "at": JSON_VALUES | st.just("2026-03-02T09:15:00Z")}
)  # fmt: skip


@given(
    started=JSON_VALUES | st.sampled_from(["0001-01-01T00:00:00+01:00", "2026-03-02T09:15:00Z"]),
    lines=st.lists(CHAT_LINE, max_size=3),
    visitor=JSON_VALUES | st.just({"id": "v1"}),
)
@settings(max_examples=150, deadline=None)
@example(started="0001-01-01T00:00:00+01:00", lines=[], visitor={"id": "v1"})
def test_chat_records_with_anything_inside(started: Any, lines: list[Any], visitor: Any) -> None:
    """Found: a time that is valid ISO 8601 but leaves year 1 when shifted to UTC."""
    record = {"type": "chat", "id": "c1", "visitor": visitor, "started_at": started,
              "messages": lines}  # fmt: skip
    assert_read_or_refused(parse_chat, dumps(record))


# -- well-formed deliveries ------------------------------------------------------------------------

IDS = st.integers(1, 10**19).map(str)
TEXT = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1, max_size=40)


@given(
    tweets=st.lists(st.tuples(IDS, IDS, TEXT), max_size=4, unique_by=lambda t: t[0]),
    echoes=st.lists(IDS, max_size=2),
)
@settings(max_examples=200, deadline=None)
def test_x_yields_exactly_the_tweets_it_carries(
    tweets: list[tuple[str, str, str]], echoes: list[str]
) -> None:
    """Customers' tweets become messages with their ids, authors and texts, in order; our own
    come back as echoes and are counted, not stored."""
    customers = [t for t in tweets if t[1] != OWN]
    events = [{"id_str": i, "user": {"id_str": u}, "text": t} for i, u, t in customers]
    events += [{"id_str": i, "user": {"id_str": OWN}, "text": "ours"} for i in echoes]
    delivery = x.parse(1, OWN, dumps({"for_user_id": OWN, "tweet_create_events": events}))
    assert [
        (m.external_id, m.author and m.author.external_id, m.text) for m in delivery.messages
    ] == [(i, u, t) for i, u, t in customers]
    assert delivery.ignored == ({"echo": len(echoes)} if echoes else {})


@given(events=st.lists(st.tuples(IDS, IDS, TEXT, st.integers(0, 4 * 10**12)), max_size=4))
@settings(max_examples=200, deadline=None)
def test_messenger_yields_exactly_the_messages_it_carries(
    events: list[tuple[str, str, str, int]],
) -> None:
    messaging = [
        {"sender": {"id": s}, "recipient": {"id": OWN}, "timestamp": at,
         "message": {"mid": mid, "text": text}}
        for mid, s, text, at in events
    ]  # fmt: skip
    body = dumps(page(messaging=messaging))
    delivery = parse_facebook(body)
    expected = [(mid, s, text) for mid, s, text, _ in events if s != OWN]
    assert [
        (m.external_id, m.author and m.author.external_id, m.text) for m in delivery.messages
    ] == expected


# -- signatures ---------------------------------------------------------------------------------

SECRET = st.text(st.characters(codec="utf-8"), min_size=1, max_size=20)
HEADER = st.text(st.characters(codec="latin-1"), max_size=80)  # what HTTP headers can carry


@given(secret=SECRET, body=st.binary(max_size=100), given_header=st.none() | HEADER)
@settings(max_examples=150, deadline=None)
def test_a_wrong_signature_is_always_refused(
    secret: str, body: bytes, given_header: str | None
) -> None:
    """For each signing scheme: the right signature passes, any other header value (or none)
    is SignatureInvalid, never another error."""
    stamp = str(NOW)
    schemes = [
        (x.verify, x.SIGNATURE_HEADER, x.signature(secret, body), {}),
        (meta.verify, meta.SIGNATURE_HEADER, meta.signature(secret, body), {}),
        (
            lambda s, r: transactions.verify(s, r, now=NOW),
            transactions.SIGNATURE_HEADER,
            transactions.signature(secret, stamp, body),
            {transactions.TIMESTAMP_HEADER.lower(): stamp},
        ),
    ]
    for verify, name, right, extra in schemes:
        verify(secret, WebhookRequest("POST", {}, {name.lower(): right, **extra}, body))
        headers = dict(extra)
        if given_header is not None:
            headers[name.lower()] = given_header
        request = WebhookRequest("POST", {}, headers, body)
        accepted = given_header is not None and given_header.strip().lower() == right
        accepted = accepted or given_header == right
        try:
            verify(secret, request)
        except SignatureInvalid:
            assert not accepted
        else:
            assert accepted


@given(secret=SECRET, body=st.binary(max_size=100), skew=st.integers(-(10**6), 10**6))
@settings(max_examples=150, deadline=None)
def test_a_transactions_signature_is_only_good_near_its_time(
    secret: str, body: bytes, skew: int
) -> None:
    headers = {k.lower(): v for k, v in transactions.signed_headers(secret, body, NOW).items()}
    request = WebhookRequest("POST", {}, headers, body)
    try:
        transactions.verify(secret, request, now=NOW + skew)
    except SignatureInvalid:
        assert abs(skew) > transactions.TOLERANCE_SECONDS
    else:
        assert abs(skew) <= transactions.TOLERANCE_SECONDS
