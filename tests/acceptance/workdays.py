"""Business-day arithmetic done independently of the product, to say when a promise is due.

The product counts on ``workflows.clock.calendar``; the acceptance suite must not borrow it to
decide what the right answer is. A desk's default calendar is simple enough to walk by hand:
08:00-18:00 local time, Monday to Friday, minus the closed days we give it (the scenarios use no
country, so no public holidays).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from zoneinfo import ZoneInfo

OPENS, CLOSES = dt.time(8, 0), dt.time(18, 0)
DAY = dt.timedelta(hours=10)  # one business day: the length of the window


def add_business_time(start: dt.datetime, amount: dt.timedelta, zone: str,
                      closed: Iterable[dt.date] = ()) -> dt.datetime:
    """The moment ``amount`` of business time after ``start`` (UTC)."""
    tz, closed_days, left = ZoneInfo(zone), set(closed), amount
    day = start.astimezone(tz).date()
    while True:
        if day.weekday() < 5 and day not in closed_days:
            opens = dt.datetime.combine(day, OPENS, tz)
            closes = dt.datetime.combine(day, CLOSES, tz)
            begin = max(opens, start)
            if begin < closes:
                if begin + left <= closes:
                    return (begin + left).astimezone(dt.UTC)
                left -= closes - begin
        day += dt.timedelta(days=1)


def add_business_days(start: dt.datetime, days: int, zone: str,
                      closed: Iterable[dt.date] = ()) -> dt.datetime:
    return add_business_time(start, days * DAY, zone, closed)
