"""SLA clocks of one case: how much of each target is used, what is left, when it breaches.

Place in the flow: pure arithmetic over a case's history on its business calendar. The scheduler
uses it to arm the SLA timers, ``case show`` to print the clocks, and ``sla report`` to count
cases resolved within target. Rules (DOMAIN.md "Service level targets"): the response clock runs
from opening to the first analyst post; the resolution clock runs while the case is Open and does
not run while it is Awaiting Info or Solution Proposed (or Closed; a reopen resumes it).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from workflows.clock.calendar import BusinessCalendar, Duration
from workflows.domain import CaseStatus

Span = tuple[dt.datetime, dt.datetime]


class ClockState(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"


@dataclass(frozen=True, slots=True)
class Clock:
    name: str  # "response" or "resolution"
    target: str  # as configured: "4bh", "5bd", "24h"
    state: ClockState
    elapsed_seconds: int  # business seconds for business targets, else wall-clock seconds
    remaining_seconds: int  # negative once breached
    breached: bool
    due_at: dt.datetime | None  # when it breaches, while it runs
    stopped_at: dt.datetime | None


def running_spans(created_at: dt.datetime,
                  changes: Sequence[tuple[dt.datetime, CaseStatus]],
                  until: dt.datetime) -> list[Span]:
    """The intervals up to ``until`` during which the resolution clock ran (status Open)."""
    spans: list[Span] = []
    since: dt.datetime | None = None if changes else created_at
    for at, status in changes:
        if at > until:
            break
        if status is CaseStatus.OPEN:
            if since is None:
                since = at
        elif since is not None:
            spans.append((since, at))
            since = None
    if since is not None and until > since:
        spans.append((since, until))
    return spans


def used(calendar: BusinessCalendar, target: Duration, spans: Sequence[Span]) -> float:
    return sum(calendar.measure(target.unit, start, end) for start, end in spans)


def deadline(calendar: BusinessCalendar, target: Duration, start: dt.datetime,
             spent: float, *, share_left: float = 0.0) -> dt.datetime:
    """When a clock that resumes at ``start`` with ``spent`` seconds used reaches the point
    where ``share_left`` of the target is left (0: the breach). Already past: ``start``."""
    budget = target.seconds(calendar)
    return calendar.advance(target.unit, start, budget * (1 - share_left) - spent)


def response_clock(calendar: BusinessCalendar, target: Duration, *, created_at: dt.datetime,
                   first_post_at: dt.datetime | None, closed_at: dt.datetime | None,
                   now: dt.datetime) -> Clock:
    stop = first_post_at or closed_at
    end = min(stop, now) if stop else now
    elapsed = calendar.measure(target.unit, created_at, end)
    budget = target.seconds(calendar)
    running = stop is None or stop > now
    return Clock("response", str(target),
                 ClockState.RUNNING if running else ClockState.STOPPED,
                 round(elapsed), round(budget - elapsed), elapsed > budget,
                 deadline(calendar, target, created_at, 0.0) if running else None,
                 None if running else stop)


def resolution_clock(calendar: BusinessCalendar, target: Duration, *, created_at: dt.datetime,
                     status: CaseStatus, closed_at: dt.datetime | None,
                     changes: Sequence[tuple[dt.datetime, CaseStatus]],
                     now: dt.datetime) -> Clock:
    spans = running_spans(created_at, changes, now)
    elapsed = used(calendar, target, spans)
    budget = target.seconds(calendar)
    due = None
    if status is CaseStatus.OPEN and spans:
        start = spans[-1][0]
        due = deadline(calendar, target, start, used(calendar, target, spans[:-1]))
        state = ClockState.RUNNING
    elif status is CaseStatus.CLOSED:
        state = ClockState.STOPPED
    else:
        state = ClockState.PAUSED
    return Clock("resolution", str(target), state, round(elapsed), round(budget - elapsed),
                 elapsed > budget, due, closed_at if status is CaseStatus.CLOSED else None)
