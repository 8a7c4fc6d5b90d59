"""The blackout calendar: when no planned maintenance may run. Pure (the holiday tables aside).

Place in the flow: ``rules`` asks ``blackouts_between`` for the periods a planned maintenance
would overlap; the CLI shows them. Echopass "Blackout Periods", read as follows (all in the desk's
zone, ``settings.notice_zone``, America/Denver by default):

- **Month end**: from the last Tuesday of a month (00:00) to the end of the month. "The last week
  of the month following the last Tuesday" is taken to include that Tuesday: its 23:00 window
  would run into the Wednesday anyway.
- **Holiday weekends**: from the Tuesday before a holiday (00:00) to the end of the holiday
  weekend: the holiday itself when it falls on a Monday or Tuesday (its weekend came before it),
  else the Sunday after it. Holidays are the public holidays of the desk's country and of every
  organization the notice concerns (the ``holidays`` package; "Genesys, Customer, or national
  holiday"). A Monday holiday is inside its period by construction.
- **Cyber Monday**: the Thanksgiving (US) weekend runs on to the Monday after it.
- **Custom periods**: per organization or for all, agreed 30-90 days ahead (``NoticeBlackout``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import ZoneInfo

TUESDAY, THURSDAY, SUNDAY, MONDAY = 1, 3, 6, 0


@dataclass(frozen=True, slots=True)
class Period:
    """A blackout: [starts_at, ends_at) in UTC, and why."""

    starts_at: dt.datetime
    ends_at: dt.datetime
    reason: str
    kind: str = "custom"  # month_end, holiday, custom: the rule that refuses it

    def overlaps(self, start: dt.datetime, end: dt.datetime) -> bool:
        return self.starts_at < end and start < self.ends_at


def _midnight(day: dt.date, zone: ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), tzinfo=zone).astimezone(dt.UTC)


def _period(first: dt.date, last: dt.date, zone: ZoneInfo, reason: str, kind: str) -> Period:
    """Whole local days ``first``..``last`` (inclusive)."""
    return Period(_midnight(first, zone), _midnight(last + dt.timedelta(days=1), zone), reason,
                  kind)


def _months(first: dt.date, last: dt.date) -> Iterable[tuple[int, int]]:
    year, month = first.year, first.month
    while (year, month) <= (last.year, last.month):
        yield year, month
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def last_tuesday(year: int, month: int) -> dt.date:
    end = (dt.date(year + 1, 1, 1) if month == 12 else dt.date(year, month + 1, 1))
    last = end - dt.timedelta(days=1)
    return last - dt.timedelta(days=(last.weekday() - TUESDAY) % 7)


def month_end(first: dt.date, last: dt.date, zone: ZoneInfo) -> list[Period]:
    periods = []
    for year, month in _months(first, last):
        tuesday = last_tuesday(year, month)
        month_last = (dt.date(year + 1, 1, 1) if month == 12 else dt.date(year, month + 1, 1)
                      ) - dt.timedelta(days=1)
        periods.append(_period(tuesday, month_last, zone,
                               f"month-end blackout (from the last Tuesday, {tuesday:%a %d %b})",
                               "month_end"))
    return periods


@lru_cache(maxsize=256)
def public_holidays(country: str, year: int) -> tuple[tuple[dt.date, str], ...]:
    """(date, name) of a country's public holidays; ``DE-BY`` names a subdivision."""
    import holidays  # large: imported when a rule first needs it

    code, _, subdiv = country.upper().partition("-")
    try:
        # Names in English whatever the process's locale (the package falls back to the
        # country's own language without LANG): they are shown in English mail and refusals.
        table = holidays.country_holidays(code, subdiv=subdiv or None, years=year,
                                          language="en_US")
    except NotImplementedError:
        return ()
    return tuple(sorted((day, str(name)) for day, name in table.items() if day.year == year))


def thanksgiving(year: int) -> dt.date:
    """The fourth Thursday of November (US)."""
    first = dt.date(year, 11, 1)
    return first + dt.timedelta(days=(THURSDAY - first.weekday()) % 7 + 21)


def holiday_weekend(holiday: dt.date) -> tuple[dt.date, dt.date]:
    """First and last day of the blackout around ``holiday``."""
    back = (holiday.weekday() - TUESDAY) % 7 or 7  # the Tuesday *before*
    start = holiday - dt.timedelta(days=back)
    if holiday.weekday() in (MONDAY, TUESDAY):
        return start, holiday
    return start, holiday + dt.timedelta(days=(SUNDAY - holiday.weekday()) % 7)


def holiday_weekends(first: dt.date, last: dt.date, zone: ZoneInfo,
                     countries: Iterable[str]) -> list[Period]:
    periods = []
    # A holiday up to 12 days after ``last`` can start its blackout inside the range.
    years = range(first.year - 1, last.year + 2)
    for country in sorted(set(countries)):
        for year in years:
            for day, name in public_holidays(country, year):
                start, end = holiday_weekend(day)
                if end >= first and start <= last:
                    periods.append(_period(start, end, zone, f"holiday weekend: {name} "
                                           f"({country}, {day:%a %d %b %Y})", "holiday"))
    for year in years:
        day = thanksgiving(year)
        start, cyber_monday = holiday_weekend(day)[0], day + dt.timedelta(days=4)
        if cyber_monday >= first and start <= last:
            periods.append(_period(start, cyber_monday, zone,
                                   f"Thanksgiving weekend to Cyber Monday ({cyber_monday:%d %b})",
                                   "holiday"))
    return periods


def blackouts_between(start: dt.datetime, end: dt.datetime, zone: ZoneInfo,
                      countries: Iterable[str], custom: Iterable[Period] = ()) -> list[Period]:
    """Every blackout period that overlaps [start, end), earliest first."""
    first, last = start.astimezone(zone).date(), end.astimezone(zone).date()
    candidates = [*month_end(first, last, zone), *holiday_weekends(first, last, zone, countries),
                  *custom]
    return sorted((p for p in candidates if p.overlaps(start, end)),
                  key=lambda p: (p.starts_at, p.reason))
