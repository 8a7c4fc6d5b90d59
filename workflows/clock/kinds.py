"""One table from timer kind to its three rules: when it falls due, whether it is live, what
it does.

Place in the flow: the scheduler arms and fires through ``due_of`` and ``fire``; the case view
uses ``due_of`` and ``is_live`` to show what is pending.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from workflows.clock import escalation, followup, sla
from workflows.clock.store import (
    FOLLOW_UP_KINDS,
    CaseFacts,
    ClaimedTimer,
    FireContext,
    Fired,
    TimerKind,
    TimerOutcome,
    next_step,
)
from workflows.settings import Settings


def due_of(kind: TimerKind, started_at: dt.datetime, facts: CaseFacts, settings: Settings
           ) -> dt.datetime | TimerOutcome:
    """When a timer falls due, or the outcome it gets at once because it never will."""
    if kind in FOLLOW_UP_KINDS:
        return followup.follow_up_due(kind, started_at, facts, settings)
    if kind is TimerKind.UNANSWERED:
        return escalation.unanswered_due(started_at, facts, settings)
    return sla.sla_due(kind, started_at, facts, settings)


def is_live(timer: ClaimedTimer, facts: CaseFacts) -> bool:
    """Whether the timer's clock still runs, so that it would act when it falls due."""
    live: Callable[[ClaimedTimer, CaseFacts], bool] = sla.is_live
    if timer.kind in FOLLOW_UP_KINDS:
        live = followup.is_live
    elif timer.kind is TimerKind.UNANSWERED:
        live = escalation.is_live
    return live(timer, facts)


def fire(ctx: FireContext, timer: ClaimedTimer, facts: CaseFacts) -> Fired:
    """Act on a claimed timer (its side effects join the caller's transaction)."""
    if timer.kind in FOLLOW_UP_KINDS:
        return followup.fire_follow_up(ctx, timer, facts)
    if timer.kind is TimerKind.UNANSWERED:
        return escalation.fire_unanswered(ctx, timer, facts)
    return sla.fire_sla(ctx, timer, facts)


def first_step(kind: TimerKind, started_at: dt.datetime, facts: CaseFacts, settings: Settings
               ) -> tuple[TimerKind, dt.datetime | TimerOutcome]:
    """The step a new row arms as: its own, or a later one when its notice already went out
    in an earlier run of the clock (once per case)."""
    due = due_of(kind, started_at, facts, settings)
    while due is TimerOutcome.ALREADY and (following := next_step(kind)) is not None:
        kind, due = following, due_of(following, started_at, facts, settings)
    return kind, due


def acting_step(timer: ClaimedTimer, facts: CaseFacts, settings: Settings, at: dt.datetime
                ) -> tuple[ClaimedTimer, list[TimerKind]]:
    """The step a due row acts as: the last step of its clock that is due at ``at`` (after an
    outage the auto-close goes out, not two late reminders first), and the steps it skips."""
    skipped: list[TimerKind] = []
    while (following := next_step(timer.kind)) is not None:
        due = due_of(following, timer.started_at, facts, settings)
        if not isinstance(due, dt.datetime) or due > at:
            break
        skipped.append(timer.kind)
        timer = ClaimedTimer(timer.id, timer.case_id, following, timer.started_at, due)
    return timer, skipped
