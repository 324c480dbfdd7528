"""`socialdesk playbook …`: check, import, export, list, activate, roll back and backtest the
playbook from the command line (the same services the API uses)."""

from __future__ import annotations

import json
import multiprocessing
import os
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from socialdesk.bootstrap import Desk, bootstrap
from socialdesk.config import Settings
from socialdesk.domain.playbook import PlaybookInvalid
from socialdesk.services import playbooks
from socialdesk.services.backtesting import backtest_candidate, combine, message_id_range

app = typer.Typer(
    help="The playbook: the team's rules for responding, routing, SLAs and escalation.",
    no_args_is_help=True,
)

FileArg = Annotated[
    Path, typer.Argument(help="a playbook file (YAML)", exists=True, dir_okay=False)
]


@contextmanager
def _desk() -> Iterator[Desk]:
    desk = bootstrap(Settings())
    try:
        yield desk
    finally:
        desk.close()


def _read(file: Path) -> str:
    try:
        return file.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        print(f"error: {file} is not UTF-8 near byte {exc.start}", file=sys.stderr)
        raise typer.Exit(2) from exc


def _invalid(exc: PlaybookInvalid) -> typer.Exit:
    for problem in exc.errors:
        print(problem, file=sys.stderr)
    print(f"{len(exc.errors)} problem(s); nothing was changed", file=sys.stderr)
    return typer.Exit(1)


@app.command()
def check(file: FileArg) -> None:
    """Validate a playbook file: every problem is printed as FILE:LINE: rule "NAME": what is
    wrong, including teams, SLA policies and templates it names that do not exist here."""
    text = _read(file)
    with _desk() as desk, desk.uow(read_only=True) as unit:
        try:
            playbook = playbooks.check(unit, desk.parse_playbook, text, str(file))
        except PlaybookInvalid as exc:
            raise _invalid(exc) from exc
    print(f"{file}: ok, {len(playbook.rules)} rules, {len(playbook.targets)} escalation targets")


@app.command("import")
def import_(
    file: FileArg,
    comment: Annotated[str, typer.Option(help="what changed and why (kept with the version)")],
    activate: Annotated[
        bool, typer.Option("--activate/--no-activate", help="make it live at once")
    ] = True,
) -> None:
    """Save the file as a new version (checked first) and make it live."""
    text = _read(file)
    with _desk() as desk:
        try:
            version = playbooks.save_version(
                desk.uow(),
                desk.parse_playbook,
                None,
                text,
                comment,
                desk.clock.now(),
                activate=activate,
                source=str(file),
            )
        except PlaybookInvalid as exc:
            raise _invalid(exc) from exc
    print(f"playbook version {version.version} saved{' and live' if version.live else ''}")


@app.command()
def export(
    version: Annotated[
        int | None, typer.Option(help="a version number; default: the live one")
    ] = None,
) -> None:
    """Print a version's file (the live one by default)."""
    with _desk() as desk:
        number = version
        if number is None:
            with desk.uow(read_only=True) as unit:
                live = unit.playbooks.live()
            if live is None:
                print("error: no playbook is live", file=sys.stderr)
                raise typer.Exit(1)
            number = live.version
        found, _ = playbooks.version_diff(desk.uow(read_only=True), number)
    sys.stdout.write(found.source)


@app.command("list")
def list_() -> None:
    """Saved versions, newest first."""
    from socialdesk.queries.configuration import list_playbook_versions

    with _desk() as desk, desk.engine.connect() as conn:
        for v in list_playbook_versions(conn):
            live = "live" if v.live else "    "
            print(
                f"v{v.version}\t{live}\t{v.created_at:%Y-%m-%d %H:%M}\t{v.author or '-'}\t{v.comment}"
            )


@app.command()
def diff(
    version: Annotated[int, typer.Argument(help="the version to compare with the one before")],
) -> None:
    """What a version changed, as a unified diff."""
    with _desk() as desk:
        _, changes = playbooks.version_diff(desk.uow(read_only=True), version)
    sys.stdout.write(changes or f"v{version} is the first version\n")


@app.command()
def activate(version: Annotated[int, typer.Argument(help="the version to make live")]) -> None:
    with _desk() as desk:
        playbooks.activate(desk.uow(), desk.parse_playbook, None, version, desk.clock.now())
    print(f"playbook version {version} is live")


@app.command()
def rollback() -> None:
    """Make the version that was live before the current one live again."""
    with _desk() as desk:
        version = playbooks.rollback(desk.uow(), desk.parse_playbook, None, desk.clock.now())
    print(f"rolled back: playbook version {version.version} is live")


@app.command()
def backtest(
    file: FileArg,
    since: Annotated[
        datetime | None,
        typer.Option(help="replay messages from this date on (e.g. 2026-11-01)"),
    ] = None,
    jobs: Annotated[
        int,
        typer.Option(min=1, max=16, help="processes to share the history between"),
    ] = min(4, os.cpu_count() or 1),
    output: Annotated[
        Path | None, typer.Option(help="also write the report as JSON to this file")
    ] = None,
) -> None:
    """Replay stored messages through FILE and the live playbook, and compare: matches per rule,
    routing changes by team, suppressed, escalated, auto-acknowledged, first-response SLA."""
    text = _read(file)
    when = since.replace(tzinfo=UTC) if since and since.tzinfo is None else since
    with _desk() as desk:
        try:
            with desk.uow(read_only=True) as unit:
                playbooks.check(unit, desk.parse_playbook, text, str(file))
        except PlaybookInvalid as exc:
            raise _invalid(exc) from exc
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TextColumn("{task.completed:,} messages"),
        TimeElapsedColumn(),
    ) as progress:
        task = progress.add_task("backtest", total=None)
        report = run_backtest(
            text, when, jobs, progress=lambda n: progress.update(task, completed=n)
        )
        progress.update(task, completed=report["messages"])
    if output is not None:
        output.write_text(json.dumps(report, indent=2), encoding="utf-8")
    _print_report(report)


def run_backtest(
    source: str,
    since: datetime | None,
    jobs: int,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """The backtest of `source` against the live playbook, over the configured desk's history,
    split by message id between `jobs` processes (each its own desk and connections) and
    combined. Settings reach the processes through the environment, as they reach this one."""
    with _desk() as desk:
        bounds = message_id_range(desk.uow)
        if jobs == 1 or bounds is None or bounds[1] - bounds[0] < 10_000:
            return _backtest_part(source, since, None, progress)
    lo, hi = bounds
    step = (hi - lo) // jobs + 1
    parts = [(lo + i * step, min(hi, lo + (i + 1) * step - 1)) for i in range(jobs)]
    context = multiprocessing.get_context("spawn")
    seen = context.Value("q", 0)
    with ProcessPoolExecutor(
        max_workers=jobs, mp_context=context, initializer=_share, initargs=(seen,)
    ) as pool:
        futures = [pool.submit(_backtest_part, source, since, part, None) for part in parts]
        while not all(f.done() for f in futures):
            time.sleep(0.2)
            if progress is not None:
                progress(seen.value)
        results = [f.result() for f in futures]
    return combine(results)


_seen: Any = None


def _share(counter: Any) -> None:
    global _seen
    _seen = counter


def _backtest_part(
    source: str,
    since: datetime | None,
    id_range: tuple[int, int] | None,
    progress: Callable[[int], None] | None,
) -> dict[str, Any]:
    last = [0]

    def tick(n: int) -> None:
        if _seen is not None:
            with _seen.get_lock():
                _seen.value += n - last[0]
            last[0] = n
        if progress is not None:
            progress(n)

    with _desk() as desk:
        return backtest_candidate(
            desk.uow,
            desk.parse_playbook,
            desk.holidays,
            desk.policy.targets,
            source,
            now=desk.clock.now(),
            since=since,
            id_range=id_range,
            progress=tick,
        )


def _print_report(report: dict[str, object]) -> None:
    candidate = report["candidate"]
    live = report["live"]
    assert isinstance(candidate, dict)
    print(f"messages replayed: {report['messages']:,}")
    rows = ["matched", "suppressed", "escalated", "auto_acknowledged", "private_required"]
    print(f"{'':24}{'candidate':>12}{'live':>12}")
    for row in rows:
        live_value = live.get(row, "-") if isinstance(live, dict) else "-"
        print(f"{row:24}{candidate.get(row, '-')!s:>12}{live_value!s:>12}")
    sla_c = candidate.get("sla", {})
    sla_l = live.get("sla", {}) if isinstance(live, dict) else {}
    print(f"{'first-response SLA met':24}{_pct(sla_c):>12}{_pct(sla_l):>12}")
    print("\nmatches per rule (candidate):")
    for rule, count in dict(candidate.get("rule_matches", {})).items():
        print(f"  {count:>10,}  {rule}")
    routing = report["routing"]
    assert isinstance(routing, dict)
    print(
        f"\nrouting against the {routing['baseline']}: {routing['changed']:,} messages change team"
    )
    for change in list(routing["changes"])[:20]:
        print(
            f"  {change['messages']:>10,}  {change['from'] or '(none)'} → {change['to'] or '(none)'}"
        )


def _pct(sla: object) -> str:
    if not isinstance(sla, dict) or sla.get("attainment") is None:
        return "-"
    return f"{100 * float(sla['attainment']):.1f}%"
