"""Auto follow-up (PureEngage 4.9; PureConnect "Auto Follow-Up Process").

Place in the flow: on the clock. When care requests information or proposes a solution the case
services leave three timers (``store.on_status_event``); the scheduler arms them at 2, 5 and 10
business days of the organization's calendar (``settings.follow_up_days``) and fires them here:
reminder #1 and #2 to the contact who opened the case (what was asked, a link to the case), then
the case is closed as Resolved by auto follow-up (the ``FOLLOW_UP_EXPIRED`` event) with a final
mail. Every mail carries the case's Reference ID, so a reply to a reminder lands on the case like
a reply to the analyst. A human reply from an allowed contact (status back to Open) stops the
timer; an auto-reply or a bounce never changes the status, so it never does. No automated
follow-ups for Incident/Critical cases.
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import select

from workflows.cases.service import audit, set_status
from workflows.cases.state import CaseEvent
from workflows.clock.store import (
    FOLLOW_UP_KINDS,
    FOLLOW_UP_STATUSES,
    STALE,
    CaseFacts,
    ClaimedTimer,
    FireContext,
    Fired,
    TimerKind,
    TimerOutcome,
    local_time,
)
from workflows.clock.targets import NO_FOLLOW_UP
from workflows.domain import Direction, OutboundKind, Resolution, UpdateKind
from workflows.outbound.compose import Parent, parent_of_outbound, queue_mail
from workflows.settings import Settings
from workflows.storage.models import CaseUpdate, OutboundMessage

log = logging.getLogger(__name__)
ACTOR = "system:follow-up"


def follow_up_due(kind: TimerKind, started_at: dt.datetime, facts: CaseFacts,
                  settings: Settings) -> dt.datetime | TimerOutcome:
    """When step ``kind`` of a follow-up cycle that started at ``started_at`` falls due (the
    steps count from the request, not from each other)."""
    if facts.severity in NO_FOLLOW_UP:
        return TimerOutcome.STALE
    days = settings.follow_up_days[FOLLOW_UP_KINDS.index(kind)]
    return facts.calendar.add_days(started_at, days)


def is_live(timer: ClaimedTimer, facts: CaseFacts) -> bool:
    """Still waiting on the customer, in the very cycle this timer belongs to."""
    return (facts.status in FOLLOW_UP_STATUSES
            and facts.follow_up_cycle == timer.started_at
            and facts.severity not in NO_FOLLOW_UP)


def fire_follow_up(ctx: FireContext, timer: ClaimedTimer, facts: CaseFacts) -> Fired:
    if not is_live(timer, facts):
        return STALE
    if timer.kind is TimerKind.FOLLOW_UP_CLOSE:
        return _close(ctx, timer, facts)
    return _remind(ctx, timer, facts, 1 if timer.kind is TimerKind.FOLLOW_UP_1 else 2)


def _asked(facts: CaseFacts) -> tuple[str, str | None]:
    return facts.last_post or ("", None)


def _parent(ctx: FireContext, message_id: str | None) -> Parent | None:
    """The analyst's post a reminder follows up, with the References it carried."""
    if message_id is None:
        return None
    row = ctx.session.scalars(select(OutboundMessage)
                              .where(OutboundMessage.message_id == message_id)).first()
    return parent_of_outbound(row) or Parent(message_id)


def _remind(ctx: FireContext, timer: ClaimedTimer, facts: CaseFacts, reminder: int) -> Fired:
    case, contact = facts.case, facts.contact
    days = ctx.settings.follow_up_days
    closes_at = facts.calendar.add_days(timer.started_at, days[2])
    audit(ctx.session, actor=ACTOR, action="case.follow_up", now=ctx.at, case_id=case.id,
          reminder=reminder)
    if contact is None:
        return Fired(TimerOutcome.RECORDED)
    asked, asked_id = _asked(facts)
    out = queue_mail(
        ctx.session, ctx.settings, ctx.key, kind=OutboundKind.FOLLOW_UP_REMINDER, case=case,
        to=(contact.email,), subject=f"Reminder: {case.subject or 'your case'}",
        context={"reminder": reminder, "contact_name": contact.name, "asked": asked,
                 "days": days[reminder - 1], "status": case.status,
                 "closes_on": local_time(facts, closes_at),
                 "case_url": ctx.settings.customer_link(case.number)},
        automated=True, now=ctx.at, parent=_parent(ctx, asked_id))
    return Fired(TimerOutcome.SENT, out.id)


def _close(ctx: FireContext, timer: ClaimedTimer, facts: CaseFacts) -> Fired:
    case, contact = facts.case, facts.contact
    days = ctx.settings.follow_up_days[2]
    set_status(ctx.session, case, CaseEvent.FOLLOW_UP_EXPIRED, ctx.at,
               resolution=Resolution.RESOLVED)
    note = (f"Closed as resolved by auto follow-up: no answer from the customer in {days} "
            "business days.")
    ctx.session.add(CaseUpdate(case_id=case.id, kind=UpdateKind.NOTE.value,
                               direction=Direction.INTERNAL.value, author=ACTOR,
                               visible_text=note, full_text=note, created_at=ctx.at))
    audit(ctx.session, actor=ACTOR, action="case.auto_close", now=ctx.at, case_id=case.id,
          started_at=timer.started_at.isoformat())
    log.info("%s closed by auto follow-up", case.number)
    if contact is None:
        return Fired(TimerOutcome.CLOSED)
    asked, asked_id = _asked(facts)
    out = queue_mail(
        ctx.session, ctx.settings, ctx.key, kind=OutboundKind.FOLLOW_UP_CLOSED, case=case,
        to=(contact.email,), subject=f"Case {case.number} closed: {case.subject}",
        context={"contact_name": contact.name, "asked": asked, "days": days,
                 "reopen_days": ctx.settings.reopen_days,
                 "case_url": ctx.settings.customer_link(case.number)},
        automated=True, now=ctx.at, parent=_parent(ctx, asked_id))
    return Fired(TimerOutcome.CLOSED, out.id)
