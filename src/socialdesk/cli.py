"""The `socialdesk` command: serve, demo, import, and set-up of channels, users and tokens.

Every command reads SOCIALDESK_DATABASE_URL (default: sqlite:///var/socialdesk.db) and brings the
schema up to date before it starts. Errors print one line saying what to do and exit non-zero.
"""

from __future__ import annotations

import json
import secrets
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from socialdesk.adapters.db.backup import BackupError, Summary, back_up, restore
from socialdesk.adapters.importers.twcs import TwcsFormatError, channel_name, read_twcs
from socialdesk.bootstrap import Desk, bootstrap
from socialdesk.config import Settings
from socialdesk.domain.agents import Role
from socialdesk.domain.errors import DomainError
from socialdesk.domain.messages import NormalisedMessage
from socialdesk.playbook_cli import app as playbook_app
from socialdesk.queries.directory import list_channels, list_quarantine, list_users
from socialdesk.services import agents as agent_service
from socialdesk.services.channels import create_channel, ensure_channels, update_channel
from socialdesk.services.demo import load_demo, set_up_rules
from socialdesk.services.importing import ImportReport, import_messages
from socialdesk.services.reporting import rebuild
from socialdesk.services.webhooks import replay as replay_delivery
from socialdesk.triage_cli import app as triage_app
from socialdesk.web.api.schemas import MessageIn
from socialdesk.web.errors import describe_validation_error

app = typer.Typer(
    help="socialdesk: one queue for every mention, comment, DM, e-mail, chat and call.",
    no_args_is_help=True,
    add_completion=False,
)
channel_app = typer.Typer(help="Connected accounts (an @handle on X, a Facebook page, a mailbox).")
user_app = typer.Typer(help="People who work the desk: agents, supervisors, admins.")
team_app = typer.Typer(help="Teams that conversations are routed to.")
token_app = typer.Typer(help="API tokens (shown once, stored hashed).")
report_app = typer.Typer(help="The reporting facts and rollups the analytics read.")
app.add_typer(channel_app, name="channel")
app.add_typer(user_app, name="user")
app.add_typer(team_app, name="team")
app.add_typer(token_app, name="token")
app.add_typer(report_app, name="report")
app.add_typer(triage_app, name="triage")
app.add_typer(playbook_app, name="playbook")

err = Console(stderr=True)


@contextmanager
def _desk() -> Iterator[Desk]:
    """The configured desk, schema up to date; its connections are closed afterwards."""
    desk = bootstrap(Settings())
    try:
        yield desk
    finally:
        desk.close()


def _fail(message: str, code: int = 1) -> typer.Exit:
    print(f"error: {message}", file=sys.stderr)
    return typer.Exit(code)


def main() -> None:
    try:
        app()
    except DomainError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        sys.exit(1)


# -- serving ---------------------------------------------------------------------------------


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    workers: Annotated[
        int,
        typer.Option(
            min=1, max=64, help="web processes (PostgreSQL only; SQLite runs in one process)"
        ),
    ] = 1,
) -> None:
    """Serve the REST API (and, unless disabled, run background jobs in the same process)."""
    with _desk() as desk:
        if workers > 1 and desk.engine.dialect.name == "sqlite":
            raise _fail(
                "SQLite takes one writer at a time, so the desk runs in one process on it; "
                "use PostgreSQL (SOCIALDESK_DATABASE_URL=postgresql://…) for several workers",
                2,
            )
        _serve(desk, host, port, workers)


def _serve(desk: Desk, host: str, port: int, workers: int = 1) -> None:
    import uvicorn

    from socialdesk.heap import settle_after_start
    from socialdesk.logs import configure_logging
    from socialdesk.web.app import create_app

    configure_logging(desk.settings.log_level)
    if workers == 1:
        application = create_app(desk)
        settle_after_start(desk, triages=desk.settings.embedded_worker)
        uvicorn.run(application, host=host, port=port, log_level="warning", access_log=False)
        return
    uvicorn.run(
        "socialdesk.web.app:app_from_environment",
        factory=True,
        workers=workers,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
    )


@app.command()
def worker(
    once: Annotated[bool, typer.Option(help="run every job once and exit")] = False,
) -> None:
    """Run background jobs in their own process (for PostgreSQL deployments)."""
    import threading

    from socialdesk.heap import settle_after_start
    from socialdesk.logs import configure_logging
    from socialdesk.worker import run_forever, run_once

    with _desk() as desk:
        configure_logging(desk.settings.log_level)
        if once:
            print(json.dumps(run_once(desk)))
            return
        stop = threading.Event()
        settle_after_start(desk, triages=True)
        try:
            run_forever(desk, stop)
        except KeyboardInterrupt:
            stop.set()
            desk.notify_work()


@app.command()
def migrate() -> None:
    """Bring the database schema up to date (every other command does this too)."""
    with _desk() as desk:
        print(f"schema up to date at {desk.engine.url.render_as_string(hide_password=True)}")


@app.command()
def backup(
    output: Annotated[
        Path, typer.Option("--output", "-o", help="the backup file to write (must not exist)")
    ],
) -> None:
    """Write a consistent copy of the database to FILE, safely while the desk runs (SQLite:
    online backup API + integrity check; PostgreSQL: pg_dump --format=custom)."""
    try:
        summary = back_up(Settings().database_url, output)
    except BackupError as exc:
        raise _fail(str(exc)) from exc
    print(f"backup written to {summary.location}")
    _print_summary(summary)


@app.command("restore")
def restore_(
    input_: Annotated[
        Path, typer.Option("--input", "-i", help="a file written by `socialdesk backup`")
    ],
    force: Annotated[
        bool, typer.Option("--force", help="replace a database that already holds data")
    ] = False,
) -> None:
    """Replace the configured database with a backup, then migrate it to this version. Stop
    `serve` and `worker` first."""
    try:
        summary = restore(Settings().database_url, input_, force=force)
    except BackupError as exc:
        raise _fail(str(exc)) from exc
    print(f"restored {input_} into {summary.location}")
    _print_summary(summary)


def _print_summary(summary: Summary) -> None:
    size = f"  {summary.size / 1e6:,.1f} MB" if summary.size is not None else ""
    print(f"  {summary.engine}{size}  schema {summary.revision}")
    print("  " + "  ".join(f"{name} {n:,}" for name, n in summary.counts.items()))


@app.command()
def demo(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    serve_after: Annotated[
        bool, typer.Option("--serve/--no-serve", help="serve the app after loading")
    ] = True,
) -> None:
    """Load the demo desk (once) into the configured database, print a login and serve it."""
    with _desk() as desk:
        now = desk.clock.now()
        with desk.uow(read_only=True) as uow:
            admin = uow.agents.find("admin")
        if admin is None:
            print("Loading the demo desk (Acme Mobile, two weeks of traffic)…")
            summary = load_demo(desk.uow, desk.hasher, desk.secrets, desk.policy, now)
            set_up_rules(desk.uow, desk.parse_playbook, desk.holidays, now)
            desk.refresh_statistics()
            print(
                f"Loaded {summary.conversations} conversations, {summary.messages} messages on "
                f"{summary.channels} channels, {summary.agents} agents."
            )
            agent_service.create_agent(
                desk.uow(),
                desk.hasher,
                username="admin",
                role=Role.ADMIN,
                password=None,
                display_name="Demo Admin",
                email=None,
                team_names=[],
                now=now,
                actor_id=None,
            )
        password = secrets.token_urlsafe(12)
        agent_service.set_password(
            desk.uow(), desk.hasher, "admin", password, actor_id=None, now=now
        )
        token, _ = agent_service.create_token(
            desk.uow(),
            username="admin",
            name="demo",
            now=now,
            expires_in=timedelta(days=1),
            actor_id=None,
        )
        url = f"http://{host}:{port}/"
        print(f"\nsocialdesk demo at {url}")
        print(f"  login     admin / {password}")
        print(f"  API token {token}")
        print(f'  try       curl -H "Authorization: Bearer {token}" {url}api/v1/conversations\n')
        if serve_after:
            _serve(desk, host, port)


# -- import ----------------------------------------------------------------------------------


class ImportFormat(StrEnum):
    twcs = "twcs"
    jsonl = "jsonl"


@app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="the file to import", exists=True, dir_okay=False)],
    format_: Annotated[
        ImportFormat,
        typer.Option(
            "--format",
            help="twcs: Kaggle 'Customer Support on Twitter' CSV; "
            "jsonl: one normalised message (as POST /api/v1/messages takes) per line",
        ),
    ],
) -> None:
    """Import history; importing the same file again adds nothing."""
    with _desk() as desk:
        report = ImportReport()
        messages: Iterator[NormalisedMessage]
        total: int
        if format_ is ImportFormat.twcs:
            messages, total = _read_twcs(desk, file, report)
        else:
            messages, total = _read_jsonl(desk, file, report)
        with _progress() as progress:
            task = progress.add_task("importing", total=total)
            import_messages(
                desk.uow,
                messages,
                clock=desk.clock,
                policy=desk.policy,
                source=f"import:{format_.value}",
                report=report,
                on_batch=lambda n: progress.advance(task, n),
            )
        if report.messages:
            desk.refresh_statistics()
    print(
        f"rows {report.rows:,}  messages {report.messages:,}  conversations "
        f"{report.conversations:,}  customers {report.customers:,}  already imported "
        f"{report.duplicates:,}  skipped {report.skipped_total:,}"
    )
    for reason, count in report.skipped.most_common():
        print(f"  skipped {count:,}: {reason}")


@report_app.command("rebuild")
def report_rebuild() -> None:
    """Compute every conversation's reporting facts and rollups again, in bulk (after a large
    import or an upgrade that starts reporting again); the worker's job goes on from there."""
    with _desk() as desk, _progress() as progress:
        task = progress.add_task("reporting", total=None)
        done = rebuild(
            desk.analytics_uow,
            desk.holidays,
            targets=desk.policy.targets,
            now=desk.clock.now(),
            on_progress=lambda done, total: progress.update(task, completed=done, total=total),
        )
        desk.refresh_statistics()
    print(f"conversations reported {done:,}")


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TimeRemainingColumn(),
        console=err,
    )


def _read_twcs(
    desk: Desk, file: Path, report: ImportReport
) -> tuple[Iterator[NormalisedMessage], int]:
    with Progress(
        TextColumn("reading"), BarColumn(), TransferSpeedColumn(), console=err
    ) as progress:
        task = progress.add_task("reading", total=file.stat().st_size)
        try:
            plan = read_twcs(file, lambda n: progress.advance(task, n))
        except TwcsFormatError as exc:
            raise _fail(str(exc), 2) from exc
        except UnicodeDecodeError as exc:
            raise _fail(f"{file} is not UTF-8 text ({exc.reason} at byte {exc.start})", 2) from exc
    report.rows = plan.rows
    report.skipped.update(plan.skipped)
    names = {brand: channel_name(brand) for brand in plan.brands}
    ids = ensure_channels(
        desk.uow(), "x", list(names.values()), desk.clock.now(), {"source": "twcs"}
    )
    return plan.messages({b: ids[n] for b, n in names.items()}), len(plan.tweets)


def _read_jsonl(
    desk: Desk, file: Path, report: ImportReport
) -> tuple[Iterator[NormalisedMessage], int]:
    with desk.engine.connect() as conn:
        known = {c.id for c in list_channels(conn)}
    parsed: list[NormalisedMessage] = []
    with file.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            report.rows += 1
            try:
                message = MessageIn.model_validate_json(line).to_domain()
            except ValidationError as exc:
                problem = describe_validation_error(exc.errors()[0])
                report.skipped[f"invalid message ({problem})"] += 1
                if report.skipped_total <= 5:
                    print(f"line {number}: {problem}", file=sys.stderr)
                continue
            if message.channel_id not in known:
                report.skipped[f"channel {message.channel_id} does not exist"] += 1
                continue
            parsed.append(message)
    return iter(parsed), len(parsed)


# -- set-up ----------------------------------------------------------------------------------


def _settings_pairs(pairs: list[str]) -> dict[str, str]:
    found = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise _fail(f"--setting takes key=value, not {pair!r}", 2)
        found[key.strip()] = value
    return found


@channel_app.command("add")
def channel_add(
    platform: Annotated[str, typer.Option(help="x, facebook, instagram, email, chat, phone, …")],
    name: Annotated[str, typer.Option(help="the account's name, e.g. @brand or a mailbox")],
    setting: Annotated[
        list[str] | None,
        typer.Option(help="key=value; repeat for each (credentials are never printed)"),
    ] = None,
) -> None:
    """Connect a channel. Prints the new channel's id alone on the last line."""
    with _desk() as desk:
        channel = create_channel(
            desk.uow(),
            desk.secrets,
            None,
            platform,
            name,
            _settings_pairs(setting or []),
            desk.clock.now(),
        )
        print(f"channel {channel.platform} {channel.name!r} created")
        connector = desk.connectors.for_platform(channel.platform)
        if connector is not None:
            missing = [k for k in connector.settings if k not in channel.settings]
            if "webhook" in connector.features:
                print(f"  webhook  /webhooks/{connector.name}/{channel.id}")
            if missing:
                print(f"  settings not given (see docs/channels.md): {', '.join(missing)}")
        print(channel.id)


@channel_app.command("set")
def channel_set(
    channel_id: Annotated[int, typer.Argument(help="the channel's id (`socialdesk channel list`)")],
    setting: Annotated[
        list[str] | None,
        typer.Option(help="key=value to set; key= (empty) removes the setting; repeat for each"),
    ] = None,
    active: Annotated[
        bool | None,
        typer.Option(
            "--active/--inactive", help="switch the channel's webhooks and polling on/off"
        ),
    ] = None,
) -> None:
    """Change a channel's settings (rotate a credential) or switch it off and on."""
    with _desk() as desk:
        channel = update_channel(
            desk.uow(),
            desk.secrets,
            None,
            channel_id,
            _settings_pairs(setting or []),
            desk.clock.now(),
            active=active,
        )
        state = "active" if channel.active else "inactive"
        print(f"channel {channel.id} {channel.platform} {channel.name!r} updated ({state})")


@channel_app.command("quarantine")
def channel_quarantine(
    replay: Annotated[
        int | None, typer.Option(help="replay this quarantined delivery instead of listing")
    ] = None,
) -> None:
    """Webhook deliveries that were signed but could not be read; replay one after a fix."""
    with _desk() as desk:
        if replay is not None:
            item = replay_delivery(
                desk.uow, desk.connectors, replay, now=desk.clock.now(), policy=desk.policy
            )
            print(f"delivery {item.id}: {item.replay_result}")
            return
        with desk.engine.connect() as conn:
            for q in list_quarantine(conn, limit=200):
                done = f"replayed: {q.replay_result}" if q.replayed_at else "waiting"
                print(
                    f"{q.id}	{q.received_at:%Y-%m-%d %H:%M}	{q.connector}	{q.channel_id}	{done}	{q.reason}"
                )


@channel_app.command("list")
def channel_list() -> None:
    """Connected channels (credentials masked)."""
    with _desk() as desk, desk.engine.connect() as conn:
        for c in list_channels(conn):
            health = c.health
            status = "active" if c.active else "inactive"
            if health.poll_error:
                status += f", poll failing: {health.poll_error}"
            if health.quarantined:
                status += f", {health.quarantined} quarantined"
            print(f"{c.id}\t{c.platform}\t{c.name}\t{status}\t{json.dumps(c.settings)}")


@user_app.command("add")
def user_add(
    username: Annotated[str, typer.Argument(help="sign-in name")],
    role: Annotated[Role, typer.Option(help="agent, supervisor or admin")] = Role.AGENT,
    password: Annotated[
        str | None, typer.Option(help="at least 10 characters; omit for a token-only user")
    ] = None,
    display_name: Annotated[str | None, typer.Option(help="name shown to colleagues")] = None,
    email: Annotated[str | None, typer.Option(help="e-mail address")] = None,
    team: Annotated[list[str] | None, typer.Option(help="team name; repeat for several")] = None,
) -> None:
    """Add a user."""
    with _desk() as desk:
        agent = agent_service.create_agent(
            desk.uow(),
            desk.hasher,
            username=username,
            role=role,
            password=password,
            display_name=display_name,
            email=email,
            team_names=team or [],
            now=desk.clock.now(),
            actor_id=None,
        )
        print(f"user {agent.username} ({agent.role.value}) created")
        print(agent.id)


@user_app.command("password")
def user_password(
    username: Annotated[str, typer.Argument(help="sign-in name")],
    generate: Annotated[
        bool, typer.Option("--generate", help="make a random password and print it")
    ] = False,
) -> None:
    """Set a user's password (asked for twice, not echoed); signs them out everywhere."""
    password = (
        secrets.token_urlsafe(12)
        if generate
        else typer.prompt("new password", hide_input=True, confirmation_prompt=True)
    )
    with _desk() as desk:
        agent_service.set_password(
            desk.uow(), desk.hasher, username, password, actor_id=None, now=desk.clock.now()
        )
    print(f"password of {username} set")
    if generate:
        print(password)


@user_app.command("list")
def user_list() -> None:
    """Users with their roles and teams."""
    with _desk() as desk, desk.engine.connect() as conn:
        for u in list_users(conn):
            state = "" if u.active else "\t(deactivated)"
            print(f"{u.id}\t{u.username}\t{u.role}\t{','.join(u.teams)}{state}")


@team_app.command("add")
def team_add(name: Annotated[str, typer.Argument(help="team name")]) -> None:
    """Add a team."""
    with _desk() as desk:
        team = agent_service.create_team(desk.uow(), name, desk.clock.now(), None)
        print(f"team {team.name!r} created")
        print(team.id)


@token_app.command("create")
def token_create(
    user: Annotated[str, typer.Option(help="the user the token acts as")],
    name: Annotated[str, typer.Option(help="what the token is for")] = "cli",
    expires_days: Annotated[
        int | None, typer.Option(help="days until it expires; default never")
    ] = None,
) -> None:
    """Create an API token. Prints the token alone on the last line; it is not shown again."""
    with _desk() as desk:
        token, record = agent_service.create_token(
            desk.uow(),
            username=user,
            name=name,
            now=desk.clock.now(),
            expires_in=timedelta(days=expires_days) if expires_days else None,
            actor_id=None,
        )
        print(f"token {record.id} ({record.name}) for {user}; store it now:")
        print(token)


@token_app.command("revoke")
def token_revoke(token_id: Annotated[int, typer.Argument(help="the token's id")]) -> None:
    """Revoke a token at once."""
    with _desk() as desk:
        agent_service.revoke_token(desk.uow(), None, token_id, desk.clock.now())
        print(f"token {token_id} revoked")


if __name__ == "__main__":
    main()
