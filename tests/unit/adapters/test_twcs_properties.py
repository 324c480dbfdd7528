"""The TWCS reader under hostile and generated files: any bytes are read, refused as not TWCS or
refused as not UTF-8 (the two failures the import command explains); every row is either kept or
counted under a reason; and well-formed threads come back as written."""

from __future__ import annotations

import csv
import io
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import example, given, settings
from hypothesis import strategies as st

from socialdesk.adapters.importers.twcs import TIME_FORMAT, TwcsFormatError, TwcsPlan, read_twcs
from socialdesk.domain.text import text_problem

HEADER = "tweet_id,author_id,inbound,created_at,text,response_tweet_id,in_response_to_tweet_id\n"
COLUMNS = HEADER.strip().split(",")
T0 = datetime(2017, 10, 31, 22, 10, 47, tzinfo=UTC)


def read(data: bytes) -> TwcsPlan:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "twcs.csv"
        path.write_bytes(data)
        return read_twcs(path)


def csv_bytes(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)  # "\r\n" lines: fields holding \r or \n get quoted
    writer.writerow(COLUMNS)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def assert_accounted(plan: TwcsPlan) -> None:
    """Every row is kept or counted under a reason; kept tweets are storable and in time order,
    each reply after the tweet it answers."""
    assert len(plan.tweets) + sum(plan.skipped.values()) == plan.rows
    seen: set[str] = set()
    times = [tweet.created_at for _, tweet in plan.tweets]
    assert times == sorted(times)
    for brand, tweet in plan.tweets:
        assert brand in plan.brands
        assert tweet.tweet_id.isascii()
        assert tweet.tweet_id.isdigit()
        assert text_problem(tweet.text) is None
        assert text_problem(tweet.author_id) is None
        if not tweet.inbound:
            assert tweet.parent_id in seen
        seen.add(tweet.tweet_id)


@given(data=st.binary(max_size=300))
@settings(max_examples=200, deadline=None)
@example(data=b"\xff\xfe")
@example(data=HEADER.encode() + b'1,a,True,"unclosed')
def test_any_bytes_are_read_or_refused_with_the_documented_errors(data: bytes) -> None:
    try:
        plan = read(data)
    except (TwcsFormatError, UnicodeDecodeError):
        return
    assert_accounted(plan)


FIELD = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["1", "2", "3", "2.0", "²", "٣", "True", "false", "AcmeHelp", "@AcmeHelp"]),
    st.just(T0.strftime(TIME_FORMAT)),
)


@given(rows=st.lists(st.lists(FIELD, min_size=5, max_size=8), max_size=8))
@settings(max_examples=150, deadline=None)
@example(rows=[["²", "1", "True", T0.strftime(TIME_FORMAT), "hi", "", ""]] * 2)
@example(rows=[["1", "a\x00", "True", T0.strftime(TIME_FORMAT), "@x hi", "", ""]])
@example(rows=[["9" * 300, "1", "True", T0.strftime(TIME_FORMAT), "hi", "", ""]])
def test_rows_of_any_text_are_kept_or_counted(rows: list[list[str]]) -> None:
    """`²` passed `isdigit` and then broke the ordering with int(); an author with NUL or a
    300-digit id reached the database."""
    try:
        plan = read(csv_bytes(rows))
    except UnicodeEncodeError:  # lone surrogates cannot be written as UTF-8 at all
        return
    assert plan.rows == len(rows)
    assert_accounted(plan)


@st.composite
def threads(draw: st.DrawFn) -> list[list[str]]:
    """Customer tweets to a brand, each maybe answered by it (the first always: a brand is known
    from its replies), rows in shuffled order."""
    brand = draw(st.sampled_from(["AcmeHelp", "sprintcare", "Brand_1"]))
    count = draw(st.integers(1, 6))
    ids = draw(
        st.lists(st.integers(1, 10**18), min_size=2 * count, max_size=2 * count, unique=True)
    )
    texts = st.text(st.characters(codec="utf-8", exclude_characters="\x00\r"), max_size=40)
    rows = []
    for n in range(count):
        asked = T0 + timedelta(minutes=draw(st.integers(0, 10_000)))
        customer = str(draw(st.integers(1, 999_999)))
        rows.append(
            [str(ids[2 * n]), customer, "True", asked.strftime(TIME_FORMAT),
             f"@{brand} " + draw(texts), "", ""]
        )  # fmt: skip
        if n == 0 or draw(st.booleans()):
            answered = asked + timedelta(seconds=draw(st.integers(1, 86_400)))
            rows.append(
                [str(ids[2 * n + 1]), brand, "False", answered.strftime(TIME_FORMAT),
                 f"@{customer} " + draw(texts), "", str(ids[2 * n])]
            )  # fmt: skip
    return draw(st.permutations(rows))


@given(rows=threads())
@settings(max_examples=150, deadline=None)
def test_written_threads_read_back_as_written(rows: list[list[str]]) -> None:
    plan = read(csv_bytes(rows))
    assert plan.skipped == {}
    got = {
        tweet.tweet_id: (tweet.author_id, tweet.inbound, tweet.created_at, tweet.text,
                         tweet.parent_id or "")
        for _, tweet in plan.tweets
    }  # fmt: skip
    written = {
        row[0]: (row[1], row[2] == "True", datetime.strptime(row[3], TIME_FORMAT), row[4], row[6])  # noqa: DTZ007 (has %z)
        for row in rows
    }
    assert got == written
    assert_accounted(plan)
    assert len(plan.brands) == 1
