"""`socialdesk backup` and `socialdesk restore` as operators run them: what they print, that the
desk serves a restored database, and one clear line with a non-zero status for bad input."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx2
from typer.testing import CliRunner

from socialdesk.bootstrap import Desk
from socialdesk.cli import app
from socialdesk.web.app import create_app
from tests.conftest import TEST_SECRET_KEY
from tests.integration.test_backup import desk_at, fill
from tests.support.server import live_server
from tests.support.snapshot import snapshot


def invoke(db_url: str, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        app,
        list(args),
        env={"SOCIALDESK_DATABASE_URL": db_url, "SOCIALDESK_SECRET_KEY": TEST_SECRET_KEY},
    )
    return result.exit_code, result.output


def run(db_url: str, *args: str) -> list[str]:
    code, output = invoke(db_url, *args)
    assert code == 0, output
    return output.strip().splitlines()


def test_backup_then_restore_on_a_new_server_serves_the_same_desk(
    db_url: str, desk: Desk, empty_db_url: str, tmp_path: Path
) -> None:
    fill(desk, threads=4)
    run(db_url, "user", "add", "ops", "--role", "admin")
    token = run(db_url, "token", "create", "--user", "ops")[-1]
    backup = tmp_path / "desk.backup"

    written = run(db_url, "backup", "--output", str(backup))
    assert written[0] == f"backup written to {backup}"
    assert "schema " in written[1]
    assert "conversations 4  messages 8  customers 4  channels 1  agents 2" in written[2]

    restored = run(empty_db_url, "restore", "--input", str(backup))
    assert restored[2] == written[2]
    again = desk_at(empty_db_url)
    try:
        assert snapshot(again.engine) == snapshot(desk.engine)
        with live_server(create_app(again, run_worker=False)) as url:
            assert httpx2.get(f"{url}/readyz").status_code == 200
            listed = httpx2.get(
                f"{url}/api/v1/conversations?status=all",
                headers={"Authorization": f"Bearer {token}"},
            )
        assert listed.status_code == 200
        assert len(listed.json()["items"]) == 4
    finally:
        again.close()

    code, output = invoke(empty_db_url, "restore", "--input", str(backup))
    assert code == 1
    assert "already holds data" in output
    assert "--force" in output


def test_bad_input_is_one_line_and_a_non_zero_status(
    db_url: str, desk: Desk, tmp_path: Path
) -> None:
    fill(desk, threads=2)
    before = snapshot(desk.engine)
    not_a_backup = tmp_path / "notes.txt"
    not_a_backup.write_text("hello\n")
    env = {**os.environ, "SOCIALDESK_DATABASE_URL": db_url}
    cases = {
        ("restore", "--input", str(tmp_path / "missing")): "does not exist",
        ("restore", "--input", str(not_a_backup), "--force"): "not a socialdesk backup",
        ("backup", "--output", str(not_a_backup)): "already exists",
        ("backup", "--output", str(tmp_path / "no-such-dir" / "b")): "is not a directory",
    }
    for args, wanted in cases.items():
        result = subprocess.run(
            [sys.executable, "-m", "socialdesk", *args],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 1, args
        assert result.stderr.startswith("error: ")
        assert wanted in result.stderr
        assert result.stderr.count("\n") == 1, result.stderr
    assert snapshot(desk.engine) == before


def test_an_unreachable_server_is_named_without_its_password(tmp_path: Path) -> None:
    url = "postgresql://desk:pa55-word@127.0.0.1:1/desk"
    for args in (("backup", "-o", str(tmp_path / "b")), ("restore", "-i", __file__)):
        code, output = invoke(url, *args)
        assert code == 1
        assert "pa55-word" not in output
    code, output = invoke(url, "backup", "-o", str(tmp_path / "b"))
    assert "cannot reach the database at postgresql://desk:***@127.0.0.1:1/desk" in output
