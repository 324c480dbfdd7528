"""The analytics pages' and API's pure parts: parameters as typed (local days, instants,
defaults, each mistake naming its parameter), CSV cells that a spreadsheet cannot run, tables
flattened from the response models, and numbers as people read them."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

import pytest
from pydantic import BaseModel

from socialdesk.domain.errors import InvalidInput
from socialdesk.queries.analytics import Attainment, Cut, Dimension, Durations, Overview
from socialdesk.queries.analytics_labels import AnalyticsLabels, Choice
from socialdesk.web.analytics_params import (
    parse_cut,
    parse_dimension,
    parse_interval,
    parse_staffing,
    parse_table,
    wants_csv,
)
from socialdesk.web.api.analytics_schemas import OverviewOut
from socialdesk.web.csv_export import cell, columns, csv_text, values
from socialdesk.web.ui.analytics import (
    cards,
    chart_data,
    duration_text,
    form_values,
    link,
    percent_text,
    presets,
)

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)  # a Monday


def cut(**given: str) -> Cut:
    return parse_cut(given, now=NOW, default_tz="UTC")


class TestRange:
    def test_no_range_is_the_last_seven_days_including_today(self) -> None:
        found = cut()
        assert (found.start, found.end) == (
            datetime(2026, 2, 24, tzinfo=UTC),
            datetime(2026, 3, 3, tzinfo=UTC),
        )
        assert (found.tz, found.business) == ("UTC", False)

    def test_dates_are_whole_local_days_of_the_zone(self) -> None:
        found = cut(**{"from": "2026-03-01", "to": "2026-03-01", "tz": "America/New_York"})
        assert (found.start, found.end) == (
            datetime(2026, 3, 1, 5, tzinfo=UTC),
            datetime(2026, 3, 2, 5, tzinfo=UTC),
        )

    def test_the_desks_zone_is_the_default(self) -> None:
        found = parse_cut({}, now=NOW, default_tz="Asia/Tokyo")
        assert (found.tz, found.end) == ("Asia/Tokyo", datetime(2026, 3, 2, 15, tzinfo=UTC))

    def test_instants_are_taken_as_given_and_a_lost_plus_is_restored(self) -> None:
        found = cut(**{"from": "2026-03-01T10:00:00 01:00", "to": "2026-03-01T12:00:00"})
        assert (found.start, found.end) == (
            datetime(2026, 3, 1, 9, tzinfo=UTC),
            datetime(2026, 3, 1, 12, tzinfo=UTC),
        )

    def test_one_end_given_puts_the_other_a_week_away_or_today(self) -> None:
        assert cut(to="2026-02-10").start == datetime(2026, 2, 4, tzinfo=UTC)
        assert cut(**{"from": "2026-02-10"}).end == datetime(2026, 3, 3, tzinfo=UTC)

    def test_empty_fields_of_a_form_are_no_filter(self) -> None:
        found = cut(platform="", channel=" ", team="", tag="", hours="")
        assert (found.platform, found.channel_id, found.team_id, found.tag) == (
            None,
            None,
            None,
            None,
        )

    def test_filters_are_read(self) -> None:
        found = cut(platform="x", channel="3", team="4", agent="5", intent="billing", tag="vip")
        assert (found.platform, found.channel_id, found.team_id, found.agent_id) == ("x", 3, 4, 5)
        assert (found.intent, found.tag, cut(hours="business").business) == ("billing", "vip", True)

    @pytest.mark.parametrize(
        ("given", "field"),
        [
            ({"from": "last week"}, "from"),
            ({"to": "2026-13-01"}, "to"),
            ({"from": "2026-03-05", "to": "2026-03-04"}, "to"),
            ({"tz": "Nowhere/Land"}, "tz"),
            ({"hours": "night"}, "hours"),
            ({"team": "-1"}, "team"),
            ({"agent": "sam"}, "agent"),
            ({"channel": "²"}, "channel"),
            ({"platform": "Twitter!"}, "platform"),
            ({"tag": "t" * 51}, "tag"),
        ],
    )
    def test_mistakes_name_their_parameter(self, given: dict[str, str], field: str) -> None:
        with pytest.raises(InvalidInput) as caught:
            cut(**given)
        assert caught.value.field == field


class TestOtherParameters:
    def test_dimension_interval_table_and_format(self) -> None:
        assert parse_dimension(None) is Dimension.PLATFORM
        assert parse_dimension("tag") is Dimension.TAG
        day = cut(**{"from": "2026-03-01", "to": "2026-03-01"})
        week = cut()
        assert (parse_interval(None, day), parse_interval(None, week)) == (True, False)
        assert (parse_interval("day", day), parse_interval("hour", week)) == (False, True)
        assert (parse_table(None), parse_table("days")) == ("hours", "days")
        assert wants_csv("CSV", None)
        assert not wants_csv("json", "text/csv")
        assert wants_csv(None, "text/csv, */*")
        assert not wants_csv("", "application/json")

    @pytest.mark.parametrize(
        ("call", "field"),
        [
            (lambda: parse_dimension("mood"), "by"),
            (lambda: parse_interval("week", cut()), "interval"),
            (lambda: parse_interval("hour", cut(**{"from": "2026-01-01"})), "interval"),
            (lambda: parse_table("weeks"), "table"),
            (lambda: wants_csv("xml", None), "format"),
        ],
    )
    def test_mistakes_name_their_parameter(self, call: object, field: str) -> None:
        with pytest.raises(InvalidInput) as caught:
            call()  # type: ignore[operator]
        assert caught.value.field == field


class TestStaffingParameters:
    def test_defaults_and_typed_values(self) -> None:
        default = parse_staffing({}, default_tz="Europe/London")
        assert (default.tz, default.weeks, default.concurrency, default.handle_seconds) == (
            "Europe/London",
            2,
            3,
            None,
        )
        typed = parse_staffing(
            {
                "weeks": "4",
                "history_weeks": "12",
                "handle_minutes": "7.5",
                "concurrency": "1",
                "target_share": "0.8",
                "target_minutes": "15",
                "shrinkage": "0",
                "platform": "x",
                "team": "2",
            },
            default_tz="UTC",
        )
        assert (typed.weeks, typed.history_weeks, typed.handle_seconds) == (4, 12, 450.0)
        assert (typed.concurrency, typed.target_share, typed.target_seconds) == (1, 0.8, 900.0)
        assert (typed.shrinkage, typed.platform, typed.team_id) == (0.0, "x", 2)

    @pytest.mark.parametrize(
        ("name", "value"),
        [
            ("weeks", "0"),
            ("weeks", "5"),
            ("history_weeks", "27"),
            ("handle_minutes", "0"),
            ("handle_minutes", "inf"),
            ("handle_minutes", "six"),
            ("concurrency", "21"),
            ("concurrency", "³"),
            ("target_share", "1"),
            ("target_share", "90"),
            ("target_minutes", "-5"),
            ("shrinkage", "0.95"),
            ("tz", "Atlantis"),
            ("team", "blue"),
        ],
    )
    def test_out_of_range_values_name_their_parameter(self, name: str, value: str) -> None:
        with pytest.raises(InvalidInput) as caught:
            parse_staffing({name: value}, default_tz="UTC")
        assert caught.value.field == name


class TestCsv:
    @pytest.mark.parametrize(
        ("value", "text"),
        [
            ("=1+2", "'=1+2"),
            ("+1", "'+1"),
            ("-2", "'-2"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\t=cmd", "'\t=cmd"),
            ("\r=cmd", "'\r=cmd"),
            ("a=b", "a=b"),
            ("@", "'@"),
            ("", ""),
            (None, ""),
            (-3, "-3"),
            (0.12345678, "0.123457"),
            (True, "true"),
            (date(2026, 3, 2), "2026-03-02"),
            (datetime(2026, 3, 2, 9, tzinfo=UTC), "2026-03-02T09:00:00+00:00"),
        ],
    )
    def test_cells_that_a_spreadsheet_would_run_are_made_text(
        self, value: object, text: str
    ) -> None:
        assert cell(value) == text

    def test_a_table_round_trips_through_a_csv_reader(self) -> None:
        text = csv_text(["name", "n"], [['say "hi", then go\n', 1], ["=evil()", None]])
        assert text.endswith("\r\n")
        assert list(csv.reader(io.StringIO(text))) == [
            ["name", "n"],
            ['say "hi", then go\n', "1"],
            ["'=evil()", ""],
        ]

    def test_nested_models_flatten_to_dotted_columns_in_field_order(self) -> None:
        class Inner(BaseModel):
            met: int
            share: float | None

        class Row(BaseModel):
            key: str
            sla: Inner
            total: int

        assert columns(Row) == ["key", "sla.met", "sla.share", "total"]
        assert values(Row(key="x", sla=Inner(met=1, share=None), total=3)) == ["x", 1, None, 3]


class TestReading:
    @pytest.mark.parametrize(
        ("seconds", "text"),
        [
            (None, "—"),
            (44.6, "45 s"),
            (60, "1 min"),
            (2700.0, "45 min"),
            (3600, "1 h 00 min"),
            (5 * 3600 + 7 * 60, "5 h 07 min"),
            (50 * 3600, "2 d 2 h"),
        ],
    )
    def test_durations(self, seconds: float | None, text: str) -> None:
        assert duration_text(seconds) == text

    def test_percentages(self) -> None:
        assert (percent_text(None), percent_text(0.6667), percent_text(1.0)) == (
            "—",
            "66.7 %",
            "100.0 %",
        )

    def test_the_form_shows_the_range_it_resolved_to_and_links_keep_filters(self) -> None:
        found = cut(platform="x")
        shown = form_values({"platform": "x", "tag": ""}, found, "by")
        assert (shown["from"], shown["to"], shown["tz"], shown["by"]) == (
            "2026-02-24",
            "2026-03-02",
            "UTC",
            "",
        )
        assert link("/analytics", shown, by="team") == (
            "/analytics?from=2026-02-24&to=2026-03-02&tz=UTC&platform=x&by=team"
        )
        chosen = {p["key"]: p for p in presets(shown, date(2026, 3, 2))}
        assert chosen["7d"]["active"]
        assert not chosen["today"]["active"]
        assert chosen["today"]["href"] == (
            "/analytics?from=2026-03-02&to=2026-03-02&tz=UTC&platform=x"
        )


class TestLabels:
    def test_rows_are_named_for_people(self) -> None:
        names = AnalyticsLabels(
            platforms=["x"],
            channels=[Choice(1, "X · @brand")],
            teams=[Choice(2, "Care")],
            agents=[Choice(3, "Sam")],
        )
        assert names.labels(Dimension.PLATFORM, ["x", "email", ""]) == [
            "X",
            "E-mail",
            "no platform",
        ]
        assert names.labels(Dimension.TEAM, ["2", "9", ""]) == ["Care", "#9", "no team"]
        assert names.labels(Dimension.AGENT, ["3", ""]) == ["Sam", "unassigned"]
        assert names.labels(Dimension.CHANNEL, ["1"]) == ["X · @brand"]
        assert names.labels(Dimension.TAG, ["vip", ""]) == ["vip", "no tag"]


class TestCards:
    def test_the_overview_reads_as_cards_with_their_definitions(self) -> None:
        none = Durations(0, None, None)
        empty = Attainment(0, 0)
        overview = Overview(
            inbound=3,
            outbound=2,
            auto_acks=1,
            negative_share=0.3333,
            by_platform={"x": 2, "email": 1},
            social_share=0.6667,
            needing_response=2,
            responded=1,
            suppressed=0,
            first_response=Durations(1, 1800.0, 1800),
            next_response=none,
            resolution=none,
            first_sla=Attainment(1, 1),
            next_sla=empty,
            sentiment_before={},
            sentiment_after={},
            turned_around=empty,
            positive_after_engagement=0,
            csat=Attainment(3, 4),
            csat_mean=4.25,
            nps=-12.5,
            nps_answers=8,
            surveys_asked=10,
            surveys_answered=4,
            reviews=0,
            qa_score=None,
        )
        cut_ = cut()
        shown = {c.key: c for c in cards(OverviewOut.of(cut_, overview))}
        assert (shown["inbound"].value, shown["response_rate"].value) == ("3", "50.0 %")
        assert shown["first_response"].value == "30 min"
        assert shown["first_response"].detail == "p90 30 min · 1 measured"
        assert (shown["next_response"].value, shown["nps"].value) == ("—", "-12")
        assert shown["csat"].detail == "mean 4.25 · 4 of 10 surveys answered"
        assert shown["response_rate"].definition == "responded ÷ needing_response"
        assert OverviewOut.of(cut_, overview).survey_response_rate == 0.4

    def test_a_chart_is_json_for_charts_js(self) -> None:
        text = chart_data(["Mon"], "messages", "agents", [{"label": "In", "data": [1]}])
        assert text == (
            '{"labels": ["Mon"], "y": "messages", "y2": "agents", '
            '"datasets": [{"label": "In", "data": [1]}]}'
        )
