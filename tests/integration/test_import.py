"""`socialdesk import` on TWCS and JSONL files written here, into real SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from socialdesk.adapters.db import tables as t
from socialdesk.adapters.importers.twcs import read_twcs
from socialdesk.bootstrap import Desk
from socialdesk.cli import app
from socialdesk.queries.analytics import Cut, overview
from socialdesk.services.playbooks import run_pending
from socialdesk.services.reporting import project
from socialdesk.services.triage import triage_pending
from tests.fakes import FakeClassifier

HEADER = "tweet_id,author_id,inbound,created_at,text,response_tweet_id,in_response_to_tweet_id\n"
# Modelled on the start of the real file: rows out of time order, comma lists of responses,
# a parent missing from the file, customers answering customers, brand-only and brandless threads.
ROWS = """\
1,sprintcare,False,Tue Oct 31 22:10:47 +0000 2017,@115712 I understand. I would like to assist you.,2,3
2,115712,True,Tue Oct 31 22:11:45 +0000 2017,@sprintcare and how do you propose we do that,,1
3,115712,True,Tue Oct 31 22:08:27 +0000 2017,@sprintcare I have sent several private messages and no one is responding as usual,1,4
4,sprintcare,False,Tue Oct 31 21:54:49 +0000 2017,@115712 Please send us a Private Message so that we can further assist you.,3,5
5,115712,True,Tue Oct 31 21:45:10 +0000 2017,@sprintcare is the worst customer service,"4,6",8
6,sprintcare,False,Tue Oct 31 22:10:35 +0000 2017,@115712 Can you please send us a private message,,5
119237,105834,True,Wed Oct 11 06:55:44 +0000 2017,"@AppleSupport causing the reply to be disregarded, and the tapped
notification under the keyboard is opened😡😡😡",119236,
119236,AppleSupport,False,Wed Oct 11 13:25:49 +0000 2017,@105834 Your device's software update may help.,119238,119237
119238,105834,True,Wed Oct 11 13:30:00 +0000 2017,@AppleSupport thanks it worked,,119236
119250,105838,True,Wed Oct 11 07:00:00 +0000 2017,@AppleSupport my phone keeps restarting,119249,
119249,105837,True,Wed Oct 11 07:05:00 +0000 2017,@105838 same here since the update,119251,119250
119251,AppleSupport,False,Wed Oct 11 07:30:00 +0000 2017,@105837 We can help. Which model do you have?,,119249
300,206000,True,Thu Nov 02 10:00:00 +0000 2017,@AmazonHelp I want a refund,301,
301,AmazonHelp,False,Thu Nov 02 10:20:00 +0000 2017,@206000 Sorry! Please DM us the order number.,,300
200,206001,True,Thu Nov 02 11:00:00 +0000 2017,@amazonhelp where is my parcel,,
400,206002,True,Thu Nov 02 12:00:00 +0000 2017,@SomeOtherCo hello?,,
500,AppleSupport,False,Thu Nov 02 12:00:00 +0000 2017,@999 Thanks for reaching out,,999
600,AmazonHelp,False,Thu Nov 02 12:00:00 +0000 2017,Our holiday opening hours are out!,,
abc,206003,True,Thu Nov 02 12:00:00 +0000 2017,bad id,,
700,206004,True,yesterday,bad date,,
701,206005,maybe,Thu Nov 02 12:00:00 +0000 2017,bad inbound,,
119238,105834,True,Wed Oct 11 13:30:00 +0000 2017,@AppleSupport thanks it worked,,119236
"""


def write_twcs(tmp_path: Path) -> Path:
    path = tmp_path / "twcs.csv"
    path.write_text(HEADER + ROWS, encoding="utf-8")
    return path


def run(db_url: str, *args: str) -> str:
    result = CliRunner().invoke(app, list(args), env={"SOCIALDESK_DATABASE_URL": db_url})
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.output


def test_reader_threads_and_explains_skips(tmp_path: Path) -> None:
    plan = read_twcs(write_twcs(tmp_path))
    assert plan.rows == 22
    assert plan.brands == ["AmazonHelp", "AppleSupport", "sprintcare"]
    times = [tweet.created_at for _, tweet in plan.tweets]
    assert times == sorted(times)
    assert dict(plan.skipped) == {
        "tweet_id is not a number": 1,
        "created_at is not like 'Tue Oct 31 22:10:47 +0000 2017'": 1,
        "inbound is neither True nor False": 1,
        "tweet_id appears twice in the file": 1,
        "no brand answers or is mentioned in its thread": 1,
        "brand reply to a tweet not in the file": 1,
        "brand tweet that answers no customer": 1,
    }
    assert dict(plan.tweets)["AmazonHelp"].tweet_id in {"300", "301", "200"}


def test_import_twcs_with_real_first_response_times(
    db_url: str, desk: Desk, tmp_path: Path
) -> None:
    path = write_twcs(tmp_path)
    output = run(db_url, "import", "--format", "twcs", str(path))
    assert (
        "rows 22  messages 15  conversations 5  customers 6  already imported 0  skipped 7"
        in output
    )
    assert "skipped 1: brand reply to a tweet not in the file" in output

    with desk.engine.connect() as conn:
        channels = conn.execute(select(t.channels.c.name).order_by(t.channels.c.name)).scalars()
        assert list(channels) == ["@AmazonHelp", "@AppleSupport", "@sprintcare"]
        rows = conn.execute(
            select(t.messages.c.external_id, t.conversations).join(
                t.conversations, t.conversations.c.id == t.messages.c.conversation_id
            )
        ).all()
    by_tweet = {r.external_id: r for r in rows}
    sprint = by_tweet["5"]
    assert {r.external_id for r in rows if r.id == sprint.id} == {"1", "2", "3", "4", "5", "6"}
    assert sprint.first_response_at - sprint.created_at == timedelta(minutes=9, seconds=39)
    apple = by_tweet["119237"]
    assert apple.first_response_at - apple.created_at == timedelta(hours=6, minutes=30, seconds=5)
    assert by_tweet["119249"].id == by_tweet["119250"].id  # a customer answering a customer
    assert by_tweet["119251"].first_response_at - by_tweet["119250"].created_at == timedelta(
        minutes=30
    )
    assert by_tweet["200"].first_response_at is None

    again = run(db_url, "import", "--format", "twcs", str(path))
    assert "messages 0  conversations 0  customers 0  already imported 15" in again


def test_after_a_twcs_import_each_first_response_time_is_the_two_tweets_difference(
    db_url: str, desk: Desk, tmp_path: Path
) -> None:
    run(db_url, "import", "--format", "twcs", str(write_twcs(tmp_path)))
    now = datetime(2026, 3, 2, tzinfo=UTC)
    triage_pending(desk.uow, FakeClassifier(), now=now, policy=desk.triage_policy)
    run_pending(desk.uow, desk.playbook_runtime(), now=now)
    project(desk.analytics_uow, desk.holidays, targets=desk.policy.targets, now=now)
    rm = t.report_messages.c
    with desk.engine.connect() as conn:
        facts = conn.execute(
            select(t.messages.c.external_id, rm.response_kind, rm.response_seconds).join(
                t.report_messages, rm.message_id == t.messages.c.id
            )
        ).all()
        o_cut = Cut(datetime(2017, 10, 1, tzinfo=UTC), datetime(2017, 12, 1, tzinfo=UTC))
        o = overview(conn, o_cut)
    firsts = {tweet: seconds for tweet, kind, seconds in facts if kind == "first"}
    assert firsts == {
        "4": 9 * 60 + 39,  # 21:45:10 → 21:54:49
        "119236": 6 * 3600 + 30 * 60 + 5,  # 06:55:44 → 13:25:49
        "119251": 30 * 60,  # 07:00 → 07:30 (a second customer joined at 07:05)
        "301": 20 * 60,  # 10:00 → 10:20
    }
    assert o.first_response.count == 4
    assert o.inbound == 9
    # The bulk rebuild (what a large import is followed by) computes the same.
    vacuumed_before = last_vacuum(desk)
    assert "conversations reported" in run(db_url, "report", "rebuild")
    if desk.engine.dialect.name == "postgresql":
        # and vacuums what it rewrote, so index-only scans of the rollups skip the table
        assert last_vacuum(desk) > vacuumed_before
    with desk.engine.connect() as conn:
        again = conn.execute(
            select(t.messages.c.external_id, rm.response_kind, rm.response_seconds).join(
                t.report_messages, rm.message_id == t.messages.c.id
            )
        ).all()
        assert sorted(again) == sorted(facts)
        assert overview(conn, o_cut) == o


def test_import_jsonl_skips_bad_lines_with_their_number(
    db_url: str, desk: Desk, tmp_path: Path
) -> None:
    channel_id = run(db_url, "channel", "add", "--platform", "chat", "--name", "web").split()[-1]
    lines = [
        {
            "channel_id": int(channel_id),
            "external_id": "c1",
            "text": "hi",
            "kind": "chat",
            "author": {"external_id": "v1"},
        },
        {"channel_id": int(channel_id), "external_id": "c2", "kind": "chat"},
        {"channel_id": 999, "external_id": "c3", "text": "?", "author": {"external_id": "v2"}},
    ]
    path = tmp_path / "messages.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n{not json\n")
    output = run(db_url, "import", "--format", "jsonl", str(path))
    assert "line 2: needs its author" in output.replace("an inbound message ", "")
    assert "line 4:" in output
    assert "rows 4  messages 1" in output
    assert "skipped 1: channel 999 does not exist" in output


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("a,b\n1,2\n", "missing column(s) tweet_id, author_id, inbound"),
        (HEADER.encode() + b"1,x,True,\xff\n", "is not UTF-8"),
    ],
)
def test_not_a_twcs_file_is_refused(
    db_url: str, desk: Desk, tmp_path: Path, content: str | bytes, says: str
) -> None:
    path = tmp_path / "bad.csv"
    if isinstance(content, str):
        path.write_text(content)
    else:
        path.write_bytes(content)
    result = CliRunner().invoke(
        app, ["import", "--format", "twcs", str(path)], env={"SOCIALDESK_DATABASE_URL": db_url}
    )
    assert result.exit_code == 2
    assert says in " ".join(result.output.split())


def last_vacuum(desk: Desk) -> datetime:
    """When the rollups were last vacuumed by hand (PostgreSQL; 1970 if never, or on SQLite)."""
    if desk.engine.dialect.name != "postgresql":
        return datetime(1970, 1, 1, tzinfo=UTC)
    with desk.engine.connect() as conn:
        found = conn.exec_driver_sql(
            "SELECT last_vacuum FROM pg_stat_user_tables WHERE relname = 'report_hours'"
        ).scalar_one()
    return found or datetime(1970, 1, 1, tzinfo=UTC)
