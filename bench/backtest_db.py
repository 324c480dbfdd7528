"""Backtest benchmark from storage: `socialdesk playbook backtest` as supervisors run it, over a
database holding the seeded synthetic history of bench/backtest.py (1,000,000 inbound messages by
default), reading the history a chunk at a time and replaying it through the 18-rule candidate and the live
playbook, in one process per core as the CLI does (`--jobs`). Prints one JSON document; the load
is timed apart.

    python bench/backtest_db.py [--messages 1000000] [--database-url sqlite:///…]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from backtest import CANDIDATE, LIVE, messages
from cryptography.fernet import Fernet
from sqlalchemy import insert

from socialdesk.adapters.db import tables as t
from socialdesk.bootstrap import Desk, bootstrap
from socialdesk.config import Settings
from socialdesk.playbook_cli import run_backtest
from socialdesk.services import playbooks, sla, templates
from socialdesk.services.agents import create_team

CHUNK = 20_000
NOW = datetime(2026, 4, 5, tzinfo=UTC)


def prepare(desk: Desk) -> None:
    """Teams, templates and SLA policies the playbooks name, and the live version."""
    refs = [desk.parse_playbook(text).references() for text in (CANDIDATE, LIVE)]
    for name in sorted({n for r in refs for n in r.teams}):
        create_team(desk.uow(), name, NOW, None)
    for name in sorted({n for r in refs for n in r.templates}):
        templates.create_template(desk.uow(), None, name, "Thanks {customer.first_name}!", NOW)
    for name in sorted({n for r in refs for n in r.sla_policies}):
        sla.save_policy(
            desk.uow(),
            name=name,
            targets=[{"first_response": 60}],
            calendar=None,
            pause_when_pending=True,
            warn_before_minutes=15,
            now=NOW,
        )
    playbooks.save_version(desk.uow(), desk.parse_playbook, None, LIVE, "live", NOW)


def load(desk: Desk, count: int, seed: int) -> None:
    """The history as rows, inserted in chunks: one customer and identity per conversation."""
    clock = [0.0, 0.0]
    channels: dict[int, tuple[str, str]] = {}
    conversation_rows: list[dict[str, Any]] = []
    message_rows: list[dict[str, Any]] = []
    people: list[dict[str, Any]] = []
    identities: list[dict[str, Any]] = []
    teams = {row.name: row.id for row in desk.engine.connect().execute(t.teams.select())}
    with desk.engine.begin() as conn:
        for item in messages(count, seed, clock):
            f = item.facts
            if f.channel_id not in channels:
                channels[f.channel_id] = (f.platform, f.channel_name)
                conn.execute(
                    insert(t.channels),
                    {
                        "id": f.channel_id,
                        "platform": f.platform,
                        "name": f.channel_name,
                        "settings": {},
                        "active": True,
                        "created_at": NOW,
                    },
                )
            cid = (f.conversation_id or 0) + 1
            mid = (f.message_id or 0) + 1
            if mid % 2 == 1:  # a new conversation every other message
                people.append(
                    {"id": cid, "name": None, "tags": sorted(f.customer_tags), "created_at": NOW}
                )
                identities.append(
                    {
                        "id": cid,
                        "customer_id": cid,
                        "platform": f.platform,
                        "external_id": f"p{cid}",
                        "handle": f"@p{cid}",
                        "followers": f.followers,
                        "verified": f.verified,
                        "profile": {},
                        "created_at": NOW,
                    }
                )
                answered = item.first_response_minutes
                conversation_rows.append(
                    {
                        "id": cid,
                        "channel_id": f.channel_id,
                        "platform": f.platform,
                        "customer_id": cid,
                        "identity_id": cid,
                        "visibility": f.visibility,
                        "status": "closed",
                        "created_at": f.created_at,
                        "updated_at": f.created_at,
                        "team_id": teams.get(item.team) if item.team else None,
                        "first_response_at": f.created_at + timedelta(minutes=answered)
                        if answered is not None
                        else None,
                        "message_count": 2,
                        "preview": "",
                        "priority": f.priority or 0,
                        "pending_periods": [],
                        "sla_paused_seconds": 0,
                    }
                )
            message_rows.append(
                {
                    "id": mid,
                    "conversation_id": cid,
                    "channel_id": f.channel_id,
                    "external_id": f"m{mid}",
                    "direction": "inbound",
                    "visibility": f.visibility,
                    "kind": f.kind,
                    "author_identity_id": cid,
                    "text": f.text,
                    "created_at": f.created_at,
                    "received_at": f.created_at,
                    "references": [],
                    "meta": {"listening_query": f.listening_query} if f.listening_query else {},
                    "triage": {
                        "sentiment": f.sentiment,
                        "needs_response": f.needs_response,
                        "needs_response_p": f.needs_response_p,
                        "intent": f.intent,
                        "language": f.language,
                        "pii": [{"kind": k} for k in sorted(f.pii)],
                        "spam_p": f.spam_p,
                        "question": f.question,
                        "priority": {"score": f.priority},
                    },
                    "playbook": {"version": 1},
                }
            )
            if len(message_rows) >= CHUNK:
                _flush(conn, people, identities, conversation_rows, message_rows)
        _flush(conn, people, identities, conversation_rows, message_rows)


def _flush(conn: Any, *batches: list[dict[str, Any]]) -> None:
    for table, rows in zip(
        (t.customers, t.identities, t.conversations, t.messages), batches, strict=True
    ):
        if rows:
            conn.execute(insert(table), rows)
            rows.clear()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database-url", help="default: a new SQLite file in a temporary folder")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite:///{Path(folder) / 'backtest.db'}"
        # The backtest's processes read their settings from the environment, as the CLI's do.
        os.environ["SOCIALDESK_DATABASE_URL"] = url
        os.environ["SOCIALDESK_SECRET_KEY"] = Fernet.generate_key().decode()
        desk = bootstrap(Settings(_env_file=None))
        try:
            began = time.perf_counter()
            prepare(desk)
            load(desk, args.messages, args.seed)
            desk.refresh_statistics()
            load_s = time.perf_counter() - began
        finally:
            desk.close()
        began = time.perf_counter()
        report = run_backtest(CANDIDATE, None, args.jobs)
        seconds = time.perf_counter() - began
    print(
        json.dumps(
            {
                "benchmark": "backtest_db",
                "engine": url.split(":", 1)[0],
                "python": platform.python_version(),
                "messages": report["messages"],
                "load_seconds": round(load_s, 1),
                "jobs": args.jobs,
                "backtest_seconds": round(seconds, 2),
                "messages_per_s": round(report["messages"] / seconds),
                "candidate_matched": report["candidate"]["matched"],
                "live_matched": report["live"]["matched"],
                "routing_changed": report["routing"]["changed"],
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
