"""Business-hours calendars: worked examples, clock changes, spec errors and properties."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from socialdesk.domain.calendars import BusinessCalendar
from socialdesk.domain.errors import InvalidInput

H = timedelta(hours=1)
M = timedelta(minutes=1)
US = timedelta(microseconds=1)
OFFICE = {"mon-fri": "08:00-18:00"}


def at(
    zone: str,
    year: int,
    month: int,
    day: int,
    hour: int = 0,
    minute: int = 0,
    second: int = 0,
    *,
    fold: int = 0,
) -> datetime:
    """A local wall-clock time in `zone`, as the UTC instant the calendar API takes."""
    local = datetime(year, month, day, hour, minute, second, tzinfo=ZoneInfo(zone), fold=fold)
    return local.astimezone(UTC)


def wall(zone: str, instant: datetime) -> str:
    """The wall-clock reading of `instant` in `zone`, for readable assertions."""
    return instant.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")


def berlin_office(**extra: object) -> BusinessCalendar:
    return BusinessCalendar.from_spec("office", "Europe/Berlin", OFFICE, **extra)  # type: ignore[arg-type]


def daily(zone: str, hours: str | list[str]) -> BusinessCalendar:
    return BusinessCalendar.from_spec("daily", zone, {"mon-sun": hours})


class TestWorkedExamples:
    def test_friday_evening_plus_an_hour_is_monday_morning(self) -> None:
        cal = berlin_office()
        due = cal.add_business_time(at("Europe/Berlin", 2026, 3, 6, 17, 30), H)  # a Friday
        assert wall("Europe/Berlin", due) == "2026-03-09 08:30"
        assert due.tzinfo is UTC
        assert cal.business_time_between(at("Europe/Berlin", 2026, 3, 6, 17, 30), due) == H

    def test_a_holiday_monday_moves_it_to_tuesday(self) -> None:
        cal = berlin_office(holidays=[date(2026, 3, 9)])
        due = cal.add_business_time(at("Europe/Berlin", 2026, 3, 6, 17, 30), H)
        assert wall("Europe/Berlin", due) == "2026-03-10 08:30"
        assert not cal.is_open(at("Europe/Berlin", 2026, 3, 9, 12))

    def test_lunch_break_is_not_counted(self) -> None:
        cal = BusinessCalendar.from_spec(
            "lunch", "Europe/Berlin", {"mon-fri": ["13:00-17:00", "08:00-12:00"]}
        )
        start = at("Europe/Berlin", 2026, 3, 2, 11, 30)
        assert wall("Europe/Berlin", cal.add_business_time(start, H)) == "2026-03-02 13:30"
        assert (
            cal.business_time_between(
                at("Europe/Berlin", 2026, 3, 2, 11), at("Europe/Berlin", 2026, 3, 2, 14)
            )
            == 2 * H
        )
        assert not cal.is_open(at("Europe/Berlin", 2026, 3, 2, 12, 30))
        assert (
            wall("Europe/Berlin", cal.next_open(at("Europe/Berlin", 2026, 3, 2, 12, 30)))
            == "2026-03-02 13:00"
        )

    def test_a_due_time_may_be_the_closing_time_itself(self) -> None:
        cal = berlin_office()
        due = cal.add_business_time(at("Europe/Berlin", 2026, 3, 2, 17), H)
        assert wall("Europe/Berlin", due) == "2026-03-02 18:00"
        assert not cal.is_open(due)  # intervals are half-open: closed at their end

    def test_zero_duration_means_when_it_next_opens(self) -> None:
        cal = berlin_office()
        closed = at("Europe/Berlin", 2026, 3, 7, 10)  # Saturday
        assert (
            wall("Europe/Berlin", cal.add_business_time(closed, timedelta(0))) == "2026-03-09 08:00"
        )
        opened = at("Europe/Berlin", 2026, 3, 9, 9, 15)
        assert cal.add_business_time(opened, timedelta(0)) == opened
        assert cal.next_open(opened) == opened

    def test_before_opening_the_clock_starts_at_opening(self) -> None:
        cal = berlin_office()
        due = cal.add_business_time(at("Europe/Berlin", 2026, 3, 2, 6), 30 * M)
        assert wall("Europe/Berlin", due) == "2026-03-02 08:30"

    def test_overnight_shift_runs_across_midnight(self) -> None:
        cal = BusinessCalendar.from_spec(
            "nights", "Europe/Berlin", {"mon-fri": "22:00-24:00", "tue-sat": "00:00-06:00"}
        )
        monday_late = at("Europe/Berlin", 2026, 3, 2, 23, 30)
        assert cal.is_open(at("Europe/Berlin", 2026, 3, 3, 0, 0))  # midnight is inside the shift
        assert wall("Europe/Berlin", cal.add_business_time(monday_late, H)) == "2026-03-03 00:30"
        assert (
            cal.business_time_between(
                at("Europe/Berlin", 2026, 3, 2, 21), at("Europe/Berlin", 2026, 3, 3, 7)
            )
            == 8 * H
        )
        saturday_dawn = at("Europe/Berlin", 2026, 3, 7, 5, 30)
        assert wall("Europe/Berlin", cal.add_business_time(saturday_dawn, H)) == "2026-03-09 22:30"

    def test_midnight_as_an_end_is_the_end_of_the_day(self) -> None:
        hours = (((time(20), time(0)),),) + ((),) * 6  # Mondays 20:00-24:00 only
        cal = BusinessCalendar("evening", "Europe/Berlin", hours)
        assert cal.is_open(at("Europe/Berlin", 2026, 3, 2, 23, 59, 59))
        assert not cal.is_open(at("Europe/Berlin", 2026, 3, 3, 0, 0))
        due = cal.add_business_time(at("Europe/Berlin", 2026, 3, 2, 23, 30), 30 * M)
        assert wall("Europe/Berlin", due) == "2026-03-03 00:00"
        due = cal.add_business_time(at("Europe/Berlin", 2026, 3, 2, 23, 30), 31 * M)
        assert wall("Europe/Berlin", due) == "2026-03-09 20:01"
        assert (
            cal.business_time_between(
                at("Europe/Berlin", 2026, 3, 2), at("Europe/Berlin", 2026, 3, 30)
            )
            == 4 * 4 * H
        )

    def test_always_open_is_plain_arithmetic(self) -> None:
        cal = BusinessCalendar.always_open()
        start = datetime(2026, 3, 6, 17, 30, tzinfo=UTC)
        assert cal.add_business_time(start, 50 * H) == start + 50 * H
        assert cal.business_time_between(start, start + 50 * H) == 50 * H
        assert cal.is_open(start)

    def test_between_is_zero_when_end_is_not_after_start(self) -> None:
        cal = BusinessCalendar.always_open()
        start = datetime(2026, 3, 6, 17, 30, tzinfo=UTC)
        assert cal.business_time_between(start, start) == timedelta(0)
        assert cal.business_time_between(start, start - H) == timedelta(0)

    def test_long_spans_skip_weeks_but_stay_exact(self) -> None:
        cal = berlin_office(holidays=[date(2026, 12, 25), date(2026, 12, 24)])
        start = at("Europe/Berlin", 2026, 1, 5, 8)  # a Monday
        end = at("Europe/Berlin", 2027, 1, 4, 8)  # 52 weeks later, across both clock changes
        assert cal.business_time_between(start, end) == (52 * 5 - 2) * 10 * H
        assert cal.add_business_time(start, (52 * 5 - 2) * 10 * H) == at(
            "Europe/Berlin", 2027, 1, 1, 18
        )

    def test_other_time_zones_are_converted(self) -> None:
        cal = berlin_office()
        local = datetime(2026, 3, 2, 9, tzinfo=ZoneInfo("Europe/Berlin"))
        assert cal.add_business_time(local, H) == datetime(2026, 3, 2, 9, tzinfo=UTC)

    def test_naive_datetimes_and_negative_durations_are_refused(self) -> None:
        cal = berlin_office()
        with pytest.raises(ValueError, match="timezone-aware"):
            cal.is_open(datetime(2026, 3, 2, 9))  # noqa: DTZ001 - the point of the test
        with pytest.raises(InvalidInput, match="negative"):
            cal.add_business_time(datetime(2026, 3, 2, 9, tzinfo=UTC), -M)

    def test_many_holidays_in_a_row_are_stepped_over(self) -> None:
        mondays = [date(2026, 1, 5) + timedelta(weeks=n) for n in range(60)]
        cal = BusinessCalendar.from_spec(
            "mondays", "Europe/Berlin", {"mon": "09:00-10:00"}, holidays=mondays
        )
        start = at("Europe/Berlin", 2026, 1, 1)
        assert max(mondays) == date(2027, 2, 22)
        assert wall("Europe/Berlin", cal.next_open(start)) == "2027-03-01 09:00"
        assert wall("Europe/Berlin", cal.add_business_time(start, 90 * M)) == "2027-03-08 09:30"

    def test_a_calendar_that_cannot_open_raises_instead_of_hanging(self) -> None:
        cal = berlin_office()
        object.__setattr__(cal, "hours", ((),) * 7)  # behind validation's back
        with pytest.raises(InvalidInput, match="no open time"):
            cal.next_open(at("Europe/Berlin", 2026, 3, 2))
        with pytest.raises(InvalidInput, match="no open time"):
            cal.add_business_time(at("Europe/Berlin", 2026, 3, 2), H)


class TestClockChanges:
    """The rule: an interval runs from the first instant the wall clock reads its start (or later)."""

    def test_berlin_spring_forward_day_has_23_hours(self) -> None:
        cal = daily("Europe/Berlin", "00:00-24:00")
        assert (
            cal.business_time_between(
                at("Europe/Berlin", 2026, 3, 29), at("Europe/Berlin", 2026, 3, 30)
            )
            == 23 * H
        )
        assert cal.add_business_time(at("Europe/Berlin", 2026, 3, 29, 1), 2 * H) == at(
            "Europe/Berlin", 2026, 3, 29, 4
        )

    def test_berlin_interval_across_the_gap_counts_real_time(self) -> None:
        cal = daily("Europe/Berlin", "01:00-05:00")
        assert (
            cal.business_time_between(
                at("Europe/Berlin", 2026, 3, 29), at("Europe/Berlin", 2026, 3, 30)
            )
            == 3 * H
        )

    def test_berlin_interval_starting_in_the_skipped_hour_opens_at_the_jump(self) -> None:
        cal = daily("Europe/Berlin", "02:30-06:00")
        jump = datetime(2026, 3, 29, 1, tzinfo=UTC)  # 02:00 CET became 03:00 CEST
        assert cal.next_open(at("Europe/Berlin", 2026, 3, 29, 0, 30)) == jump
        assert wall("Europe/Berlin", jump) == "2026-03-29 03:00"
        assert not cal.is_open(jump - US)
        assert cal.business_time_between(jump - H, jump + 6 * H) == 3 * H

    def test_berlin_interval_ending_in_the_skipped_hour_ends_at_the_jump(self) -> None:
        cal = daily("Europe/Berlin", "01:00-02:30")
        assert (
            cal.business_time_between(
                at("Europe/Berlin", 2026, 3, 29), at("Europe/Berlin", 2026, 3, 30)
            )
            == H
        )
        assert not cal.is_open(datetime(2026, 3, 29, 1, tzinfo=UTC))

    def test_berlin_interval_wholly_inside_the_gap_has_no_time_that_day(self) -> None:
        cal = daily("Europe/Berlin", "02:00-03:00")
        saturday = at("Europe/Berlin", 2026, 3, 28, 12)
        assert wall("Europe/Berlin", cal.next_open(saturday)) == "2026-03-30 02:00"
        assert cal.business_time_between(saturday, at("Europe/Berlin", 2026, 3, 30, 12)) == H

    def test_berlin_fall_back_day_has_25_hours(self) -> None:
        cal = daily("Europe/Berlin", "00:00-24:00")
        assert (
            cal.business_time_between(
                at("Europe/Berlin", 2026, 10, 25), at("Europe/Berlin", 2026, 10, 26)
            )
            == 25 * H
        )

    def test_berlin_ambiguous_times_map_to_their_first_occurrence(self) -> None:
        cal = daily("Europe/Berlin", ["00:00-02:30", "04:00-05:00"])
        first = at("Europe/Berlin", 2026, 10, 25, 2, 15, fold=0)
        second = at("Europe/Berlin", 2026, 10, 25, 2, 15, fold=1)
        assert second - first == H
        assert cal.is_open(first)
        assert not cal.is_open(second)  # the interval ended at the first 02:30
        assert cal.business_time_between(
            at("Europe/Berlin", 2026, 10, 25), at("Europe/Berlin", 2026, 10, 26)
        ) == timedelta(hours=3, minutes=30)

    def test_berlin_interval_spanning_the_repeated_hour_contains_both(self) -> None:
        cal = daily("Europe/Berlin", "02:30-05:00")
        day = (at("Europe/Berlin", 2026, 10, 25), at("Europe/Berlin", 2026, 10, 26))
        assert cal.business_time_between(*day) == timedelta(hours=3, minutes=30)
        assert cal.is_open(at("Europe/Berlin", 2026, 10, 25, 2, 15, fold=1))
        start = at("Europe/Berlin", 2026, 10, 25, 2, 30, fold=0)
        assert cal.add_business_time(start, H) == at("Europe/Berlin", 2026, 10, 25, 2, 30, fold=1)

    def test_new_york_weekend_across_spring_forward(self) -> None:
        cal = BusinessCalendar.from_spec("ny", "America/New_York", {"mon-fri": "09:00-17:00"})
        friday = at("America/New_York", 2026, 3, 6, 16, 30)
        due = cal.add_business_time(friday, H)
        assert due == datetime(2026, 3, 9, 13, 30, tzinfo=UTC)  # 09:30 EDT
        assert wall("America/New_York", due) == "2026-03-09 09:30"

    def test_new_york_days_of_23_and_25_hours(self) -> None:
        cal = daily("America/New_York", "00:00-24:00")
        spring = (at("America/New_York", 2026, 3, 8), at("America/New_York", 2026, 3, 9))
        fall = (at("America/New_York", 2026, 11, 1), at("America/New_York", 2026, 11, 2))
        assert cal.business_time_between(*spring) == 23 * H
        assert cal.business_time_between(*fall) == 25 * H
        saturday_night = at("America/New_York", 2026, 3, 7, 23)
        assert (
            wall("America/New_York", cal.add_business_time(saturday_night, 4 * H))
            == "2026-03-08 04:00"
        )

    def test_new_york_office_hours_keep_their_local_times_after_fall_back(self) -> None:
        cal = BusinessCalendar.from_spec("ny", "America/New_York", {"mon-fri": "09:00-17:00"})
        assert cal.next_open(datetime(2026, 11, 2, 12, tzinfo=UTC)) == datetime(
            2026, 11, 2, 14, tzinfo=UTC
        )

    def test_sydney_southern_hemisphere_and_midnight_utc(self) -> None:
        cal = BusinessCalendar.from_spec(
            "syd", "Australia/Sydney", {"mon-fri": "09:00-17:00"}, holidays=[date(2026, 4, 3)]
        )
        thursday = at("Australia/Sydney", 2026, 4, 2, 16, 30)  # AEDT, +11
        due = cal.add_business_time(thursday, H)  # Good Friday, weekend, DST ends on Sunday
        assert wall("Australia/Sydney", due) == "2026-04-06 09:30"
        assert due == datetime(2026, 4, 5, 23, 30, tzinfo=UTC)  # AEST, +10: the day before in UTC
        days = daily("Australia/Sydney", "00:00-24:00")
        assert (
            days.business_time_between(
                at("Australia/Sydney", 2026, 4, 5), at("Australia/Sydney", 2026, 4, 6)
            )
            == 25 * H
        )
        assert (
            days.business_time_between(
                at("Australia/Sydney", 2026, 10, 4), at("Australia/Sydney", 2026, 10, 5)
            )
            == 23 * H
        )

    def test_calendar_crossing_midnight_utc(self) -> None:
        cal = BusinessCalendar.from_spec("tokyo", "Asia/Tokyo", {"mon-fri": "08:00-18:00"})
        sunday_utc = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)  # Monday 08:30 in Tokyo
        assert cal.is_open(sunday_utc)
        assert cal.add_business_time(sunday_utc, 10 * H) == datetime(2026, 3, 2, 23, 30, tzinfo=UTC)
        # Monday 08:00-18:00 JST is Sunday 23:00 to Monday 09:00 UTC; Tuesday starts Monday 23:00.
        assert (
            cal.business_time_between(
                datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 3, tzinfo=UTC)
            )
            == 11 * H
        )

    def test_beirut_falls_back_at_midnight_so_saturday_evening_is_longer(self) -> None:
        # At 2026-10-25 00:00 EEST clocks went back to 2026-10-24 23:00 EET: Saturday 23:xx shows
        # twice and Sunday 00:00 shows only once, after the second pass.
        cal = BusinessCalendar.from_spec("beirut", "Asia/Beirut", {"sat": "20:00-24:00"})
        assert cal.is_open(at("Asia/Beirut", 2026, 10, 24, 23, 30, fold=0))
        assert cal.is_open(at("Asia/Beirut", 2026, 10, 24, 23, 30, fold=1))
        assert not cal.is_open(at("Asia/Beirut", 2026, 10, 25, 0, 0))
        assert (
            cal.business_time_between(
                at("Asia/Beirut", 2026, 10, 24), at("Asia/Beirut", 2026, 10, 26)
            )
            == 5 * H
        )

    def test_goose_bay_fell_back_across_midnight(self) -> None:
        # 2010-11-07 00:01 ADT fell back to 2010-11-06 23:01 AST. Sunday began when the wall clock
        # first read 00:00 (03:00 UTC); the Saturday 23:01-24:00 shown again after it is Sunday.
        cal = BusinessCalendar.from_spec(
            "goose", "America/Goose_Bay", {"sat": "20:00-24:00", "sun": "00:00-01:00"}
        )
        second_pass = datetime(2010, 11, 7, 3, 30, tzinfo=UTC)
        assert wall("America/Goose_Bay", second_pass) == "2010-11-06 23:30"
        assert cal.is_open(second_pass)
        saturday = BusinessCalendar.from_spec("goose", "America/Goose_Bay", {"sat": "20:00-24:00"})
        assert not saturday.is_open(second_pass)
        assert saturday.next_open(second_pass) == datetime(2010, 11, 14, 0, tzinfo=UTC)  # 20:00 AST
        assert (
            cal.business_time_between(
                datetime(2010, 11, 6, 12, tzinfo=UTC), datetime(2010, 11, 7, 12, tzinfo=UTC)
            )
            == 4 * H + 2 * H
        )  # Saturday 20:00-24:00 ADT, then Sunday 00:00 ADT to 01:00 AST

    def test_santiago_skipped_midnight_starts_the_day_at_the_jump(self) -> None:
        # 2026-09-06 00:00 -04 jumped to 01:00 -03: the day starts at 01:00.
        cal = BusinessCalendar.from_spec("scl", "America/Santiago", {"sun": "00:00-02:00"})
        assert cal.next_open(datetime(2026, 9, 5, 12, tzinfo=UTC)) == datetime(
            2026, 9, 6, 4, tzinfo=UTC
        )
        assert (
            cal.business_time_between(
                datetime(2026, 9, 5, tzinfo=UTC), datetime(2026, 9, 7, tzinfo=UTC)
            )
            == H
        )

    def test_apia_skipped_a_whole_day(self) -> None:
        # Samoa went from 2011-12-29 straight to 2011-12-31: Friday the 30th never happened.
        cal = BusinessCalendar.from_spec("apia", "Pacific/Apia", {"thu-sat": "09:00-10:00"})
        start = at("Pacific/Apia", 2011, 12, 29, 0)
        end = at("Pacific/Apia", 2012, 1, 1, 0)
        assert cal.business_time_between(start, end) == 2 * H
        assert wall("Pacific/Apia", cal.add_business_time(start, 90 * M)) == "2011-12-31 09:30"


class TestFromSpec:
    def test_ranges_lists_and_closed_days(self) -> None:
        cal = BusinessCalendar.from_spec(
            "mix",
            "Europe/Berlin",
            {
                "mon-thu": ["13:00-17:00", "08:00-12:00"],
                "Friday": "08:00-14:00",
                "sat": "closed",
                "sun": [],
            },
        )
        assert cal.hours[0] == ((time(8), time(12)), (time(13), time(17)))
        assert cal.hours[4] == ((time(8), time(14)),)
        assert cal.hours[3] == cal.hours[0]
        assert cal.hours[5] == cal.hours[6] == ()

    def test_wrapping_ranges_comma_lists_and_midnight_ends(self) -> None:
        cal = BusinessCalendar.from_spec(
            "wrap", "UTC", {"fri-mon": "20:00-24:00", "tue, thu": "8:00-00:00"}
        )
        assert [bool(day) for day in cal.hours] == [True, True, False, True, True, True, True]
        assert cal.hours[0] == ((time(20), time(0)),)
        assert cal.hours[1] == ((time(8), time(0)),)

    def test_weekly_spec_round_trips(self) -> None:
        weekly: dict[str, str | list[str]] = {
            "mon": ["08:00-12:00", "13:00:30-24:00"],
            "wed": "00:00-06:15",
        }
        cal = BusinessCalendar.from_spec("rt", "Asia/Kolkata", weekly)
        again = BusinessCalendar.from_spec("rt", "Asia/Kolkata", dict(cal.weekly_spec()))
        assert again == cal
        assert cal.weekly_spec()["mon"] == ["08:00-12:00", "13:00:30-24:00"]

    @pytest.mark.parametrize(
        ("weekly", "timezone", "message"),
        [
            ({"mo": "08:00-18:00"}, "Europe/Berlin", "unknown day 'mo'"),
            ({"mon-funday": "08:00-18:00"}, "Europe/Berlin", "unknown day 'funday'"),
            ({"mon-wed-fri": "08:00-18:00"}, "Europe/Berlin", "unknown day range"),
            ({"mon": "25:00-26:00"}, "Europe/Berlin", "not a valid time"),
            ({"mon": "8am-6pm"}, "Europe/Berlin", "not a time like"),
            ({"mon": "08:00"}, "Europe/Berlin", "not an interval"),
            ({"mon": "12:60-13:00"}, "Europe/Berlin", "not a valid time"),
            ({"mon": "24:00-24:00"}, "Europe/Berlin", "cannot start at 24:00"),
            ({"mon": "18:00-08:00"}, "Europe/Berlin", "ends before it starts"),
            ({"mon": "09:00-09:00"}, "Europe/Berlin", "ends before it starts"),
            ({"mon": ["08:00-12:00", "11:00-13:00"]}, "Europe/Berlin", "overlap"),
            ({"mon": ["08:00-24:00", "20:00-21:00"]}, "Europe/Berlin", "overlap"),
            ({"mon-fri": "08:00-18:00", "fri": "09:00-10:00"}, "Europe/Berlin", "fri: .*overlap"),
            ({"mon": 8}, "Europe/Berlin", "hours must be"),
            ({}, "Europe/Berlin", "must be open at some time"),
            ({"mon-sun": "closed"}, "Europe/Berlin", "must be open at some time"),
            ({"mon": "08:00-18:00"}, "Mars/Olympus_Mons", "unknown time zone"),
            ({"mon": "08:00-18:00"}, "europe/berlin", "unknown time zone"),
            ({"mon": "08:00-18:00"}, "../etc/passwd", "unknown time zone"),
            ({"mon": "08:00-18:00"}, "", "time zone is required"),
        ],
    )
    def test_bad_specs_are_refused_with_a_clear_message(
        self, weekly: dict[str, str | list[str]], timezone: str, message: str
    ) -> None:
        with pytest.raises(InvalidInput, match=message):
            BusinessCalendar.from_spec("bad", timezone, weekly)

    def test_constructor_validates_too(self) -> None:
        with pytest.raises(InvalidInput, match="7 entries"):
            BusinessCalendar("x", "UTC", ((),) * 6)
        with pytest.raises(InvalidInput, match="out of order"):
            BusinessCalendar("x", "UTC", (((time(13), time(14)), (time(8), time(9))),) + ((),) * 6)
        with pytest.raises(InvalidInput, match="holidays must be dates"):
            BusinessCalendar(
                "x",
                "UTC",
                (((time(8), time(9)),),) * 7,
                frozenset({datetime(2026, 1, 1, tzinfo=UTC)}),
            )

    def test_lists_are_stored_as_tuples_so_calendars_hash(self) -> None:
        cal = BusinessCalendar("x", "UTC", [[(time(8), time(9))]] + [[]] * 6, [date(2026, 1, 1)])  # type: ignore[arg-type]
        assert cal.hours == (((time(8), time(9)),),) + ((),) * 6
        assert cal.holidays == frozenset({date(2026, 1, 1)})
        assert hash(cal) == hash(BusinessCalendar("x", "UTC", cal.hours, cal.holidays))


# -- properties ----------------------------------------------------------------------------------

INTERESTING_ZONES = (
    "UTC",
    "Europe/Berlin",
    "Europe/London",
    "America/New_York",
    "America/St_Johns",  # -03:30
    "America/Santiago",  # transitions at midnight
    "Australia/Sydney",
    "Australia/Lord_Howe",  # a 30-minute clock change
    "Asia/Kolkata",
    "Asia/Kathmandu",  # +05:45
    "Asia/Beirut",  # fall-back straddling midnight
    "Pacific/Chatham",  # +12:45 / +13:45
    "Pacific/Kiritimati",  # +14
    "Pacific/Pago_Pago",  # -11
)
ZONES = st.one_of(st.sampled_from(INTERESTING_ZONES), st.timezone_keys())
YEAR = 2026


@lru_cache(maxsize=1024)
def offset_changes(zone: str) -> tuple[datetime, ...]:
    """The instants in YEAR at which the zone's UTC offset changes (days apart, to the second)."""
    tz = ZoneInfo(zone)

    def offset(instant: datetime) -> timedelta | None:
        return instant.astimezone(tz).utcoffset()

    found = []
    day = datetime(YEAR, 1, 1, tzinfo=UTC)
    while day.year == YEAR:
        low, high = day, day + timedelta(days=1)
        if offset(low) != offset(high):
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                low, high = (low, middle) if offset(middle) != offset(low) else (middle, high)
            found.append(high.replace(microsecond=0))
        day += timedelta(days=1)
    return tuple(found)


Hours = tuple[tuple[tuple[time, time], ...], ...]


def _day(points: list[int]) -> tuple[tuple[time, time], ...]:
    """Pairs sorted minute marks (0..1440) into intervals; 1440 is 24:00, written time(0)."""
    marks = sorted(points)
    return tuple(
        (time(*divmod(s, 60)), time(*divmod(e % 1440, 60)))
        for s, e in zip(marks[::2], marks[1::2], strict=False)
    )


# Random weekly hours on whole minutes: 0 to 3 intervals a day, open at some time in the week.
# (Strategies are built once here: building them inside a composite per example is slow.)
DAY = st.lists(st.integers(0, 1440), max_size=6, unique=True).map(_day)
WEEKLY_HOURS: st.SearchStrategy[Hours] = st.tuples(DAY, DAY, DAY, DAY, DAY, DAY, DAY).filter(any)
HOLIDAY_OFFSETS = st.sets(st.integers(-3, 21), max_size=6)
NEAR_A_CHANGE = st.timedeltas(-timedelta(days=3), timedelta(days=3))


@st.composite
def instants(draw: st.DrawFn, zone: str) -> datetime:
    """Instants in YEAR, half of them within three days of one of the zone's clock changes."""
    changes = offset_changes(zone)
    near_a_change = draw(st.booleans())
    if changes and near_a_change:
        base = draw(st.sampled_from(changes))
        return base + draw(NEAR_A_CHANGE)
    # hypothesis takes naive bounds and applies `timezones` to what it draws
    first, last = datetime(YEAR, 1, 1), datetime(YEAR, 12, 31)  # noqa: DTZ001
    return draw(st.datetimes(first, last, timezones=st.just(UTC)))


@st.composite
def calendars(draw: st.DrawFn) -> tuple[BusinessCalendar, datetime]:
    """A random calendar and an instant to start from (with holidays near it)."""
    zone = draw(ZONES)
    start = draw(instants(zone))
    base = start.date()
    offsets = draw(HOLIDAY_OFFSETS)
    holidays = frozenset(base + timedelta(days=n) for n in offsets)
    return BusinessCalendar("random", zone, draw(WEEKLY_HOURS), holidays), start


DURATIONS = st.one_of(
    st.integers(0, 24 * 60).map(lambda m: m * M),
    st.timedeltas(timedelta(0), timedelta(days=5)),
)
POSITIVE = DURATIONS.filter(lambda d: d > timedelta(0))
FAST = settings(max_examples=75, deadline=None, suppress_health_check=[HealthCheck.too_slow])


class TestProperties:
    @FAST
    @given(calendars(), DURATIONS)
    def test_between_undoes_add(
        self, scenario: tuple[BusinessCalendar, datetime], d: timedelta
    ) -> None:
        cal, start = scenario
        assert cal.business_time_between(start, cal.add_business_time(start, d)) == d

    @FAST
    @given(calendars(), POSITIVE)
    def test_result_is_open_or_an_interval_end(
        self, scenario: tuple[BusinessCalendar, datetime], d: timedelta
    ) -> None:
        cal, start = scenario
        due = cal.add_business_time(start, d)
        assert due > start
        assert due.tzinfo is UTC
        assert cal.is_open(due) or cal.is_open(due - US)
        # and it is the earliest such instant
        assert cal.business_time_between(start, due - US) < d

    @FAST
    @given(calendars(), DURATIONS, DURATIONS)
    def test_add_is_monotonic_in_duration(
        self, scenario: tuple[BusinessCalendar, datetime], a: timedelta, b: timedelta
    ) -> None:
        cal, start = scenario
        low, high = sorted((a, b))
        assert cal.add_business_time(start, low) <= cal.add_business_time(start, high)

    @FAST
    @given(calendars(), st.timedeltas(timedelta(0), timedelta(days=4)), DURATIONS)
    def test_add_is_monotonic_in_start(
        self, scenario: tuple[BusinessCalendar, datetime], later: timedelta, d: timedelta
    ) -> None:
        cal, start = scenario
        assert cal.add_business_time(start, d) <= cal.add_business_time(start + later, d)

    @FAST
    @given(calendars(), DURATIONS, POSITIVE)
    def test_add_is_additive(
        self, scenario: tuple[BusinessCalendar, datetime], a: timedelta, b: timedelta
    ) -> None:
        cal, start = scenario
        assert cal.add_business_time(cal.add_business_time(start, a), b) == cal.add_business_time(
            start, a + b
        )

    @FAST
    @given(calendars(), st.timedeltas(timedelta(0), timedelta(days=40)), st.floats(0, 1))
    def test_between_is_additive_over_a_split_point(
        self, scenario: tuple[BusinessCalendar, datetime], span: timedelta, where: float
    ) -> None:
        cal, start = scenario
        end = start + span
        split = start + span * where
        assert cal.business_time_between(start, end) == cal.business_time_between(
            start, split
        ) + cal.business_time_between(split, end)

    @FAST
    @given(calendars())
    def test_next_open_is_open_and_nothing_open_is_skipped(
        self, scenario: tuple[BusinessCalendar, datetime]
    ) -> None:
        cal, start = scenario
        opens = cal.next_open(start)
        assert cal.is_open(opens)
        assert cal.business_time_between(start, opens) == timedelta(0)
        assert (opens == start) == cal.is_open(start)
        assert cal.add_business_time(start, timedelta(0)) == opens

    @FAST
    @given(calendars())
    def test_is_open_follows_the_wall_clock_away_from_clock_changes(
        self, scenario: tuple[BusinessCalendar, datetime]
    ) -> None:
        cal, start = scenario
        tz = ZoneInfo(cal.timezone)
        offsets = {(start + n * H).astimezone(tz).utcoffset() for n in range(-30, 31)}
        assume(len(offsets) == 1)
        local = start.astimezone(tz)
        t = local.time().replace(tzinfo=None)
        expected = local.date() not in cal.holidays and any(
            s <= t and (e == time(0) or t < e) for s, e in cal.hours[local.weekday()]
        )
        assert cal.is_open(start) == expected

    @settings(max_examples=40, deadline=None)
    @given(calendars(), st.integers(0, 2 * 24 * 60))
    def test_between_counts_the_open_minutes(
        self, scenario: tuple[BusinessCalendar, datetime], minutes: int
    ) -> None:
        cal, start = scenario
        start = start.replace(second=0, microsecond=0)  # every boundary here is on a whole minute
        open_minutes = sum(cal.is_open(start + n * M) for n in range(minutes))
        assert cal.business_time_between(start, start + minutes * M) == open_minutes * M

    @FAST
    @given(ZONES.flatmap(lambda z: st.tuples(st.just(z), instants(z))), DURATIONS)
    def test_a_calendar_open_all_day_every_day_is_elapsed_time(
        self, zone_and_start: tuple[str, datetime], d: timedelta
    ) -> None:
        zone, start = zone_and_start
        cal = daily(zone, "00:00-24:00")
        assert cal.add_business_time(start, d) == start + d
        assert cal.business_time_between(start - d, start) == d

    @FAST
    @given(st.datetimes(timezones=st.just(UTC), max_value=datetime(9000, 1, 1)), DURATIONS)  # noqa: DTZ001
    def test_always_open_is_plain_arithmetic(self, start: datetime, d: timedelta) -> None:
        cal = BusinessCalendar.always_open()
        assert cal.add_business_time(start, d) == start + d
        assert cal.business_time_between(start, start + d) == d
        assert cal.is_open(start)

    @FAST
    @given(WEEKLY_HOURS)
    def test_weekly_spec_round_trips(self, hours: Hours) -> None:
        cal = BusinessCalendar("rt", "UTC", hours)
        assert BusinessCalendar.from_spec("rt", "UTC", dict(cal.weekly_spec())) == cal
