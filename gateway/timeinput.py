"""Times typed by people: one meaning for a time without a zone, on every surface.

Place in the flow: the edges that read a time from a person — the CLI (``notice create --start``,
``timers run --at``, ``blackout add``, ``report add --first``), the API (notice bodies) and the
console (the notice form) — call ``read_time`` with the desk's zone (``settings.desk_timezone``,
UTC by default) or a zone the person picked. A time with an offset (``+01:00``, ``Z``) is that
instant; one without is wall-clock time in the zone given, and every surface says which zone it
read (``ReadTime.zone``), so "23:00" never means Denver in one place and UTC in another. A bare
date is midnight in that zone.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

UTC_NAMES = frozenset({"UTC", "Etc/UTC", "Z"})


class TimeInputError(ValueError):
    """A time or a zone that cannot be read; the message names the value and a good form."""


@dataclass(frozen=True, slots=True)
class ReadTime:
    at: dt.datetime  # the instant, in UTC
    zone: str  # the zone the wall-clock time was read in, or the offset it carried
    assumed: bool  # True: no offset was given, ``zone`` supplied the meaning


def zone_named(name: str) -> ZoneInfo:
    """The IANA zone ``name``; ``TimeInputError`` when there is none of that name."""
    name = (name or "").strip()
    try:
        return ZoneInfo("UTC" if name in UTC_NAMES else name)
    except (ZoneInfoNotFoundError, ValueError):
        raise TimeInputError(f"{name!r} is not a time zone: use an IANA name like "
                             "Europe/Berlin, America/Denver or UTC") from None


YEARS = (1970, 9000)  # the years a typed time may fall in


def read_time(value: str, zone: str) -> ReadTime:
    """``value`` (ISO 8601: ``2026-03-07T23:00``, ``2026-03-07T23:00-07:00``, ``...Z``,
    ``2026-03-07``) as an instant; without an offset it is read in ``zone``."""
    text = (value or "").strip()
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise TimeInputError(f"{value!r} is not a time: expected ISO 8601 like "
                             "2026-03-07T23:00 (read in the desk's zone) or "
                             "2026-03-07T23:00-07:00") from None
    if not YEARS[0] <= parsed.year <= YEARS[1]:
        # Year 1 or 9999 parses, but the clock's arithmetic (a month back, a quarter ahead)
        # overflows datetime there: out of range, said here rather than as a failed job.
        raise TimeInputError(f"{value!r} is out of range: a year from {YEARS[0]} to {YEARS[1]}")
    if parsed.tzinfo is not None:
        offset = parsed.utcoffset() or dt.timedelta(0)
        return ReadTime(parsed.astimezone(dt.UTC), _offset_text(offset), assumed=False)
    tz = zone_named(zone)
    return ReadTime(parsed.replace(tzinfo=tz).astimezone(dt.UTC), tz.key, assumed=True)


def _offset_text(offset: dt.timedelta) -> str:
    minutes = int(offset.total_seconds() // 60)
    if minutes == 0:
        return "UTC"
    sign = "+" if minutes > 0 else "-"
    hours, mins = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{mins:02d}"


def zone_choices(*first: str) -> list[str]:
    """Zones to offer in a picker: ``first`` (the desk's, the organizations') on top, then UTC,
    then every IANA zone by name."""
    top = list(dict.fromkeys(z for z in (*first, "UTC") if z))
    return top + sorted(z for z in available_timezones()
                        if z not in top and "/" in z and not z.startswith(("Etc/", "SystemV/")))
