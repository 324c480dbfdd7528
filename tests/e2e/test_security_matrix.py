"""Who may call what: every API route against every kind of caller, and webhooks posted to the
wrong channel.

`ACCESS` is written from what the product should allow (DESIGN.md "Who uses it", docs/): agents
work conversations, supervisors own the playbook, SLAs, routing, listening, reviews and reports,
admins connect channels and manage users, teams and tokens. A route missing from it fails the
suite, so a new route cannot ship without deciding who may call it. A refused request answers a
problem (401 without a usable token, 403 below the role) and changes no row of any table.

One desk and server serve the whole module (`module_api`); the rows that path parameters name
are made once.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx2
import pytest
from fastapi import FastAPI

from socialdesk.adapters.connectors.x.fake import FakeX
from socialdesk.adapters.connectors.x.inbound import SIGNATURE_HEADER, signature
from socialdesk.domain.agents import Role
from socialdesk.services.intake import ingest
from socialdesk.web.app import create_app
from socialdesk.web.errors import PROBLEM_JSON
from tests import factories as f
from tests.e2e.conftest import Api

pytestmark = pytest.mark.xdist_group("security_matrix")

AGENT, SUPERVISOR, ADMIN = Role.AGENT, Role.SUPERVISOR, Role.ADMIN
SIGNATURE = "signature"  # webhooks: the channel's secret, not an API token

PLAYBOOK = """
version: 1
rules:
  - name: billing
    when: {keywords: [bill, invoice]}
    then: [{tag: billing}]
"""


@dataclass(frozen=True)
class Access:
    """The least role a route needs and a body it would accept (sent to callers it refuses
    too, so a refusal is shown for a request that would otherwise have changed something)."""

    need: Role
    body: dict[str, Any] | None = None
    ids: tuple[tuple[str, str], ...] = ()  # path parameter → another row of World.params


# Deletions get rows of their own, so the routes that read those rows still find them.
DOOMED_TEMPLATE = (("name", "doomed_template"),)
DOOMED_QUERY = (("query_id", "doomed_query"),)
AUTHOR = {"external_id": "cust-9", "handle": "@cust9"}


def _conversations() -> dict[tuple[str, str], Access]:
    c = "/api/v1/conversations/{conversation_id}"
    return {
        ("GET", "/api/v1/conversations"): Access(AGENT),
        ("GET", c): Access(AGENT),
        ("POST", f"{c}/reply"): Access(AGENT, {"text": "Sorry! We are on it."}),
        ("POST", f"{c}/messages/{{message_id}}/retry"): Access(AGENT),
        ("POST", f"{c}/notes"): Access(AGENT, {"text": "customer called twice"}),
        ("POST", f"{c}/assign"): Access(AGENT, {"team_id": None}),
        ("POST", f"{c}/tags"): Access(AGENT, {"add": ["refund"]}),
        ("POST", f"{c}/snooze"): Access(AGENT, {"until": "2026-03-03T09:00:00Z"}),
        ("POST", f"{c}/close"): Access(AGENT, {"reason": "solved"}),
        ("POST", f"{c}/reopen"): Access(AGENT),
        ("GET", f"{c}/templates/{{name}}"): Access(AGENT),
        ("POST", f"{c}/activity"): Access(AGENT, {"kind": "viewing"}),
        ("GET", f"{c}/activity"): Access(AGENT),
        ("GET", "/api/v1/customers/{customer_id}"): Access(AGENT),
        ("POST", "/api/v1/customers/{customer_id}/tags"): Access(AGENT, {"add": ["vip"]}),
        ("POST", "/api/v1/queue:take-next"): Access(AGENT),
        ("POST", "/api/v1/me/presence"): Access(AGENT, {"presence": "away"}),
        ("GET", "/api/v1/me"): Access(AGENT),
        # An agent makes tokens for themselves and revokes their own (others' are not found).
        ("POST", "/api/v1/tokens"): Access(AGENT, {"name": "laptop"}),
        ("DELETE", "/api/v1/tokens/{token_id}"): Access(AGENT),
    }


def _reading() -> dict[tuple[str, str], Access]:
    """What every agent may read: the configuration they work under."""
    return {
        ("GET", "/api/v1/teams"): Access(AGENT),
        ("GET", "/api/v1/templates"): Access(AGENT),
        ("GET", "/api/v1/calendars"): Access(AGENT),
        ("GET", "/api/v1/sla-policies"): Access(AGENT),
        ("GET", "/api/v1/routing/teams"): Access(AGENT),
        ("GET", "/api/v1/routing/agents"): Access(AGENT),
        ("GET", "/api/v1/playbooks"): Access(AGENT),
        ("POST", "/api/v1/playbooks:check"): Access(AGENT, {"source": PLAYBOOK}),
        ("GET", "/api/v1/playbooks/live"): Access(AGENT),
        ("GET", "/api/v1/playbooks/{number}"): Access(AGENT),
        ("GET", "/api/v1/playbooks/{number}/export"): Access(AGENT),
        ("GET", "/api/v1/listening/queries"): Access(AGENT),
        ("GET", "/api/v1/listening/queries/{query_id}"): Access(AGENT),
        ("GET", "/api/v1/listening/queries/{query_id}/matches"): Access(AGENT),
        ("GET", "/api/v1/alerts"): Access(AGENT),
        ("GET", "/api/v1/reviews/rubric"): Access(AGENT),
        # Agents see only the reviews of their own work (checked in test_reviews_api.py).
        ("GET", "/api/v1/reviews"): Access(AGENT),
        ("GET", "/api/v1/reviews/agents"): Access(AGENT),
    }


def _supervising() -> dict[tuple[str, str], Access]:
    rubric = {"criteria": [{"key": "empathy", "label": "Empathy", "max": 3}]}
    calendar = {"name": "office", "timezone": "Europe/Berlin", "weekly": {"mon-fri": "09:00-17:00"}}
    return {
        ("POST", "/api/v1/messages"): Access(
            SUPERVISOR,
            {
                "channel_id": 0,
                "external_id": "api-1",
                "text": "where is my parcel?",
                "author": AUTHOR,
            },
        ),
        ("POST", "/api/v1/messages:batch"): Access(
            SUPERVISOR,
            {
                "messages": [
                    {"channel_id": 0, "external_id": "api-2", "text": "hi", "author": AUTHOR}
                ]
            },
        ),
        ("GET", "/api/v1/analytics/overview"): Access(SUPERVISOR),
        ("GET", "/api/v1/analytics/series"): Access(SUPERVISOR),
        ("GET", "/api/v1/analytics/breakdown"): Access(SUPERVISOR),
        ("GET", "/api/v1/analytics/staffing"): Access(SUPERVISOR),
        ("GET", "/api/v1/users"): Access(SUPERVISOR),
        ("POST", "/api/v1/playbooks"): Access(SUPERVISOR, {"source": PLAYBOOK, "comment": "v"}),
        ("POST", "/api/v1/playbooks:rollback"): Access(SUPERVISOR),
        ("POST", "/api/v1/playbooks:backtest"): Access(SUPERVISOR, {"source": PLAYBOOK}),
        ("POST", "/api/v1/playbooks/{number}/activate"): Access(SUPERVISOR),
        ("POST", "/api/v1/listening/queries"): Access(
            SUPERVISOR, {"name": "rivals", "query": "acme"}
        ),
        ("PATCH", "/api/v1/listening/queries/{query_id}"): Access(SUPERVISOR, {"active": True}),
        ("DELETE", "/api/v1/listening/queries/{query_id}"): Access(SUPERVISOR, ids=DOOMED_QUERY),
        ("PUT", "/api/v1/reviews/rubric"): Access(SUPERVISOR, rubric),
        ("GET", "/api/v1/reviews/sample"): Access(SUPERVISOR),
        ("POST", "/api/v1/reviews"): Access(
            SUPERVISOR, {"conversation_id": 0, "scores": {"empathy": 3}}
        ),
        ("GET", "/api/v1/surveys"): Access(SUPERVISOR),
        ("POST", "/api/v1/templates"): Access(SUPERVISOR, {"name": "bye", "body": "Bye!"}),
        ("PUT", "/api/v1/templates/{name}"): Access(
            SUPERVISOR, {"body": "Thanks, {customer.name}"}
        ),
        ("DELETE", "/api/v1/templates/{name}"): Access(SUPERVISOR, ids=DOOMED_TEMPLATE),
        ("PUT", "/api/v1/calendars"): Access(SUPERVISOR, calendar),
        ("PUT", "/api/v1/sla-policies"): Access(
            SUPERVISOR, {"name": "default", "targets": [{"first_response": 60}]}
        ),
        ("PATCH", "/api/v1/teams/{team_id}"): Access(SUPERVISOR, {"assignment_mode": "manual"}),
        ("PUT", "/api/v1/users/{agent_id}/capacity"): Access(SUPERVISOR, {"capacity": {"x": 5}}),
    }


def _administering() -> dict[tuple[str, str], Access]:
    return {
        ("GET", "/api/v1/channels"): Access(ADMIN),
        ("POST", "/api/v1/channels"): Access(ADMIN, {"platform": "x", "name": "@other"}),
        ("GET", "/api/v1/channels/{channel_id}"): Access(ADMIN),
        ("PATCH", "/api/v1/channels/{channel_id}"): Access(ADMIN, {"active": True}),
        ("GET", "/api/v1/connectors"): Access(ADMIN),
        ("GET", "/api/v1/quarantine"): Access(ADMIN),
        ("POST", "/api/v1/quarantine/{item_id}/replay"): Access(ADMIN),
        ("POST", "/api/v1/users"): Access(ADMIN, {"username": "newbie", "role": "admin"}),
        ("POST", "/api/v1/teams"): Access(ADMIN, {"name": "Night shift"}),
        ("GET", "/api/v1/audit"): Access(ADMIN),
    }


ACCESS: dict[tuple[str, str], Access] = {
    **_conversations(),
    **_reading(),
    **_supervising(),
    **_administering(),
}
WEBHOOKS = {
    ("GET", "/webhooks/{connector}/{channel_id}"),
    ("POST", "/webhooks/{connector}/{channel_id}"),
}

ROLES = [AGENT, SUPERVISOR, ADMIN]
UNAUTHENTICATED = ["no token", "malformed header", "revoked token"]


def api_routes(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path template) of every route under /api/ and /webhooks/, those left out of the
    OpenAPI document included."""

    def walk(routes: list[Any]) -> Iterator[tuple[set[str], str]]:
        for route in routes:
            if hasattr(route, "effective_route_contexts"):  # an included router (FastAPI ≥ 0.165)
                for context in route.effective_route_contexts():
                    yield set(context.methods or ()), context.path
            elif hasattr(route, "methods") and hasattr(route, "path"):
                yield set(route.methods or ()), route.path

    return {
        (method, path)
        for methods, path in walk(app.routes)
        if path.startswith(("/api/", "/webhooks/"))
        for method in methods - {"HEAD", "OPTIONS"}
    }


# -- the rows path parameters name -------------------------------------------------------------

X_SECRET, OTHER_SECRET = "x-secret-of-a", "x-secret-of-b"


@dataclass
class World:
    """The module's desk and what its routes' path parameters and webhook tests point at."""

    api: Api
    params: dict[str, Any]
    revoked: str
    fake_x: FakeX
    x_a: int  # an active X channel signed with X_SECRET
    x_b: int  # an active X channel signed with OTHER_SECRET
    x_off: int  # a switched-off X channel signed with X_SECRET
    facebook: int
    email: int


def _signed(body: bytes, secret: str) -> dict[str, str]:
    """Headers of an X delivery of these exact bytes, signed with `secret`."""
    return {"content-type": "application/json", SIGNATURE_HEADER: signature(secret, body)}


def _made(response: httpx2.Response) -> Any:
    assert response.status_code in (200, 201), response.text
    return response.json()


def _x_channel(api: Api, name: str, fake: FakeX, secret: str) -> int:
    settings = {"user_id": fake.user_id, "consumer_secret": secret, "access_token": "t"}
    body = {"platform": "x", "name": name, "settings": settings}
    return int(_made(api.post("/api/v1/channels", json=body))["id"])


@pytest.fixture(scope="module")
def world(module_api: Api) -> World:
    api, desk = module_api, module_api.desk
    outcome = ingest(
        desk.uow,
        [f.inbound(api.channel_id, "m-1", "my bill is wrong")],
        now=desk.clock.now(),
        policy=desk.policy,
        source="api",
    ).outcomes[0]
    conversation_id = outcome.conversation_id
    view = _made(api.get(f"/api/v1/conversations/{conversation_id}"))
    reply = api.post(
        f"/api/v1/conversations/{conversation_id}/reply", json={"text": "On it"}, as_="agent"
    )
    template = {"name": "thanks", "body": "Thanks {customer.first_name}"}
    _made(api.post("/api/v1/templates", json=template, as_="supervisor"))
    number = _made(api.post("/api/v1/playbooks", json={"source": PLAYBOOK, "comment": "first"}))
    query = _made(api.post("/api/v1/listening/queries", json={"name": "bills", "query": "bill"}))
    doomed = {"name": "doomed", "query": "doom"}
    doomed_query = _made(api.post("/api/v1/listening/queries", json=doomed))
    _made(api.post("/api/v1/templates", json={"name": "doomed", "body": "Bye"}))
    team = _made(api.post("/api/v1/teams", json={"name": "Care"}))
    spare = _made(api.post("/api/v1/tokens", json={"name": "spare"}, as_="agent"))
    revoked = _made(api.post("/api/v1/tokens", json={"name": "old"}, as_="agent"))
    gone = api.request("DELETE", f"/api/v1/tokens/{revoked['id']}", as_="agent")
    assert gone.status_code == 204, gone.text
    fake = FakeX()
    x_a = _x_channel(api, "@a", fake, X_SECRET)
    x_b = _x_channel(api, "@b", fake, OTHER_SECRET)
    x_off = _x_channel(api, "@off", fake, X_SECRET)
    _made(api.request("PATCH", f"/api/v1/channels/{x_off}", json={"active": False}))
    facebook = _made(
        api.post(
            "/api/v1/channels",
            json={"platform": "facebook", "name": "Page", "settings": {"app_secret": X_SECRET}},
        )
    )["id"]
    email = _made(api.post("/api/v1/channels", json={"platform": "email", "name": "Mailbox"}))["id"]
    unreadable = b"{not json"  # signed, but unreadable: quarantined
    quarantined = api.client.post(
        f"/webhooks/x/{x_a}", content=unreadable, headers=_signed(unreadable, X_SECRET)
    )
    assert quarantined.status_code == 400, quarantined.text
    item = _made(api.get("/api/v1/quarantine"))[0]["id"]
    params = {
        "conversation_id": conversation_id,
        "message_id": _made(reply)["id"],
        "customer_id": view["customer"]["id"],
        "name": template["name"],
        "number": number["version"],
        "query_id": query["id"],
        "doomed_query": doomed_query["id"],
        "doomed_template": "doomed",
        "team_id": team["id"],
        "token_id": spare["id"],
        "agent_id": _made(api.get("/api/v1/me", as_="agent"))["id"],
        "channel_id": api.channel_id,
        "item_id": item,
    }
    return World(api, params, revoked["token"], fake, x_a, x_b, x_off, facebook, email)


def _body(world: World, access: Access) -> dict[str, Any] | None:
    """The route's body with the module's real ids where it names rows."""
    if access.body is None:
        return None
    body = dict(access.body)
    if body.get("channel_id") == 0:
        body["channel_id"] = world.api.channel_id
    if body.get("conversation_id") == 0:
        body["conversation_id"] = world.params["conversation_id"]
    if "messages" in body:
        body["messages"] = [{**m, "channel_id": world.api.channel_id} for m in body["messages"]]
    return body


def _call(world: World, method: str, template: str, headers: dict[str, str]) -> httpx2.Response:
    access = ACCESS[method, template]
    ids = dict(access.ids)
    path = re.sub(r"\{(\w+)\}", lambda m: str(world.params[ids.get(m[1], m[1])]), template)
    return world.api.client.request(method, path, json=_body(world, access), headers=headers)


def _headers(world: World, caller: str) -> dict[str, str]:
    tokens = world.api.tokens
    if caller == "no token":
        return {}
    if caller == "malformed header":  # a valid admin token under the wrong scheme must not count
        return {"Authorization": f"Token {tokens['admin']}"}
    token = world.revoked if caller == "revoked token" else tokens[caller]
    return {"Authorization": f"Bearer {token}"}


def assert_problem(response: httpx2.Response, status: int) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    body = response.json()
    assert body["status"] == status
    assert body["detail"]
    if status == 401:
        assert response.headers["www-authenticate"] == "Bearer"


def _refused() -> Iterator[Any]:
    for (method, path), access in sorted(ACCESS.items()):
        callers = UNAUTHENTICATED + [r.value for r in ROLES if not r.allows(access.need)]
        for caller in callers:
            yield pytest.param(method, path, caller, id=f"{method} {path} as {caller}")


def _allowed() -> Iterator[Any]:
    for (method, path), access in sorted(ACCESS.items()):
        for role in ROLES:
            if role.allows(access.need):
                yield pytest.param(method, path, role.value, id=f"{method} {path} as {role.value}")


# -- the table ---------------------------------------------------------------------------------


def test_the_table_names_every_route_exactly(module_api: Api) -> None:
    app = create_app(module_api.desk, run_worker=False)
    routes = api_routes(app)
    missing = routes - set(ACCESS) - WEBHOOKS
    assert not missing, f"decide who may call these and add them to ACCESS: {sorted(missing)}"
    stale = set(ACCESS) - routes
    assert not stale, f"no such routes any more: {sorted(stale)}"
    documented = {
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        for method in operations
        if path.startswith(("/api/", "/webhooks/"))
    }
    assert documented == routes, "every API route is in /openapi.json"


# -- API tokens and roles ----------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path", "caller"), list(_refused()))
def test_refused_callers_get_a_problem_and_change_nothing(
    world: World, method: str, path: str, caller: str
) -> None:
    before = world.api.snapshot()
    response = _call(world, method, path, _headers(world, caller))
    assert_problem(response, 401 if caller in UNAUTHENTICATED else 403)
    assert world.api.snapshot() == before


@pytest.mark.parametrize(("method", "path", "caller"), list(_allowed()))
def test_callers_with_the_role_get_through(
    world: World, method: str, path: str, caller: str
) -> None:
    response = _call(world, method, path, _headers(world, caller))
    assert response.status_code not in (401, 403), response.text
    assert response.status_code < 500, response.text


# -- webhooks: a delivery meant for another channel --------------------------------------------


def _tweet(world: World) -> tuple[bytes, str]:
    payload = world.fake_x.activity_tweet("2200000000000000001", "@a my order never arrived")
    body, _ = world.fake_x.signed(payload, X_SECRET)
    return body, payload["tweet_create_events"][0]["id_str"]


@pytest.mark.parametrize(
    ("where", "status"),
    [
        ("another channel's secret", 401),
        ("unsigned", 401),
        ("a channel of another platform", 404),
        ("a channel whose connector takes no webhooks", 404),
        ("an unknown channel", 404),
        ("a switched-off channel", 404),
        ("an unknown connector", 404),
    ],
)
def test_a_delivery_to_the_wrong_channel_is_refused_and_stores_nothing(
    world: World, where: str, status: int
) -> None:
    body, _ = _tweet(world)
    signed = _signed(body, X_SECRET)
    path, headers = {
        "another channel's secret": (f"/webhooks/x/{world.x_b}", signed),
        "unsigned": (f"/webhooks/x/{world.x_a}", {"content-type": "application/json"}),
        "a channel of another platform": (f"/webhooks/x/{world.facebook}", signed),
        "a channel whose connector takes no webhooks": (f"/webhooks/email/{world.email}", signed),
        "an unknown channel": ("/webhooks/x/987654", signed),
        "a switched-off channel": (f"/webhooks/x/{world.x_off}", signed),
        "an unknown connector": (f"/webhooks/nope/{world.x_a}", signed),
    }[where]
    before = world.api.snapshot()
    response = world.api.client.post(path, content=body, headers=headers)
    assert_problem(response, status)
    assert world.api.snapshot() == before


@pytest.mark.parametrize(
    "path",
    [
        "/webhooks/meta/{x_a}",
        "/webhooks/x/{facebook}",
        "/webhooks/x/{x_off}",
        "/webhooks/x/987654",
        "/webhooks/nope/{x_a}",
    ],
)
def test_a_handshake_for_the_wrong_channel_is_refused(world: World, path: str) -> None:
    url = path.format(x_a=world.x_a, facebook=world.facebook, x_off=world.x_off)
    params = {"crc_token": "abc", "hub.mode": "subscribe", "hub.challenge": "1"}
    before = world.api.snapshot()
    assert_problem(world.api.client.get(url, params=params), 404)
    assert world.api.snapshot() == before


def test_the_same_delivery_signed_for_its_own_channel_is_taken_in(world: World) -> None:
    """The control: what the refusals above refused is a delivery the desk would take."""
    body, tweet_id = _tweet(world)
    headers = _signed(body, X_SECRET)
    response = world.api.client.post(f"/webhooks/x/{world.x_a}", content=body, headers=headers)
    assert response.status_code == 200, response.text
    found = world.api.get("/api/v1/conversations", params={"q": "order", "status": "all"})
    assert found.json()["items"], tweet_id
