"""Case services: open, post an analyst's update, close, reopen, and the case view.

Place in the flow: called by the CLI (and later the console/API) and by ``workflows.inbound.apply``
when new mail opens a case. Every status change goes through ``workflows.cases.state`` and leaves a
``CaseStatusChange`` row and an audit event; outbound mail is queued in the same transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.cases.state import CaseEvent, InvalidTransition, next_status
from workflows.clock.store import on_status_event, start_case_clocks
from workflows.clock.targets import NO_FOLLOW_UP
from workflows.domain import (
    FIRST_NUMBER,
    CaseStatus,
    Direction,
    Family,
    OutboundKind,
    Resolution,
    Severity,
    UpdateKind,
    format_case_number,
)
from workflows.errors import NotFound, Refused
from workflows.outbound import files as outgoing_files
from workflows.outbound import headers as mailheaders
from workflows.outbound.compose import Parent, checked_address, parent_of_inbound, queue_mail
from workflows.search.index import index_case, index_update
from workflows.settings import Settings
from workflows.storage.bulk import add_row
from workflows.storage.models import (
    AuditEvent,
    Case,
    CaseSequence,
    CaseStatusChange,
    CaseUpdate,
    Contact,
    InboundMessage,
    OutboundMessage,
)


def audit(session: Session, *, actor: str, action: str, now: dt.datetime,
          case_id: int | None = None, inbound_id: int | None = None,
          **detail: Any) -> None:
    # Append-only: a Core INSERT at the end of a processing batch (workflows.storage.bulk).
    add_row(session, AuditEvent, at=now, actor=actor, action=action, case_id=case_id,
            inbound_message_id=inbound_id, detail=detail)


def _files_detail(stored: Sequence[Any]) -> dict[str, Any]:
    """The audit detail naming the files an update sent (none: nothing)."""
    return {"attachments": [a.filename for a in stored]} if stored else {}


def _cc_detail(added: Sequence[str]) -> dict[str, Any]:
    """The audit detail naming the addresses a post added to the case's Cc (none: nothing)."""
    return {"cc_added": list(added)} if added else {}


def _next_number(session: Session, family: Family) -> str:
    seq = session.scalars(
        select(CaseSequence).where(CaseSequence.family == family.value).with_for_update()
    ).first()
    if seq is None:
        seq = CaseSequence(family=family.value, next_value=FIRST_NUMBER[family])
        session.add(seq)
    value = seq.next_value
    seq.next_value = value + 1
    session.flush()
    return format_case_number(family, value)


def find_case(session: Session, number: str) -> Case:
    case = session.scalars(select(Case).where(Case.number == number.strip().upper())).first()
    if case is None:
        raise NotFound(f"no case {number}")
    return case


def linked_cases(session: Session, case: Case) -> list[Case]:
    """Cases linked to ``case`` by escalation, either way, oldest first. An escalated case
    points at its original (``linked_case_id``); an original may have several escalations
    (one per family), found by that pointer. Reads only."""
    # ``Case.id == None`` renders ``IS NULL``: no row, when the case points nowhere.
    return list(session.scalars(
        select(Case).where((Case.linked_case_id == case.id) | (Case.id == case.linked_case_id),
                           Case.id != case.id).order_by(Case.id)))


def set_status(session: Session, case: Case, event: CaseEvent, now: dt.datetime,
               *, resolution: Resolution | None = None) -> None:
    """Apply ``event`` through the state machine, recording the change."""
    old = CaseStatus(case.status)
    try:
        new = next_status(old, event)
    except InvalidTransition as exc:
        raise Refused(f"case {case.number}: {exc}") from None
    # Before the no-change return: a new request while Awaiting Info restarts the follow-up.
    on_status_event(session, case, old, new, event, now)
    if new is old:
        return
    case.status = new.value
    case.status_changed_at = now
    case.updated_at = now
    if new is CaseStatus.CLOSED:
        case.closed_at = now
        case.resolution = (resolution or Resolution.RESOLVED).value
    elif old is CaseStatus.CLOSED:
        case.closed_at = None
        case.resolution = None
    session.add(CaseStatusChange(case_id=case.id, from_status=old.value, to_status=new.value,
                                 event=event.value, at=now))


def open_case(session: Session, *, organization_id: int, contact: Contact, subject: str,
              family: Family = Family.CASE, severity: Severity = Severity.MEDIUM,
              case_type: str = "support", sub_type: str | None = None,
              now: dt.datetime, actor: str) -> Case:
    if contact.organization_id != organization_id:
        raise Refused(f"{contact.email} is not a contact of that organization")
    case = Case(
        number=_next_number(session, family), family=family.value,
        organization_id=organization_id, contact_id=contact.id,
        # Every mail of the case carries the subject: stored as a header value that decodes to
        # itself (no CR/LF/NUL, no bidi overrides), whether it came from mail, CLI or API.
        subject=mailheaders.text(subject),
        case_type=case_type, sub_type=sub_type, severity=severity.value,
        status=CaseStatus.OPEN.value, escalated=False,
        created_at=now, updated_at=now, status_changed_at=now,
    )
    session.add(case)
    session.flush()
    session.add(CaseStatusChange(case_id=case.id, from_status=None, to_status=case.status,
                                 event="opened", at=now))
    start_case_clocks(session, case, now)
    index_case(session, case)
    audit(session, actor=actor, action="case.open", now=now, case_id=case.id,
          number=case.number)
    return case


POST_EVENTS = {
    None: CaseEvent.ANALYST_POSTED,
    "request_info": CaseEvent.ANALYST_REQUESTED_INFO,
    "propose_solution": CaseEvent.ANALYST_PROPOSED_SOLUTION,
}


def post_update(session: Session, settings: Settings, key: bytes, *, number: str, body: str,
                action: str | None, now: dt.datetime, actor: str,
                attachments: Sequence[outgoing_files.Upload] = (),
                cc: Sequence[str] = ()) -> OutboundMessage:
    """An analyst's update: mailed to the case contact, status moved per the state machine.

    ``attachments`` go out with the mail and are stored on the case (``files_of(out.id)``);
    they are checked first, so a refused file leaves nothing changed, queued or stored.
    ``cc`` addresses join the case's Cc list (``case.cc``), which every later post is copied
    to; a Cc'd person who is not a designated contact still cannot change the case by reply
    (``workflows.inbound.decide``: their reply goes to triage)."""
    case = find_case(session, number)
    if not body.strip():
        raise Refused("the update is empty")
    added_cc = [a for a in (checked_address(c).lower() for c in cc) if a not in (case.cc or ())]
    files = outgoing_files.prepare(attachments, outgoing_files.Limits.of(settings))
    set_status(session, case, POST_EVENTS[action], now)
    contact = session.get(Contact, case.contact_id) if case.contact_id else None
    if contact is None:
        raise Refused(f"case {case.number} has no contact to write to")
    if added_cc:
        case.cc = sorted({*(case.cc or ()), *added_cc} - {contact.email})
    last_in = session.scalars(
        select(CaseUpdate).where(CaseUpdate.case_id == case.id,
                                 CaseUpdate.direction == Direction.INBOUND.value)
        .order_by(CaseUpdate.id.desc())
    ).first()
    out = queue_mail(
        session, settings, key, kind=OutboundKind.ANALYST_POST, case=case, to=(contact.email,),
        subject=case.subject or f"Case {case.number}",
        context={"body": body, "request_info": action == "request_info",
                 "propose_solution": action == "propose_solution",
                 # A proposal closes by itself after the last follow-up (PureEngage 4.9),
                 # except for the severities that get no automated follow-ups.
                 "closes_after_days": None if Severity(case.severity) in NO_FOLLOW_UP
                 else settings.follow_up_days[-1]},
        automated=False, now=now,
        parent=_parent(session, last_in), files=files,
        cc=tuple(case.cc or ()),
    )
    stored = outgoing_files.store(session, settings, files, case_id=case.id,
                                  outbound_id=out.id, now=now)
    update = CaseUpdate(case_id=case.id, kind=UpdateKind.POST.value,
                        direction=Direction.OUTBOUND.value, author=actor, visible_text=body,
                        full_text=body, outbound_message_id=out.id, created_at=now)
    session.add(update)
    index_update(session, update)
    case.updated_at = now
    audit(session, actor=actor, action="case.post", now=now, case_id=case.id,
          message_id=out.message_id, status=case.status,
          **_files_detail(stored), **_cc_detail(added_cc))
    return out


def _parent(session: Session, update: CaseUpdate | None) -> Parent | None:
    """The customer's mail a post answers, with its References (the chain continues)."""
    if update is None or update.inbound_message_id is None:
        return None
    return parent_of_inbound(session.get(InboundMessage, update.inbound_message_id))


def close_case(session: Session, *, number: str, cancelled: bool, now: dt.datetime,
               actor: str) -> Case:
    case = find_case(session, number)
    set_status(session, case, CaseEvent.CLOSED, now,
               resolution=Resolution.CANCELLED if cancelled else Resolution.RESOLVED)
    audit(session, actor=actor, action="case.close", now=now, case_id=case.id,
          resolution=case.resolution)
    return case


def reopen_case(session: Session, *, number: str, reopen_days: int, now: dt.datetime,
                actor: str) -> Case:
    """Reopen a closed case within ``reopen_days`` of closure (PureEngage 4.11)."""
    case = find_case(session, number)
    if case.status != CaseStatus.CLOSED.value:
        raise Refused(f"case {case.number} is not closed")
    assert case.closed_at is not None
    if now - case.closed_at > dt.timedelta(days=reopen_days):
        raise Refused(f"case {case.number} was closed on {case.closed_at:%Y-%m-%d}, more than "
                      f"{reopen_days} days ago: open a new case instead")
    set_status(session, case, CaseEvent.REOPENED, now)
    audit(session, actor=actor, action="case.reopen", now=now, case_id=case.id)
    return case
