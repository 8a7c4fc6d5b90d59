"""Does a maintenance window fall inside an organization's business hours? Pure.

Place in the flow: ``views.preview`` asks it for every organization of a maintenance notice, so
the preview (``ticketgate notice preview``, the console's compose page and notice page) flags
the organizations whose working day the work would interrupt. A flag, not a refusal: the weekly
window rule already says when work may be done; this tells the scheduler who will feel it. The
answer uses the organization's own calendar (zone, hours, workdays, holidays): its business
seconds inside the window, the first moment of overlap in its local time.
"""

from __future__ import annotations

import datetime as dt

from workflows.clock.calendar import BusinessCalendar
from workflows.notices.timefmt import duration, local_time


def business_hours_clash(calendar: BusinessCalendar, starts_at: dt.datetime,
                         ends_at: dt.datetime) -> str | None:
    """None when no business time of ``calendar`` lies in the window; else one sentence."""
    overlap = calendar.between(starts_at, ends_at)
    if overlap <= 0:
        return None
    first = _first_business_moment(calendar, starts_at, ends_at)
    shape = calendar.describe()
    return (f"inside business hours ({shape['hours']} {shape['workdays']} "
            f"{calendar.zone.key}): {duration(dt.timedelta(seconds=overlap))} of the window, "
            f"from {local_time(first, calendar.zone)}")


def _first_business_moment(calendar: BusinessCalendar, starts_at: dt.datetime,
                           ends_at: dt.datetime) -> dt.datetime:
    day = starts_at.astimezone(calendar.zone).date() - dt.timedelta(days=1)
    while True:
        win = calendar.window(day)
        if win is not None and win[1] > starts_at and win[0] < ends_at:
            return max(win[0], starts_at)
        day += dt.timedelta(days=1)
