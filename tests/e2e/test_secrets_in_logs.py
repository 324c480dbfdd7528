"""Secrets never reach the logs: a full run of `socialdesk serve` at DEBUG level with every kind
of secret configured and used (the credential key, the webhook signing secret, the SMTP and
database passwords, a channel's consumer secret and access token, an API token, a wrong token, a
password and the session cookie it buys), through webhooks, the API, the outbox against a fake X
that first answers 429, and the web sign-in. The whole log is then searched for each one."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from socialdesk.adapters.connectors.x.fake import FakeX
from socialdesk.cli import app
from tests.support.processes import free_port, wait_ready
from tests.support.server import live_server

CUSTOMER = "2200000000000000001"
LOGIN_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
SECRETS = {
    "SOCIALDESK_SECRET_KEY": "nW0mD0W8b9mG3oQx1w8Ytq2M7q3kz5yA0bC1dE2fG3k=",
    "SOCIALDESK_NOTIFY_SIGNING_SECRET": "notify-signing-s3cret-5a1b",
    "SOCIALDESK_SMTP_URL": "smtp://mailer:smtp-pa55word-77c1@127.0.0.1:9/",
}
CONSUMER_SECRET = "x-consumer-s3cret-0b7e"
ACCESS_TOKEN = "x-access-t0ken-41d2"
WRONG_TOKEN = "sd_not-a-real-token-9f3c"
DB_PASSWORD = "pg-pa55word-c0ffee"


@pytest.fixture
def fake_x() -> Iterator[tuple[FakeX, str]]:
    fake = FakeX(access_token=ACCESS_TOKEN)
    fake.add_user(CUSTOMER, "danaq", followers=312)
    with live_server(fake.app()) as url:
        yield fake, url


def _cli(env: dict[str, str], *args: str) -> str:
    result = CliRunner().invoke(app, list(args), env=env)
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.output.strip().splitlines()[-1]


def _with_password(db_url: str) -> str:
    """PostgreSQL URLs get a password (the test cluster trusts any), so it can be looked for."""
    url = make_url(db_url)
    if url.get_backend_name() != "postgresql":
        return db_url
    return url.set(password=DB_PASSWORD).render_as_string(hide_password=False)


def test_a_full_run_logs_no_secret(db_url: str, tmp_path: Path, fake_x: tuple[FakeX, str]) -> None:
    fake, fake_url = fake_x
    env = {
        **SECRETS,
        "SOCIALDESK_DATABASE_URL": _with_password(db_url),
        "SOCIALDESK_LOG_LEVEL": "DEBUG",
        "SOCIALDESK_WORKER_INTERVAL_SECONDS": "0.2",
        "SOCIALDESK_LOGIN_FAILURE_DELAY_SECONDS": "0",
    }
    _cli(env, "user", "add", "ops", "--role", "admin")
    password = _cli(env, "user", "password", "ops", "--generate")
    token = _cli(env, "token", "create", "--user", "ops")
    log = tmp_path / "server.log"
    port = free_port()
    with log.open("w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "socialdesk", "serve", "--port", str(port)],
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    cookie = ""
    try:
        wait_ready(base, server, log)
        with httpx2.Client(base_url=base, timeout=10) as api:
            cookie = _exercise(api, fake, fake_url, token, password)
    finally:
        server.terminate()
        server.wait(timeout=20)

    text = log.read_text()
    assert '"request"' in text  # the access log was written: the search below means something
    assert "rate limited" in text or "429" in text  # the failed send was logged
    secrets = {
        **SECRETS,
        "smtp password": "smtp-pa55word-77c1",
        "consumer secret": CONSUMER_SECRET,
        "access token": ACCESS_TOKEN,
        "API token": token,
        "wrong token": WRONG_TOKEN,
        "password": password,
        "session cookie": cookie,
    }
    if "postgresql" in db_url:
        secrets["database password"] = DB_PASSWORD
    leaked = sorted(name for name, value in secrets.items() if value and value in text)
    assert not leaked, f"secrets in the log: {leaked}"


def _exercise(api: httpx2.Client, fake: FakeX, fake_url: str, token: str, password: str) -> str:
    """Use every secret once over HTTP; the session cookie the sign-in gave."""
    auth = {"Authorization": f"Bearer {token}"}
    r = api.post("/api/v1/channels", headers=auth, json=fake.channel(fake_url, CONSUMER_SECRET))
    assert r.status_code == 201, r.text
    hook = f"/webhooks/x/{r.json()['id']}"
    assert api.get(hook, params={"crc_token": "abc"}).status_code == 200
    body, headers = fake.signed(fake.activity_tweet(CUSTOMER, "@AcmeSupport help"), CONSUMER_SECRET)
    assert api.post(hook, content=body, headers=headers).status_code == 200
    body, headers = fake.signed(fake.activity_tweet(CUSTOMER, "@AcmeSupport x"), "wrong secret")
    assert api.post(hook, content=body, headers=headers).status_code in (401, 403)
    assert api.get("/api/v1/me", headers={"Authorization": f"Bearer {WRONG_TOKEN}"}).status_code
    conversation = _first_conversation(api, auth)
    fake.fail("/2/tweets", 429, headers={"x-rate-limit-reset": str(int(time.time()) + 1)})
    r = api.post(
        f"/api/v1/conversations/{conversation}/reply", headers=auth, json={"text": "On it!"}
    )
    assert r.status_code == 201, r.text
    deadline = time.monotonic() + 20
    while not fake.posted():
        assert time.monotonic() < deadline, "the reply was never sent"
        time.sleep(0.2)
    for attempt in ("not the password", password):
        form = api.get("/login")
        csrf = LOGIN_CSRF.search(form.text)
        assert csrf is not None
        r = api.post(
            "/login",
            data={"username": "ops", "password": attempt, "csrf_token": csrf.group(1)},
        )
    assert r.status_code == 303, r.text
    cookie = api.cookies.get("sd_session") or ""
    assert cookie
    assert api.get("/").status_code == 200
    return cookie


def _first_conversation(api: httpx2.Client, auth: dict[str, str]) -> int:
    deadline = time.monotonic() + 10
    while True:
        items = api.get("/api/v1/conversations", headers=auth).json()["items"]
        if items:
            found: int = items[0]["id"]
            return found
        assert time.monotonic() < deadline, "the mention never became a conversation"
        time.sleep(0.1)
