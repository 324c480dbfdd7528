"""The playbook end to end over real HTTP, on SQLite and PostgreSQL: versions saved, checked,
diffed, rolled back; the live rules applied by the worker to real messages (routing, priority,
tags, suppression, auto-acknowledgement, escalation to a webhook, private-only answers); SLA
escalations; and the backtest."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from socialdesk.adapters.db import tables as t
from socialdesk.worker import JOBS
from tests.e2e.conftest import Api
from tests.fakes import FakeClassifier
from tests.support.server import live_server

SIGNING = "notify-signing-secret"


class Receiver:
    """A local system that takes escalations (a PR team's chat webhook, say)."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.lock = threading.Lock()

    def app(self) -> Starlette:
        async def hook(request: Request) -> JSONResponse:
            body = await request.body()
            with self.lock:
                self.received.append((dict(request.headers), body))
            return JSONResponse({"ok": True})

        return Starlette(routes=[Route("/hook", hook, methods=["POST"])])


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    found = Receiver()
    with live_server(found.app()) as url:
        yield found, f"{url}/hook"


def playbook(hook: str) -> str:
    return f"""
version: 1
targets:
  pr: {{webhook: "{hook}"}}
rules:
  - name: spam
    when: {{spam_p: {{gte: 0.8}}}}
    then: [{{suppress: spam}}]
    stop: true
  - name: billing
    when: {{keywords: [bill, invoice]}}
    then: [{{route: Billing}}, {{tag: billing}}]
  - name: angry vip
    when:
      all:
        - customer_tag: vip
        - sentiment: negative
    then:
      - route: Escalations
      - priority: 95
      - notify: pr
  - name: acknowledge on X
    when: {{platform: x, first_message: true}}
    then: [{{auto_ack: ack_x}}]
  - name: account data
    when: {{pii: true}}
    then: [{{private: required}}]
  - name: late
    when: {{sla_state: breached}}
    then: [{{notify: pr}}, {{tag: late}}]
"""


@pytest.fixture
def desk_ready(api: Api, receiver: tuple[Receiver, str]) -> tuple[Api, Receiver, str]:
    api.desk.classifier_override = FakeClassifier()
    api.desk.notifier.signing_secret = SIGNING  # type: ignore[attr-defined]
    for team in ("Billing", "Escalations"):
        assert api.post("/api/v1/teams", json={"name": team}).status_code == 201
    r = api.post(
        "/api/v1/templates",
        json={"name": "ack_x", "body": "Hi {customer.first_name}, we are on it."},
        as_="supervisor",
    )
    assert r.status_code == 201, r.text
    return api, receiver[0], receiver[1]


def message(
    api: Api, external_id: str, text: str, author: str = "u-1", **extra: Any
) -> dict[str, Any]:
    body = {
        "channel_id": api.channel_id,
        "external_id": external_id,
        "text": text,
        "created_at": "2026-03-02T08:55:00Z",
        "author": {"external_id": author, "handle": f"@{author}", "name": f"Ann {author}"},
        **extra,
    }
    r = api.post("/api/v1/messages", json=body)
    assert r.status_code == 201, r.text
    result: dict[str, Any] = r.json()
    return result


def work(api: Api) -> dict[str, int]:
    return {name: JOBS[name](api.desk) for name in ("triaged", "playbook", "sla", "notified")}


def save(api: Api, source: str, comment: str = "first rules", **kw: Any) -> Any:
    return api.post(
        "/api/v1/playbooks",
        json={"source": source, "comment": comment, **kw},
        as_=kw.pop("as_", "supervisor"),
    )


def conversation(api: Api, cid: int) -> dict[str, Any]:
    r = api.get(f"/api/v1/conversations/{cid}")
    assert r.status_code == 200
    body: dict[str, Any] = r.json()
    return body


def test_the_live_playbook_acts_on_every_triaged_message(
    desk_ready: tuple[Api, Receiver, str],
) -> None:
    api, receiver, hook = desk_ready
    r = save(api, playbook(hook))
    assert r.status_code == 201, r.text
    assert (r.json()["version"], r.json()["live"]) == (1, True)

    spam = message(api, "m1", "buy followers now spam spam")
    bill = message(api, "m2", "my bill is wrong, help", author="u-2")
    vip = message(api, "m3", "angry about my broken phone", author="u-3")
    pii = message(api, "m4", "help, my card 4111 1111 1111 1111 was charged", author="u-4")
    customer = conversation(api, vip["conversation_id"])["customer"]
    assert (
        api.post(f"/api/v1/customers/{customer['id']}/tags", json={"add": ["vip"]}).status_code
        == 200
    )
    done = work(api)
    assert done["playbook"] == 4

    suppressed = conversation(api, spam["conversation_id"])["conversation"]
    assert (suppressed["status"], suppressed["suppressed_reason"]) == ("closed", "spam")
    assert suppressed["close_reason"] == "suppressed: spam"

    billing = conversation(api, bill["conversation_id"])
    assert billing["conversation"]["team"]["name"] == "Billing"
    assert billing["conversation"]["tags"] == ["billing"]
    fired = billing["messages"][0]["playbook"]
    assert fired["version"] == 1
    assert fired["matched"] == ["billing", "acknowledge on X"]

    urgent = conversation(api, vip["conversation_id"])["conversation"]
    assert urgent["team"]["name"] == "Escalations"
    assert urgent["priority"] == 95
    assert any(f["name"] == "playbook" for f in urgent["priority_factors"])
    ((headers, body),) = receiver.received
    payload = json.loads(body)
    assert payload["target"] == "pr"
    assert payload["message"]["text"] == "angry about my broken phone"
    assert payload["conversation"]["url"].endswith(f"/conversations/{vip['conversation_id']}")
    expected = hmac.new(
        SIGNING.encode(), f"{headers['x-socialdesk-timestamp']}.".encode() + body, hashlib.sha256
    ).hexdigest()
    assert headers["x-socialdesk-signature"] == f"sha256={expected}"

    private = conversation(api, pii["conversation_id"])["conversation"]
    assert private["private_mode"] == "required"
    public = api.post(f"/api/v1/conversations/{pii['conversation_id']}/reply", json={"text": "Hi"})
    assert public.status_code == 422
    assert "requires answering this conversation privately" in public.json()["detail"]

    # Auto-acknowledgement: once per conversation, in the channel, not counted as an answer.
    acks = [m for m in billing["messages"] if m["meta"].get("auto_ack") == "ack_x"]
    assert [m["text"] for m in acks] == ["Hi Ann, we are on it."]
    assert billing["conversation"]["first_response_at"] is None
    assert billing["conversation"]["status"] == "open"
    message(api, "m5", "any news on my bill?", author="u-2", in_reply_to="m2")
    work(api)
    again = conversation(api, bill["conversation_id"])["messages"]
    assert len([m for m in again if m["meta"].get("auto_ack")]) == 1
    assert work(api)["notified"] == 0  # the escalation went once


def test_an_sla_breach_runs_the_late_rules(desk_ready: tuple[Api, Receiver, str]) -> None:
    api, receiver, hook = desk_ready
    assert save(api, playbook(hook)).status_code == 201
    cid = message(api, "m1", "where is my parcel? help")["conversation_id"]
    work(api)
    assert receiver.received == []
    api.desk.clock.advance(minutes=90)  # type: ignore[attr-defined]
    work(api)
    view = conversation(api, cid)["conversation"]
    assert view["sla"]["state"] == "breached"
    assert "late" in view["tags"]
    ((_, body),) = receiver.received
    assert json.loads(body)["reason"].startswith("SLA breached")
    work(api)
    assert len(receiver.received) == 1  # not repeated while it stays breached


def test_versions_are_kept_diffed_and_rolled_back(desk_ready: tuple[Api, Receiver, str]) -> None:
    api, _, hook = desk_ready
    first = playbook(hook)
    second = first.replace("gte: 0.8", "gte: 0.9")
    assert save(api, first).status_code == 201
    r = save(api, second, comment="less eager spam filter")
    assert r.status_code == 201
    assert "-    when: {spam_p: {gte: 0.8}}" in r.json()["diff"]
    assert "+    when: {spam_p: {gte: 0.9}}" in r.json()["diff"]
    listed = api.get("/api/v1/playbooks", as_="agent").json()
    assert [(v["version"], v["live"], v["author"]) for v in listed] == [
        (2, True, "supervisor"),
        (1, False, "supervisor"),
    ]
    back = api.post("/api/v1/playbooks:rollback", as_="supervisor")
    assert (back.status_code, back.json()["version"], back.json()["live"]) == (200, 1, True)
    assert api.get("/api/v1/playbooks/live").json()["version"] == 1
    exported = api.get("/api/v1/playbooks/2/export")
    assert exported.headers["content-type"].startswith("application/yaml")
    assert exported.text == second
    assert api.post("/api/v1/playbooks/2/activate", as_="supervisor").json()["live"] is True
    assert api.post("/api/v1/playbooks/2/activate", as_="agent").status_code == 403
    with api.desk.engine.connect() as conn:
        events = list(
            conn.execute(
                select(t.events.c.type, t.events.c.data).where(
                    t.events.c.type == "playbook_activated"
                )
            )
        )
    assert [e.data["version"] for e in events] == [1, 2, 1, 2]


def test_a_bad_playbook_is_refused_with_every_problem_located(
    desk_ready: tuple[Api, Receiver, str],
) -> None:
    api, _, hook = desk_ready
    bad = (
        playbook(hook)
        .replace("sentiment: negative", "sentimnet: negative")
        .replace("gte: 0.8", "gte: 80")
    )
    before = api.snapshot()
    r = save(api, bad)
    assert r.status_code == 422
    problems = r.json()["errors"]
    assert {p["rule"] for p in problems} == {"spam", "angry vip"}
    assert all(p["line"] for p in problems)
    assert any("sentimnet" in p["message"] and "sentiment" in p["message"] for p in problems)
    assert api.snapshot() == before
    checked = api.post("/api/v1/playbooks:check", json={"source": bad}, as_="agent")
    assert checked.status_code == 422
    good = api.post("/api/v1/playbooks:check", json={"source": playbook(hook)}, as_="agent")
    assert good.json() == {"valid": True, "rules": 6, "targets": ["pr"]}
    # A team named by the rules must exist here.
    missing = playbook(hook).replace("route: Billing", "route: Legal")
    r = save(api, missing)
    assert r.status_code == 422
    (problem,) = [p for p in r.json()["errors"] if "Legal" in p["message"]]
    assert problem["rule"] == "billing"
    assert problem["message"] == "team 'Legal' does not exist"


def test_backtest_compares_the_candidate_with_the_live_version(
    desk_ready: tuple[Api, Receiver, str],
) -> None:
    api, _, hook = desk_ready
    assert save(api, playbook(hook)).status_code == 201
    message(api, "m1", "buy followers now spam spam")
    message(api, "m2", "my bill is wrong, help", author="u-2")
    message(api, "m3", "my invoice is missing", author="u-3")
    work(api)
    candidate = playbook(hook).replace("keywords: [bill, invoice]", "keywords: [invoice]")
    r = api.post("/api/v1/playbooks:backtest", json={"source": candidate}, as_="supervisor")
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["messages"] == 3
    assert report["live_version"] == 1
    assert report["candidate"]["rule_matches"]["billing"] == 1
    assert report["live"]["rule_matches"]["billing"] == 2
    assert report["candidate"]["suppressed"] == report["live"]["suppressed"] == 1
    assert report["routing"]["changes"] == [{"from": "Billing", "to": None, "messages": 1}]
    assert (
        api.post("/api/v1/playbooks:backtest", json={"source": candidate}, as_="agent").status_code
        == 403
    )


def test_history_is_described_but_not_acted_on(desk_ready: tuple[Api, Receiver, str]) -> None:
    """An imported or long-delayed message gets tags and priority, but nobody is acknowledged,
    escalated or re-routed for something that happened days ago."""
    api, receiver, hook = desk_ready
    assert save(api, playbook(hook)).status_code == 201
    old = message(api, "m1", "my bill is wrong", created_at="2026-02-20T10:00:00Z")
    work(api)
    view = conversation(api, old["conversation_id"])
    assert view["conversation"]["tags"] == ["billing"]
    assert view["conversation"]["team"] is None
    assert [m for m in view["messages"] if m["direction"] == "outbound"] == []
    assert view["messages"][0]["playbook"]["notes"] == [
        "history or closed: tags, priority and SLA only"
    ]
    assert receiver.received == []
