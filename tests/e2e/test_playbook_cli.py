"""`socialdesk playbook …` as supervisors run it: check names file, line and rule of every error;
import, list, diff, export, roll back; backtest prints its report."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from socialdesk.bootstrap import Desk
from socialdesk.cli import app
from socialdesk.services.agents import create_team

GOOD = """
rules:
  - name: spam
    when: {spam_p: {gte: 0.8}}
    then: [{suppress: spam}]
  - name: billing
    when: {keywords: [bill]}
    then: [{route: Billing}]
"""


def run(db_url: str, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), env={"SOCIALDESK_DATABASE_URL": db_url})
    return result.exit_code, result.output


def test_check_names_the_file_line_and_rule_of_every_problem(
    db_url: str, desk: Desk, tmp_path: Path
) -> None:
    create_team(desk.uow(), "Billing", desk.clock.now(), None)
    good = tmp_path / "good.yaml"
    good.write_text(GOOD)
    code, output = run(db_url, "playbook", "check", str(good))
    assert (code, output.strip()) == (0, f"{good}: ok, 2 rules, 0 escalation targets")
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        GOOD.replace("spam_p: {gte: 0.8}", "spam_p: {gte: 80}").replace("Billing", "Biling")
    )
    code, output = run(db_url, "playbook", "check", str(bad))
    assert code == 1
    assert f'{bad}:4: rule "spam":' in output
    assert "1 problem(s); nothing was changed" in output
    fixed = tmp_path / "teams.yaml"
    fixed.write_text(GOOD.replace("Billing", "Biling"))
    code, output = run(db_url, "playbook", "check", str(fixed))
    assert code == 1
    assert f"{fixed}:6: rule \"billing\": team 'Biling' does not exist" in output


def test_import_list_diff_export_rollback_and_backtest(
    db_url: str, desk: Desk, tmp_path: Path
) -> None:
    create_team(desk.uow(), "Billing", desk.clock.now(), None)
    first = tmp_path / "v1.yaml"
    first.write_text(GOOD)
    second = tmp_path / "v2.yaml"
    second.write_text(GOOD.replace("[bill]", "[bill, invoice]"))
    assert run(db_url, "playbook", "import", str(first), "--comment", "first")[1].strip() == (
        "playbook version 1 saved and live"
    )
    run(db_url, "playbook", "import", str(second), "--comment", "invoices too")
    code, listed = run(db_url, "playbook", "list")
    assert code == 0
    assert [line.split("\t")[:2] for line in listed.strip().splitlines()] == [
        ["v2", "live"],
        ["v1", "    "],
    ]
    code, changes = run(db_url, "playbook", "diff", "2")
    assert "-    when: {keywords: [bill]}" in changes
    assert "+    when: {keywords: [bill, invoice]}" in changes
    assert run(db_url, "playbook", "export")[1] == second.read_text()
    assert "version 1 is live" in run(db_url, "playbook", "rollback")[1]
    assert run(db_url, "playbook", "export")[1] == GOOD
    report = tmp_path / "report.json"
    code, output = run(db_url, "playbook", "backtest", str(second), "--output", str(report))
    assert code == 0, output
    assert "messages replayed: 0" in output
    assert json.loads(report.read_text())["live_version"] == 1
