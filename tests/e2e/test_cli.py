"""The `socialdesk` command as operators use it: set-up commands and their output contracts."""

from __future__ import annotations

import os
import subprocess
import sys

from typer.testing import CliRunner

from socialdesk.bootstrap import Desk
from socialdesk.cli import app
from socialdesk.queries.directory import list_channels
from socialdesk.services.agents import authenticate_token


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
