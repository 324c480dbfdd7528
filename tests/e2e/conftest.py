"""A desk served by uvicorn on 127.0.0.1 (per test, per database engine) and users to call it."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest
from playwright.sync_api import Browser, sync_playwright

from socialdesk.bootstrap import Desk
from socialdesk.domain.agents import Role
from socialdesk.services.agents import create_agent, create_token
from socialdesk.services.ports import PasswordHasher
from socialdesk.web.app import create_app
from tests import factories as f
from tests.conftest import open_desk, sqlite_copy
from tests.fakes import FakePasswordHasher, FrozenClock
from tests.support.server import live_server
from tests.support.snapshot import snapshot


@dataclass
class Api:
    """The server's base URL, a client, and a token per role."""

    url: str
    desk: Desk
    client: httpx2.Client
    tokens: dict[str, str]
    channel_id: int

    def request(
        self, method: str, path: str, *, as_: str | None = "admin", **kw: Any
    ) -> httpx2.Response:
        headers = dict(kw.pop("headers", {}))
        if as_ is not None:
            headers.setdefault("Authorization", f"Bearer {self.tokens[as_]}")
        return self.client.request(method, path, headers=headers, **kw)

    def get(self, path: str, **kw: Any) -> httpx2.Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> httpx2.Response:
        return self.request("POST", path, **kw)

    def snapshot(self) -> dict[str, list[tuple[Any, ...]]]:
        return snapshot(self.desk.engine)

    def ingest(self, external_id: str, text: str = "@brand my parcel is lost") -> int:
        """A customer's post through POST /api/v1/messages; the conversation's id."""
        r = self.post(
            "/api/v1/messages",
            json={
                "channel_id": self.channel_id,
                "external_id": external_id,
                "text": text,
                "author": {"external_id": external_id, "handle": f"@{external_id}"},
            },
        )
        assert r.status_code == 201, r.text
        found: int = r.json()["conversation_id"]
        return found


def role_users(desk: Desk, hasher: PasswordHasher, password: str | None) -> list[Role]:
    """A user per role, named after it ("The agent", ...)."""
    for role in Role:
        create_agent(
            desk.uow(),
            hasher,
            username=role.value,
            role=role,
            password=password,
            display_name=f"The {role.value}",
            email=None,
            team_names=[],
            now=desk.clock.now(),
            actor_id=None,
        )
    return list(Role)


@pytest.fixture
def api(desk: Desk) -> Iterator[Api]:
    with serve_api(desk) as served:
        yield served


@pytest.fixture(scope="module")
def module_api(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """One served desk on SQLite for all tests of a module: for matrices of many cheap requests,
    where a database and a server per test would cost more than the tests."""
    url = sqlite_copy(sqlite_template, tmp_path_factory.mktemp("desk"))
    with open_desk(url, FrozenClock()) as desk:
        # Such matrices send hundreds of wrong tokens on purpose; the throttle is tested apart.
        desk.settings = desk.settings.model_copy(update={"api_auth_failures_per_minute": 100_000})
        with serve_api(desk) as served:
            yield served


@contextmanager
def serve_api(desk: Desk) -> Iterator[Api]:
    """The desk's app on 127.0.0.1 with a user and an API token per role (tokens already used
    once, so later requests write nothing) and an X channel."""
    tokens: dict[str, str] = {}
    for role in role_users(desk, FakePasswordHasher(), None):
        token, _ = create_token(
            desk.uow(),
            username=role.value,
            name="test",
            now=desk.clock.now(),
            expires_in=None,
            actor_id=None,
        )
        tokens[role.value] = token
    channel_id = f.channel(desk.uow, "x", "@brand", desk.clock.now())
    with (
        live_server(create_app(desk, run_worker=False)) as url,
        httpx2.Client(base_url=url, timeout=30) as client,
    ):
        api = Api(url, desk, client, tokens, channel_id)
        for name in tokens:  # first use stamps last_used_at; later requests write nothing
            assert api.get("/api/v1/me", as_=name).status_code == 200
        yield api


PASSWORD = "correct horse battery staple"
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]*)"')
LOGIN_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Web:
    """The workspace served on 127.0.0.1, one user per role (username = role, PASSWORD), each
    signable in as a cookie-holding client."""

    url: str
    desk: Desk
    channel_id: int
    clients: list[httpx2.Client]

    def client(self) -> httpx2.Client:
        client = httpx2.Client(base_url=self.url, timeout=30, follow_redirects=False)
        self.clients.append(client)
        return client

    @staticmethod
    def log_in(
        client: httpx2.Client, username: str, password: str = PASSWORD, target: str | None = None
    ) -> httpx2.Response:
        """Fill in and send the sign-in form (its token read from the form, as a browser does)."""
        form = client.get("/login")
        token = LOGIN_CSRF.search(form.text)
        assert token is not None, form.text
        data = {"username": username, "password": password, "csrf_token": token.group(1)}
        return client.post("/login", data={**data, **({"next": target} if target else {})})

    def sign_in(self, username: str, password: str = PASSWORD) -> httpx2.Client:
        client = self.client()
        response = self.log_in(client, username, password)
        assert response.status_code == 303, response.text
        return client

    @staticmethod
    def csrf(client: httpx2.Client, path: str = "/") -> str:
        """The CSRF token of a signed-in client (read from a page, as the browser does)."""
        found = CSRF_META.search(client.get(path).text)
        assert found is not None
        assert found.group(1)
        return found.group(1)

    def post_form(
        self, client: httpx2.Client, path: str, data: dict[str, str] | None = None
    ) -> httpx2.Response:
        return client.post(path, data={"csrf_token": self.csrf(client), **(data or {})})

    def snapshot(self) -> dict[str, list[tuple[Any, ...]]]:
        return snapshot(self.desk.engine)


@contextmanager
def serve_workspace(desk: Desk, *, run_worker: bool = False) -> Iterator[Web]:
    """The desk's app on 127.0.0.1 with a user per role who can sign in (failures not slowed)."""
    desk.settings = desk.settings.model_copy(update={"login_failure_delay_seconds": 0.0})
    role_users(desk, desk.hasher, PASSWORD)
    channel_id = f.channel(desk.uow, "x", "@brand", desk.clock.now())
    with live_server(create_app(desk, run_worker=run_worker)) as url:
        web = Web(url, desk, channel_id, [])
        try:
            yield web
        finally:
            for client in web.clients:
                client.close()


@pytest.fixture
def web(desk: Desk) -> Iterator[Web]:
    with serve_workspace(desk) as served:
        yield served


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    """Debian's headless Chromium driven by Playwright, one per test module."""
    path = shutil.which("chromium")
    if path is None:
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=path, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        yield browser
        browser.close()
