"""Public-holiday dates for business calendars, from the `holidays` package.

The domain's `BusinessCalendar` takes plain dates and knows nothing of countries; this adapter turns
"Germany, Bavaria, 2026-2027" into those dates, so supervisors can build a team calendar without
typing every holiday, and the domain stays free of third-party packages.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import holidays

from socialdesk.domain.errors import InvalidInput


def holiday_dates(
    country: str, years: Iterable[int], subdivision: str | None = None
) -> frozenset[date]:
    """The public holidays of `country` (ISO 3166-1 alpha-2, e.g. "DE") in `years`.

    `subdivision` is a state or province (ISO 3166-2 suffix, e.g. "BY" for Bavaria); regional
    holidays are only included when it is given. Observed days (a holiday moved off a weekend) are
    included, since the team is closed on them too. Codes are matched case-insensitively.
    """
    wanted = sorted(set(years))
    for year in wanted:
        if isinstance(year, bool) or not isinstance(year, int) or not 1 <= year <= 9999:
            raise InvalidInput(f"{year!r} is not a year", field="years")
    if not wanted:
        return frozenset()
    supported = holidays.list_supported_countries()
    code = country.strip().upper() if isinstance(country, str) else ""
    if code not in supported:
        raise InvalidInput(
            f"unknown country {country!r}; use an ISO 3166-1 alpha-2 code such as 'DE' or 'US'",
            field="country",
        )
    subdiv = None
    if subdivision is not None:
        by_upper = {s.upper(): s for s in supported[code]}
        subdiv = by_upper.get(subdivision.strip().upper())
        if subdiv is None:
            known = ", ".join(supported[code]) or "none"
            raise InvalidInput(
                f"unknown subdivision {subdivision!r} of {code}; known: {known}",
                field="subdivision",
            )
    try:
        found = holidays.country_holidays(code, subdiv=subdiv, years=wanted)
    except NotImplementedError as exc:  # the package's way of refusing a country or subdivision
        raise InvalidInput(f"no holidays for {code} {subdiv or ''}: {exc}".strip()) from exc
    # Kept as given, even an observed day that falls in the year before (1 January on a Saturday,
    # observed on 31 December): the team is closed then because of a holiday of the asked year.
    return frozenset(found)
