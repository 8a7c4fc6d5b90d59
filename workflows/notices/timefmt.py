"""Times as recipients read them: in their organization's zone, with the zone named. Pure.

Place in the flow: ``render`` formats every time in a notice with these, once per receiving
organization; ``rules`` uses them in refusals. The abbreviation (``MST``/``MDT``) comes from
zoneinfo for that very instant, so a window that crosses a DST change shows both, and the IANA
name follows so nobody has to guess which "CST" is meant.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


@lru_cache(maxsize=1024)  # ZoneInfo's own strong cache holds 8: a 40-zone fan-out reloads
def zone_of(name: str | None, fallback: str = "UTC") -> ZoneInfo:
    """The zone ``name``, or ``fallback`` when it is missing or unknown (never raises on the
    fallback path: an organization row with a bad zone still gets its notice, in UTC)."""
    try:
        return ZoneInfo(name or fallback)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(fallback)


def local_time(at: dt.datetime, zone: ZoneInfo) -> str:
    """``Sat 07 Mar 2026 23:00 MST``."""
    local = at.astimezone(zone)
    return f"{local:%a %d %b %Y %H:%M} {local.tzname()}"


def local_clock(at: dt.datetime, zone: ZoneInfo, today: dt.datetime | None = None) -> str:
    """``23:00 MST``: for "no change since HH:MM" and "starting HH:MM" lines. With ``today``
    (when the mail is sent), a time on another local day gets its day too (``local_time``): an
    alert sent at 23:40 promising the first update at "00:23 EST" did not say which 00:23."""
    local = at.astimezone(zone)
    if today is not None and today.astimezone(zone).date() != local.date():
        return local_time(at, zone)
    return f"{local:%H:%M} {local.tzname()}"


def local_span(start: dt.datetime, end: dt.datetime, zone: ZoneInfo) -> str:
    """``Sat 07 Mar 2026 23:00 MST to Sun 08 Mar 2026 04:00 MDT``."""
    return f"{local_time(start, zone)} to {local_time(end, zone)}"


def duration(delta: dt.timedelta) -> str:
    """``4 h``, ``4 h 30 min``, ``5 days 3 h``: elapsed time, DST changes included."""
    minutes = max(int(delta.total_seconds() // 60), 0)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = []
    if days:
        parts.append(f"{days} day{'s' if days != 1 else ''}")
    if hours:
        parts.append(f"{hours} h")
    if mins or not parts:
        parts.append(f"{mins} min")
    return " ".join(parts)
