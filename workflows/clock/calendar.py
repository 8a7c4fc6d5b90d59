"""The business calendar: when an organization's desk counts time, and time arithmetic on it.

Place in the flow: outside the message flow; the scheduler (``workflows.clock.scheduler``) and the
SLA views ask it when a timer falls due ("2 business days after the analyst asked") and how much
business time a clock has used. Pure: no database, no settings; the caller builds a calendar
from an ``Organization`` row with ``calendar_of``.

A calendar is an IANA time zone, one window of business hours (default 08:00-18:00) on its
workdays (default Monday to Friday), minus the public holidays of its country (the ``holidays``
package; ``DE-BY`` names a subdivision) and extra closed days. Windows are built per *local* date
and converted to UTC, so a DST change moves the UTC hours of the window, never its local hours,
and a year end is just another run of dates.

Arithmetic runs on a prefix sum of business seconds per date (built lazily, a year at a time), so
adding "5 business days" or measuring a clock is a binary search, not a walk over the days: the
scheduler does this for every timer it arms.
"""

from __future__ import annotations

import bisect
import datetime as dt
import re
import threading
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_HOURS = "08:00-18:00"
DEFAULT_WORKDAYS = "mon-fri"
_GROW_DAYS = 400  # how many dates the prefix index grows by at a time
_MAX_SPAN_DAYS = 40 * 366  # a calendar never indexes more than this (guards a runaway search)
_HOURS_RE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


class CalendarError(ValueError):
    """A calendar setting (hours, workdays, closed day, country) that cannot be used."""


class TimeUnit(StrEnum):
    """How a duration is counted: on the wall clock (24x7) or on the business calendar."""

    MINUTES = "min"
    HOURS = "h"
    BUSINESS_HOURS = "bh"
    BUSINESS_DAYS = "bd"

    @property
    def business(self) -> bool:
        return self in (TimeUnit.BUSINESS_HOURS, TimeUnit.BUSINESS_DAYS)


_UNIT_WORDS = {
    "m": TimeUnit.MINUTES, "min": TimeUnit.MINUTES, "mins": TimeUnit.MINUTES,
    "minute": TimeUnit.MINUTES, "minutes": TimeUnit.MINUTES,
    "h": TimeUnit.HOURS, "hour": TimeUnit.HOURS, "hours": TimeUnit.HOURS,
    "bh": TimeUnit.BUSINESS_HOURS, "business hour": TimeUnit.BUSINESS_HOURS,
    "business hours": TimeUnit.BUSINESS_HOURS,
    "bd": TimeUnit.BUSINESS_DAYS, "business day": TimeUnit.BUSINESS_DAYS,
    "business days": TimeUnit.BUSINESS_DAYS,
}
_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z][a-z ]*?)\s*$")


@dataclass(frozen=True, slots=True)
class Duration:
    """An amount of time in one unit: ``Duration(2, TimeUnit.BUSINESS_DAYS)``."""

    amount: float
    unit: TimeUnit

    def seconds(self, calendar: BusinessCalendar) -> float:
        """Wall-clock seconds, or business seconds on ``calendar`` for business units."""
        if self.unit is TimeUnit.MINUTES:
            return self.amount * 60
        if self.unit is TimeUnit.HOURS:
            return self.amount * 3600
        if self.unit is TimeUnit.BUSINESS_HOURS:
            return self.amount * 3600
        return self.amount * calendar.day_seconds

    def __str__(self) -> str:
        return f"{self.amount:g}{self.unit.value}"


def parse_duration(text: str) -> Duration:
    """``"2bd"``, ``"4 business hours"``, ``"24h"``, ``"15min"`` -> a ``Duration``."""
    match = _DURATION_RE.match(text.lower())
    unit = _UNIT_WORDS.get(match.group(2).strip()) if match else None
    if match is None or unit is None:
        raise CalendarError(f"not a duration: {text!r} (e.g. 15min, 24h, 4bh, 2bd)")
    return Duration(float(match.group(1)), unit)


def parse_hours(text: str) -> tuple[int, int]:
    """``"08:00-18:00"`` -> (opening, closing) in minutes after local midnight; 24:00 allowed."""
    match = _HOURS_RE.match(text)
    if match is None:
        raise CalendarError(f"business hours {text!r}: expected HH:MM-HH:MM, e.g. 08:00-18:00")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    opens, closes = h1 * 60 + m1, h2 * 60 + m2
    if m1 > 59 or m2 > 59 or opens >= 24 * 60 or closes > 24 * 60 or opens >= closes:
        raise CalendarError(f"business hours {text!r}: opening must come before closing, "
                            "within one day")
    return opens, closes


def parse_workdays(text: str) -> frozenset[int]:
    """``"mon-fri"``, ``"mon,wed,fri"``, ``"sun-thu"`` -> weekday numbers (Monday is 0)."""
    days: set[int] = set()
    for part in text.lower().replace(" ", "").split(","):
        first, _, last = part.partition("-")
        try:
            start = WEEKDAYS.index(first[:3])
            end = WEEKDAYS.index(last[:3]) if last else start
        except ValueError:
            raise CalendarError(f"workdays {text!r}: use mon..sun, e.g. mon-fri or sun-thu"
                                ) from None
        days.add(start)
        while start != end:  # a range may wrap over the week end: fri-mon
            start = (start + 1) % 7
            days.add(start)
    return frozenset(days)


def format_workdays(days: Iterable[int]) -> str:
    return ",".join(WEEKDAYS[d] for d in sorted(days))


def parse_closed_day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise CalendarError(f"closed day {text!r}: expected YYYY-MM-DD") from None


def split_country(country: str | None) -> tuple[str | None, str | None]:
    """``"DE-BY"`` -> ("DE", "BY"); ``"US"`` -> ("US", None)."""
    if not country:
        return None, None
    code, _, subdiv = country.strip().upper().partition("-")
    return code or None, subdiv or None


def check_country(country: str | None) -> None:
    """Raise ``CalendarError`` unless the ``holidays`` package knows the country (and
    subdivision)."""
    code, subdiv = split_country(country)
    if code is None:
        return
    try:
        _public_holidays(code, subdiv, dt.date.today().year)
    except NotImplementedError:
        raise CalendarError(f"no public holidays known for country {country!r} "
                            "(use an ISO 3166 code like DE, US or DE-BY)") from None


@lru_cache(maxsize=512)
def _public_holidays(code: str, subdiv: str | None, year: int) -> frozenset[dt.date]:
    # Imported here: the package is large, and only the scheduler and the views need it. The
    # result is a frozenset per year, so threads never share the package's lazily filled dict.
    import holidays

    table = holidays.country_holidays(code, subdiv=subdiv, years=year)
    return frozenset(d for d in table if d.year == year)


class BusinessCalendar:
    """Business time of one organization. Thread-safe; cache one per organization."""

    def __init__(self, zone: str = "UTC", *, hours: str = DEFAULT_HOURS,
                 workdays: str = DEFAULT_WORKDAYS, country: str | None = None,
                 closed_days: Iterable[dt.date] = ()) -> None:
        try:
            self.zone = zoneinfo.ZoneInfo(zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise CalendarError(f"unknown time zone {zone!r}") from None
        self.opens, self.closes = parse_hours(hours)
        self.workdays = parse_workdays(workdays)
        if not self.workdays:
            raise CalendarError("a calendar needs at least one workday")
        check_country(country)
        self.country, self.subdiv = split_country(country)
        self.closed_days = frozenset(closed_days)
        self.day_seconds = (self.closes - self.opens) * 60
        self._lock = threading.Lock()
        self._origin: dt.date | None = None
        self._midnight: list[float] = []
        self._open: list[float] = []
        self._length: list[float] = []
        self._cum: list[float] = []
        self._cum_end: list[float] = []

    # -- what a day is ----------------------------------------------------------------------
    def is_holiday(self, day: dt.date) -> bool:
        if day in self.closed_days:
            return True
        if self.country is None:
            return False
        return day in _public_holidays(self.country, self.subdiv, day.year)

    def is_business_day(self, day: dt.date) -> bool:
        return day.weekday() in self.workdays and not self.is_holiday(day)

    def window(self, day: dt.date) -> tuple[dt.datetime, dt.datetime] | None:
        """The UTC opening and closing of ``day`` (a local date), or None when closed."""
        if not self.is_business_day(day):
            return None
        return self._local(day, self.opens), self._local(day, self.closes)

    def _local(self, day: dt.date, minutes: int) -> dt.datetime:
        if minutes >= 24 * 60:  # 24:00 is the next midnight
            day, minutes = day + dt.timedelta(days=1), minutes - 24 * 60
        local = dt.datetime.combine(day, dt.time(minutes // 60, minutes % 60), tzinfo=self.zone)
        return local.astimezone(dt.UTC)

    # -- the prefix index --------------------------------------------------------------------
    # Per local date i from ``_origin``: the UTC timestamp of its midnight (``_midnight``), of
    # its opening (``_open``), its business seconds (``_length``, 0 when closed) and the running
    # sums before and after it. A moment is located by a binary search on the midnights, so no
    # time zone conversion happens per question: the scheduler asks this for every timer.
    def _days(self, first: dt.date, count: int) -> tuple[list[float], list[float], list[float]]:
        midnights, opens, lengths = [], [], []
        for i in range(count):
            day = first + dt.timedelta(days=i)
            midnights.append(self._local(day, 0).timestamp())
            win = self.window(day)
            if win is None:
                opens.append(self._local(day, self.opens).timestamp())
                lengths.append(0.0)
            else:
                opens.append(win[0].timestamp())
                lengths.append((win[1] - win[0]).total_seconds())
        return midnights, opens, lengths

    def _rebuild_sums(self) -> None:
        cum, cum_end, total = [], [], 0.0
        for length in self._length:
            cum.append(total)
            total += length
            cum_end.append(total)
        self._cum, self._cum_end = cum, cum_end

    def _grow(self, *, before: bool) -> None:
        assert self._origin is not None
        if len(self._open) > _MAX_SPAN_DAYS:
            raise CalendarError("date too far from the calendar's other dates")
        if before:
            first = self._origin - dt.timedelta(days=_GROW_DAYS)
            mid, opens, lengths = self._days(first, _GROW_DAYS)
            self._midnight, self._open = mid + self._midnight, opens + self._open
            self._length = lengths + self._length
            self._origin = first
        else:
            mid, opens, lengths = self._days(
                self._origin + dt.timedelta(days=len(self._open)), _GROW_DAYS)
            self._midnight.extend(mid)
            self._open.extend(opens)
            self._length.extend(lengths)
        self._rebuild_sums()

    def _index(self, stamp: float) -> int:
        """The index of the local date ``stamp`` falls on, growing the index to cover it."""
        if self._origin is None:
            first = dt.datetime.fromtimestamp(stamp, self.zone).date() - dt.timedelta(days=7)
            self._origin = first
            self._midnight, self._open, self._length = self._days(first, _GROW_DAYS)
            self._rebuild_sums()
        while stamp < self._midnight[0]:
            self._grow(before=True)
        while stamp >= self._midnight[-1]:  # the last date is only a fence: grow past it
            self._grow(before=False)
        return bisect.bisect_right(self._midnight, stamp) - 1

    def _position(self, stamp: float) -> float:
        """Business seconds between the index origin and ``stamp``."""
        index = self._index(stamp)
        within = stamp - self._open[index]
        return self._cum[index] + min(max(within, 0.0), self._length[index])

    # -- arithmetic ----------------------------------------------------------------------------
    def between_ts(self, start: float, end: float) -> float:
        """``between`` on UTC timestamps."""
        if end <= start:
            return 0.0
        with self._lock:
            return self._position(end) - self._position(start)

    def add_ts(self, start: float, seconds: float) -> float:
        """``add`` on UTC timestamps."""
        if seconds <= 0:
            return start
        with self._lock:
            target = self._position(start) + seconds
            while self._cum_end[-1] < target:
                self._grow(before=False)
            index = bisect.bisect_left(self._cum_end, target)
            return self._open[index] + (target - self._cum[index])

    def between(self, start: dt.datetime, end: dt.datetime) -> float:
        """Business seconds from ``start`` to ``end`` (0 when ``end`` is not later)."""
        return self.between_ts(start.timestamp(), end.timestamp())

    def add(self, start: dt.datetime, seconds: float) -> dt.datetime:
        """The moment ``seconds`` of business time after ``start``.

        A result that lands exactly on a closing time stays there (Tuesday 18:00, not
        Wednesday 08:00). Zero or less returns ``start`` unchanged.
        """
        if seconds <= 0:
            return start
        return dt.datetime.fromtimestamp(self.add_ts(start.timestamp(), seconds), dt.UTC)

    def add_days(self, start: dt.datetime, days: float) -> dt.datetime:
        """``days`` business days after ``start`` (a business day is one window of hours)."""
        return self.add(start, days * self.day_seconds)

    def measure(self, unit: TimeUnit, start: dt.datetime, end: dt.datetime) -> float:
        """Seconds of ``unit``'s kind (business or wall clock) from ``start`` to ``end``."""
        if unit.business:
            return self.between(start, end)
        return max((end - start).total_seconds(), 0.0)

    def advance(self, unit: TimeUnit, start: dt.datetime, seconds: float) -> dt.datetime:
        """``start`` plus ``seconds`` counted the way ``unit`` counts."""
        if seconds <= 0:
            return start
        if unit.business:
            return self.add(start, seconds)
        return start + dt.timedelta(seconds=seconds)

    def describe(self) -> dict[str, object]:
        return {"timezone": self.zone.key, "hours": f"{self.opens // 60:02d}:"
                f"{self.opens % 60:02d}-{self.closes // 60:02d}:{self.closes % 60:02d}",
                "workdays": format_workdays(self.workdays),
                "country": "-".join(p for p in (self.country, self.subdiv) if p) or None,
                "closed_days": sorted(d.isoformat() for d in self.closed_days)}
