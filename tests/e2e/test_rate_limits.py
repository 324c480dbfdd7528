"""Rate limits of API token use over real HTTP: a token's budget per minute, and an address that
keeps sending wrong tokens, both answered 429 with Retry-After and a problem saying what to do."""

from __future__ import annotations

from collections.abc import Iterator

import httpx2
import pytest

from socialdesk.bootstrap import Desk
from tests.e2e.conftest import Api, serve_api


@pytest.fixture
def limited(desk: Desk) -> Iterator[Api]:
    """A desk allowing 5 requests per token and 3 wrong tokens per address a minute (serving it
    spends one request of each role's token)."""
    desk.settings = desk.settings.model_copy(
        update={"api_requests_per_minute": 5, "api_auth_failures_per_minute": 3}
    )
    with serve_api(desk) as api:
        yield api


def refused(r: httpx2.Response, says: str) -> None:
    assert r.status_code == 429, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "too_many_requests"
    assert says in r.json()["detail"]
    assert 1 <= int(r.headers["retry-after"]) <= 61


def test_a_token_over_its_budget_waits_and_others_do_not(limited: Api) -> None:
    for _ in range(4):
        assert limited.get("/api/v1/me", as_="agent").status_code == 200
    before = limited.snapshot()
    r = limited.post(
        "/api/v1/messages",
        as_="agent",
        json={
            "channel_id": limited.channel_id,
            "external_id": "m1",
            "text": "refused before it is read",
            "author": {"external_id": "ann"},
        },
    )
    refused(r, "more than 5 requests in a minute")
    assert limited.snapshot() == before
    assert limited.get("/api/v1/me", as_="supervisor").status_code == 200


def test_an_address_guessing_tokens_is_stopped_before_lookup(limited: Api) -> None:
    for n in range(3):
        r = limited.get("/api/v1/me", as_=None, headers={"Authorization": f"Bearer sd_guess{n}"})
        assert r.status_code == 401
    r = limited.get("/api/v1/me", as_="admin")
    refused(r, "wrong API token from this address")
