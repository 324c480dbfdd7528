"""Saved replies over real HTTP, on SQLite and PostgreSQL: kept by supervisors, used by agents,
rendered for a conversation and measured against the platform's length limit."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import Api
from tests.fakes import FrozenClock

ACK = "Hi {customer.first_name}, {agent.first_name} here. Case #{conversation.id} is open."


def create(api: Api, name: str, body: str, as_: str = "supervisor") -> Any:
    return api.post("/api/v1/templates", json={"name": name, "body": body}, as_=as_)


def conversation(api: Api, author_name: str = "Ann Smith", handle: str = "@ann") -> int:
    r = api.post(
        "/api/v1/messages",
        json={
            "channel_id": api.channel_id,
            "external_id": f"m-{handle}",
            "text": "@brand my parcel is lost",
            "author": {"external_id": handle, "handle": handle, "name": author_name},
        },
    )
    assert r.status_code == 201, r.text
    cid: int = r.json()["conversation_id"]
    return cid


@pytest.fixture
def nia(api: Api) -> str:
    """An agent called Nia Long, with a token."""
    r = api.post(
        "/api/v1/users", json={"username": "nia", "role": "agent", "display_name": "Nia Long"}
    )
    assert r.status_code == 201, r.text
    api.tokens["nia"] = api.post("/api/v1/tokens", json={"username": "nia"}).json()["token"]
    assert api.get("/api/v1/me", as_="nia").status_code == 200  # stamps the token's first use
    return "nia"


class TestKeeping:
    def test_create_list_update_delete(self, api: Api) -> None:
        r = create(api, "ack_x", ACK)
        assert r.status_code == 201, r.text
        made = r.json()
        assert (made["name"], made["body"], made["updated_at"]) == (
            "ack_x",
            ACK,
            "2026-03-02T09:00:00Z",
        )
        assert create(api, "apology", "Sorry about that, {customer.name}!").status_code == 201
        listed = api.get("/api/v1/templates", as_="agent").json()
        assert [(t["name"], t["body"]) for t in listed] == [
            ("ack_x", ACK),
            ("apology", "Sorry about that, {customer.name}!"),
        ]
        assert isinstance(api.desk.clock, FrozenClock)
        api.desk.clock.advance(minutes=5)
        changed = api.request(
            "PUT", "/api/v1/templates/ack_x", json={"body": "Hello {customer.name}"}
        )
        assert changed.status_code == 200, changed.text
        assert changed.json() == {
            "id": made["id"],
            "name": "ack_x",
            "body": "Hello {customer.name}",
            "updated_at": "2026-03-02T09:05:00Z",
        }
        bodies = {t["name"]: t["body"] for t in api.get("/api/v1/templates").json()}
        assert bodies["ack_x"] == "Hello {customer.name}"
        gone = api.request("DELETE", "/api/v1/templates/ack_x", as_="supervisor")
        assert (gone.status_code, gone.content) == (204, b"")
        assert [t["name"] for t in api.get("/api/v1/templates").json()] == ["apology"]
        again = api.request("DELETE", "/api/v1/templates/ack_x", as_="supervisor")
        assert again.status_code == 404
        assert again.json()["detail"] == "there is no template named 'ack_x'"

    @pytest.mark.parametrize(
        ("name", "body", "says"),
        [
            ("ack", "Hi {customer.age}", "unknown variable {customer.age}"),
            ("ack", "Hi {customer.name", "a brace that is not part of a variable"),
            ("ack", "Hi customer.name}", "a brace that is not part of a variable"),
            ("ack", "Hi {{customer.name}}", "a brace that is not part of a variable"),
            ("ack", "Hi {Customer.Name}", "a brace"),
            ("ack", "   ", "a template needs a text"),
            ("Ack X", "Hi", "a template name is"),
            ("../ack", "Hi", "a template name is"),
            ("ack", "x" * 10_001, "body"),
        ],
    )
    def test_invalid_templates_are_refused_and_nothing_is_stored(
        self, api: Api, name: str, body: str, says: str
    ) -> None:
        before = api.snapshot()
        r = create(api, name, body)
        assert r.status_code == 422, r.text
        assert says in r.text
        assert api.snapshot() == before

    def test_an_update_is_checked_like_a_new_one(self, api: Api) -> None:
        assert create(api, "ack", ACK).status_code == 201
        before = api.snapshot()
        r = api.request("PUT", "/api/v1/templates/ack", json={"body": "Hi {agent.nickname}"})
        assert r.status_code == 422
        assert api.snapshot() == before
        missing = api.request("PUT", "/api/v1/templates/nope", json={"body": "Hi"})
        assert missing.status_code == 404

    def test_duplicate_name_is_a_conflict(self, api: Api) -> None:
        assert create(api, "ack", ACK).status_code == 201
        before = api.snapshot()
        r = create(api, "ack", "Another text")
        assert r.status_code == 409
        assert r.json()["detail"] == "a template named 'ack' exists already"
        assert api.snapshot() == before

    def test_agents_may_read_but_not_keep(self, api: Api) -> None:
        assert create(api, "ack", ACK).status_code == 201
        before = api.snapshot()
        assert create(api, "mine", "Hi", as_="agent").status_code == 403
        put = api.request("PUT", "/api/v1/templates/ack", json={"body": "Hi"}, as_="agent")
        assert put.status_code == 403
        assert api.request("DELETE", "/api/v1/templates/ack", as_="agent").status_code == 403
        assert api.snapshot() == before
        assert [t["name"] for t in api.get("/api/v1/templates", as_="agent").json()] == ["ack"]
        assert api.get("/api/v1/templates", as_=None).status_code == 401


class TestRendering:
    def test_render_for_a_conversation(self, api: Api, nia: str) -> None:
        cid = conversation(api)
        assert create(api, "ack", ACK).status_code == 201
        before = api.snapshot()
        r = api.get(f"/api/v1/conversations/{cid}/templates/ack", as_=nia)
        assert r.status_code == 200, r.text
        text = f"Hi Ann, Nia here. Case #{cid} is open."
        assert r.json() == {
            "template": "ack",
            "text": text,
            "length": len(text),
            "max_length": 280,
            "fits": True,
        }
        assert api.snapshot() == before  # rendering reads only

    def test_every_variable(self, api: Api, nia: str) -> None:
        cid = conversation(api)
        body = (
            "{customer.name}|{customer.first_name}|{customer.handle}|{agent.name}|"
            "{agent.first_name}|{conversation.id}|{channel.name}|{brand.name}"
        )
        assert create(api, "all", body).status_code == 201
        text = api.get(f"/api/v1/conversations/{cid}/templates/all", as_=nia).json()["text"]
        assert text == f"Ann Smith|Ann|@ann|Nia Long|Nia|{cid}|@brand|brand"

    def test_a_name_is_never_read_as_a_variable(self, api: Api, nia: str) -> None:
        cid = conversation(api, author_name="{agent.name} {conversation.id}", handle="@mallory")
        assert create(api, "hi", "Hi {customer.name}").status_code == 201
        text = api.get(f"/api/v1/conversations/{cid}/templates/hi", as_=nia).json()["text"]
        assert text == "Hi {agent.name} {conversation.id}"

    def test_too_long_for_x_does_not_fit(self, api: Api, nia: str) -> None:
        cid = conversation(api)
        body = "Dear {customer.name}, " + "we are looking into it. " * 12
        assert create(api, "long", body).status_code == 201
        r = api.get(f"/api/v1/conversations/{cid}/templates/long", as_=nia).json()
        assert r["length"] == len(r["text"]) > 280
        assert (r["max_length"], r["fits"]) == (280, False)
        assert r["text"].startswith("Dear Ann Smith, we are")
        # and the reply itself would be refused the same way
        reply = api.post(f"/api/v1/conversations/{cid}/reply", json={"text": r["text"]}, as_=nia)
        assert reply.status_code == 422

    def test_exactly_at_the_limit_fits(self, api: Api, nia: str) -> None:
        cid = conversation(api, author_name="Ann Smith")
        body = "Hi {customer.first_name}! " + "a" * (280 - len("Hi Ann! "))
        assert create(api, "edge", body).status_code == 201
        r = api.get(f"/api/v1/conversations/{cid}/templates/edge", as_=nia).json()
        assert (r["length"], r["fits"]) == (280, True)

    def test_unknown_template_or_conversation(self, api: Api, nia: str) -> None:
        cid = conversation(api)
        assert create(api, "ack", ACK).status_code == 201
        missing = api.get(f"/api/v1/conversations/{cid}/templates/nope", as_=nia)
        assert (missing.status_code, missing.json()["detail"]) == (
            404,
            "there is no template named 'nope'",
        )
        nowhere = api.get("/api/v1/conversations/9999/templates/ack", as_=nia)
        assert (nowhere.status_code, nowhere.json()["detail"]) == (
            404,
            "conversation 9999 does not exist",
        )


class TestSpacing:
    def test_the_templates_own_spacing_is_kept(self, api: Api, nia: str) -> None:
        cid = conversation(api)
        body = "Hi {customer.first_name}!\n\n  Order status , as promised:  on its way.\n-- {agent.name}"
        assert create(api, "mail", body).status_code == 201
        text = api.get(f"/api/v1/conversations/{cid}/templates/mail", as_=nia).json()["text"]
        assert text == "Hi Ann!\n\n  Order status , as promised:  on its way.\n-- Nia Long"

    def test_a_variable_without_a_value_takes_its_spaces_along(self, api: Api, nia: str) -> None:
        r = api.post(
            "/api/v1/messages",
            json={
                "channel_id": api.channel_id,
                "external_id": "anon-1",
                "text": "@brand hello",
                "author": {"external_id": "anon"},
            },
        )
        assert r.status_code == 201, r.text
        cid = r.json()["conversation_id"]
        body = "Hi {customer.first_name}, thanks for writing. {customer.handle} We reply soon!"
        assert create(api, "hi", body).status_code == 201
        text = api.get(f"/api/v1/conversations/{cid}/templates/hi", as_=nia).json()["text"]
        assert text == "Hi, thanks for writing. We reply soon!"


class TestInUse:
    PLAYBOOK = """
version: 1
rules:
  - name: acknowledge on X
    when: {platform: x}
    then: [{auto_ack: ack_x}]
"""

    def test_a_template_the_live_playbook_uses_cannot_be_deleted(self, api: Api) -> None:
        assert create(api, "ack_x", ACK).status_code == 201
        saved = api.post(
            "/api/v1/playbooks",
            json={"source": self.PLAYBOOK, "comment": "acknowledge"},
            as_="supervisor",
        )
        assert saved.status_code == 201, saved.text
        before = api.snapshot()
        r = api.request("DELETE", "/api/v1/templates/ack_x", as_="supervisor")
        assert r.status_code == 409, r.text
        assert "rule 'acknowledge on X'" in r.json()["detail"]
        assert api.snapshot() == before
        # once a version without it is live, it can go
        other = api.post(
            "/api/v1/playbooks",
            json={"source": "version: 1\nrules: []\n", "comment": "no more acks"},
            as_="supervisor",
        )
        assert other.status_code == 201, other.text
        assert api.request("DELETE", "/api/v1/templates/ack_x").status_code == 204
