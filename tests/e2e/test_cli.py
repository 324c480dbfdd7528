"""The `socialdesk` command as operators use it: set-up commands and their output contracts."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx2
from typer.testing import CliRunner

from socialdesk.bootstrap import Desk
from socialdesk.cli import app
from socialdesk.queries.directory import list_channels
from socialdesk.services.agents import authenticate_password, authenticate_token
from tests.support.processes import free_port, wait_ready


def run(db_url: str, *args: str) -> list[str]:
    result = CliRunner().invoke(app, list(args), env={"SOCIALDESK_DATABASE_URL": db_url})
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.output.strip().splitlines()


def test_channel_add_prints_its_id_last_and_keeps_secrets_out(db_url: str, desk: Desk) -> None:
    lines = run(
        db_url,
        "channel",
        "add",
        "--platform",
        "x",
        "--name",
        "@brand",
        "--setting",
        "consumer_secret=abc123xyz",
        "--setting",
        "user_id=42",
    )
    channel_id = int(lines[-1])
    with desk.engine.connect() as conn:
        (channel,) = list_channels(conn)
    assert (channel.id, channel.settings) == (
        channel_id,
        {"consumer_secret": "********", "user_id": "42"},
    )
    listed = "\n".join(run(db_url, "channel", "list"))
    assert "abc123xyz" not in listed
    assert "@brand" in listed


def test_user_and_token_create(db_url: str, desk: Desk) -> None:
    run(db_url, "team", "add", "Care")
    run(
        db_url,
        "user",
        "add",
        "maria",
        "--role",
        "supervisor",
        "--team",
        "Care",
        "--password",
        "a long password",
    )
    token = run(db_url, "token", "create", "--user", "maria")[-1]
    assert token.startswith("sdk_")
    assert authenticate_token(desk.uow, token, desk.clock.now()).username == "maria"
    assert "maria\tsupervisor\tCare" in "\n".join(run(db_url, "user", "list"))


def test_user_password_sets_a_password_that_signs_in_and_ends_old_sessions(
    db_url: str, desk: Desk
) -> None:
    run(db_url, "user", "add", "sam")
    generated = run(db_url, "user", "password", "sam", "--generate")[-1]
    assert authenticate_password(desk.uow, desk.hasher, "sam", generated).username == "sam"
    result = CliRunner().invoke(
        app,
        ["user", "password", "sam"],
        input="typed password 1\ntyped password 1\n",
        env={"SOCIALDESK_DATABASE_URL": db_url},
    )
    assert result.exit_code == 0, result.output
    assert "typed password 1" not in result.output
    agent = authenticate_password(desk.uow, desk.hasher, "sam", "typed password 1")
    assert agent.session_epoch == 2


def test_errors_say_what_to_do_and_exit_non_zero(db_url: str, desk: Desk) -> None:
    env = {**os.environ, "SOCIALDESK_DATABASE_URL": db_url}
    command = [sys.executable, "-m", "socialdesk", "token", "create", "--user", "nobody"]
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 1
    assert result.stderr.strip() == "error: user 'nobody' does not exist or is deactivated"
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "socialdesk",
            "channel",
            "add",
            "--platform",
            "x",
            "--name",
            "b",
            "--setting",
            "novalue",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 2
    assert "--setting takes key=value" in bad.stderr


def test_help_explains_every_option() -> None:
    result = CliRunner().invoke(app, ["channel", "add", "--help"])
    assert result.exit_code == 0
    for option in ("--platform", "--name", "--setting"):
        assert option in result.output
    assert "credentials" in result.output


def test_serve_runs_the_api_and_the_embedded_worker(
    db_url: str, desk: Desk, tmp_path: Path
) -> None:
    """`socialdesk serve` on 127.0.0.1: the API answers, and snoozes wake without any request."""
    channel_id = int(run(db_url, "channel", "add", "--platform", "x", "--name", "@b")[-1])
    run(db_url, "user", "add", "ops", "--role", "admin")
    token = run(db_url, "token", "create", "--user", "ops")[-1]
    port = free_port()
    env = {
        **os.environ,
        "SOCIALDESK_DATABASE_URL": db_url,
        "SOCIALDESK_WORKER_INTERVAL_SECONDS": "0.2",
    }
    log = tmp_path / "server.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "socialdesk", "serve", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {token}"}
    try:
        wait_ready(base, server, log)
        created = httpx2.post(
            f"{base}/api/v1/messages",
            headers=headers,
            json={
                "channel_id": channel_id,
                "external_id": "1",
                "text": "hi",
                "author": {"external_id": "u1"},
            },
        )
        assert created.status_code == 201
        cid = created.json()["conversation_id"]
        soon = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
        snoozed = httpx2.post(
            f"{base}/api/v1/conversations/{cid}/snooze", headers=headers, json={"until": soon}
        )
        assert snoozed.json()["status"] == "snoozed"
        deadline = time.monotonic() + 10
        while (
            httpx2.get(f"{base}/api/v1/conversations/{cid}", headers=headers).json()[
                "conversation"
            ]["status"]
            != "open"
        ):
            assert time.monotonic() < deadline, "the snooze never woke"
            time.sleep(0.2)
    finally:
        server.terminate()
        server.wait(timeout=20)
