"""Escalations: to another ticket family by hand, and to management when a case goes unanswered.

Place in the flow: ``escalate_case`` is a case service (``ticketgate case escalate NUMBER --to
TSUP|PC``): it opens the linked case of the other family (LiveVox "Fulfillment Path": Technical
Support ``TSUP-n``, Project Coordination six digits), links both ways and tells the contact the
new number. The unanswered escalation is a timer (LiveVox: "escalation in 1 hour for
High/Critical"): still no analyst post an hour after opening (business hours for High, the wall
clock for Critical, as their response targets count) flags the case and notifies management, the
way an "Escalation Request" first line does (``workflows.inbound.decide``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from workflows.cases.service import audit, find_case, linked_cases, open_case
from workflows.clock.calendar import TimeUnit
from workflows.clock.store import (
    ALREADY,
    STALE,
    CaseFacts,
    ClaimedTimer,
    FireContext,
    Fired,
    TimerOutcome,
    local_time,
)
from workflows.clock.targets import ESCALATE_UNANSWERED, target_for
from workflows.domain import CaseStatus, Direction, Family, OutboundKind, Severity, UpdateKind
from workflows.errors import Refused
from workflows.outbound.compose import queue_mail
from workflows.outbound.htmltext import counted
from workflows.settings import Settings
from workflows.storage.models import Case, CaseUpdate, Contact, OutboundMessage

FAMILY_NAMES = {Family.CASE: "Customer Care", Family.TSUP: "Technical Support",
                Family.PC: "Project Coordination"}


def _note(session: Session, case: Case, text: str, actor: str, now: dt.datetime) -> None:
    session.add(CaseUpdate(case_id=case.id, kind=UpdateKind.NOTE.value,
                           direction=Direction.INTERNAL.value, author=actor, visible_text=text,
                           full_text=text, created_at=now))


@dataclass(frozen=True, slots=True)
class Escalated:
    original: str
    linked: str
    family: Family
    outbound_id: int | None  # the mail telling the contact; send it after commit


def escalate_case(session: Session, settings: Settings, key: bytes, *, number: str,
                  to: Family, now: dt.datetime, actor: str) -> Escalated:
    """Open the linked case of family ``to`` for ``number``'s organization and contact."""
    original = find_case(session, number)
    if to is Family.CASE:
        raise Refused("escalate to Technical Support (TSUP) or Project Coordination (PC)")
    if original.family == to.value:
        raise Refused(f"case {original.number} already is a {FAMILY_NAMES[to]} case")
    if original.status == CaseStatus.CLOSED.value:
        raise Refused(f"case {original.number} is closed: reopen it before escalating")
    # One open escalation per family: a second TSUP case for the same problem would split the
    # work; escalating to Project Coordination as well (or again, once TSUP closed) is normal.
    for other in linked_cases(session, original):
        if other.family == to.value and other.status != CaseStatus.CLOSED.value:
            raise Refused(f"case {original.number} is already escalated to "
                          f"{FAMILY_NAMES[to]} as {other.number}")
    contact = session.get(Contact, original.contact_id) if original.contact_id else None
    if contact is None:
        raise Refused(f"case {original.number} has no contact to open the escalation for")
    new = open_case(session, organization_id=original.organization_id, contact=contact,
                    subject=original.subject, family=to, severity=Severity(original.severity),
                    case_type=original.case_type, sub_type=original.sub_type, now=now,
                    actor=actor)
    new.linked_case_id = original.id  # DOMAIN.md: the escalation keeps a pointer to the original
    if original.linked_case_id is None:  # and the original its first escalation (`linked_case`)
        original.linked_case_id = new.id
    original.updated_at = now
    family = FAMILY_NAMES[to]
    _note(session, original, f"Escalated to {family} as {new.number}.", actor, now)
    _note(session, new, f"Escalated from {original.number}.", actor, now)
    audit(session, actor=actor, action="case.escalate_family", now=now, case_id=original.id,
          linked=new.number, family=to.value)
    out: OutboundMessage | None = None
    if contact.email:
        # Under the new case's Reference ID: replies go to the team now working on it.
        out = queue_mail(
            session, settings, key, kind=OutboundKind.CASE_ESCALATED, case=new,
            to=(contact.email,), subject=f"Case {original.number} escalated to {family}: "
            f"{new.number}", automated=True, now=now, context={
                "contact_name": contact.name, "original": original.number,
                "family": family, "subject": original.subject,
                "case_url": settings.customer_link(new.number)})
    return Escalated(original.number, new.number, to, out.id if out else None)


# -- the unanswered escalation timer -------------------------------------------------------------
def unanswered_due(started_at: dt.datetime, facts: CaseFacts, settings: Settings
                   ) -> dt.datetime | TimerOutcome:
    if facts.severity not in ESCALATE_UNANSWERED:
        return TimerOutcome.STALE
    response = target_for(settings.sla_targets, facts.severity).response
    unit = TimeUnit.BUSINESS_HOURS if response.unit.business else TimeUnit.HOURS
    return facts.calendar.advance(unit, started_at, settings.escalate_unanswered_hours * 3600)


def is_live(timer: ClaimedTimer, facts: CaseFacts) -> bool:
    """Still unanswered (no analyst post), still open, still High/Critical."""
    return (facts.first_post_at is None and facts.status is not CaseStatus.CLOSED
            and facts.severity in ESCALATE_UNANSWERED)


def fire_unanswered(ctx: FireContext, timer: ClaimedTimer, facts: CaseFacts) -> Fired:
    case = facts.case
    if not is_live(timer, facts):
        return STALE
    if case.escalated:
        return ALREADY  # the customer's escalation request already flagged it and told them
    case.escalated = True
    case.updated_at = ctx.at
    # How long the case waited, in the unit ``unanswered_due`` counted it in (business hours
    # when the response target is): "1 business hour", "2 hours".
    business = target_for(ctx.settings.sla_targets, facts.severity).response.unit.business
    waited = counted(f"{ctx.settings.escalate_unanswered_hours:g}",
                     "business hour" if business else "hour")
    _note(ctx.session, case, f"Escalated: no answer {waited} after opening.",
          "system:sla", ctx.at)
    address = ctx.settings.escalation_address or ctx.settings.care_team_address
    audit(ctx.session, actor="system:sla", action="case.escalate", now=ctx.at, case_id=case.id,
          reason="unanswered", notified=address)
    if not address:
        return Fired(TimerOutcome.ESCALATED)
    out = queue_mail(
        ctx.session, ctx.settings, ctx.key, kind=OutboundKind.UNANSWERED_ESCALATION, case=None,
        to=(address,), subject=f"Unanswered {case.severity} case escalated: {case.number} "
        f"{case.subject}", automated=True, now=ctx.at, context={
            "number": case.number, "subject": case.subject, "severity": case.severity,
            "organization": facts.organization.name, "waited": waited,
            "opened_at": local_time(facts, case.created_at),
            "case_url": ctx.settings.console_link(case.number)})
    out.case_id = case.id
    return Fired(TimerOutcome.ESCALATED, out.id)
