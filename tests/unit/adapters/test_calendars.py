"""Public-holiday dates from the `holidays` package, ready for a BusinessCalendar."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from socialdesk.adapters.calendars import holiday_dates
from socialdesk.domain.calendars import BusinessCalendar
from socialdesk.domain.errors import InvalidInput


def test_germany_2026_includes_christmas_and_unity_day() -> None:
    days = holiday_dates("DE", [2026])
    assert {date(2026, 12, 25), date(2026, 12, 26), date(2026, 10, 3)} <= days
    assert date(2026, 12, 24) not in days  # Christmas Eve is a working day nationally
    assert all(d.year == 2026 for d in days)


def test_subdivision_adds_regional_holidays_and_codes_ignore_case() -> None:
    national = holiday_dates("DE", [2026])
    bavaria = holiday_dates("de", [2026], subdivision="by")
    assert date(2026, 1, 6) in bavaria  # Epiphany: Bavaria, not Germany as a whole
    assert date(2026, 1, 6) not in national
    assert national < bavaria


def test_several_years_and_observed_days() -> None:
    days = holiday_dates("US", range(2026, 2028))
    assert date(2026, 7, 3) in days  # 4 July 2026 is a Saturday, observed on the Friday
    assert {d.year for d in days} == {2026, 2027}
    assert holiday_dates("US", []) == frozenset()


@pytest.mark.parametrize("country", ["XX", "Germany", ""])
def test_unknown_country_is_refused(country: str) -> None:
    with pytest.raises(InvalidInput, match="unknown country"):
        holiday_dates(country, [2026])


def test_unknown_subdivision_is_refused_with_the_known_ones() -> None:
    with pytest.raises(InvalidInput, match=r"unknown subdivision 'ZZ' of DE; known: .*BY"):
        holiday_dates("DE", [2026], subdivision="ZZ")


def test_bad_year_is_refused() -> None:
    with pytest.raises(InvalidInput, match="not a year"):
        holiday_dates("DE", [0])


def test_dates_close_a_calendar() -> None:
    cal = BusinessCalendar.from_spec(
        "berlin", "Europe/Berlin", {"mon-fri": "08:00-18:00"}, holiday_dates("DE", [2026])
    )
    christmas_eve_evening = datetime(2026, 12, 24, 16, 30, tzinfo=UTC)  # Thursday 17:30 local
    due = cal.add_business_time(christmas_eve_evening, timedelta(hours=1))
    assert due == datetime(2026, 12, 28, 7, 30, tzinfo=UTC)  # Monday 08:30, after two holidays
