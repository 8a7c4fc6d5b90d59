"""What a console form or an API call does: one domain service, one transaction, then send.

Place in the flow: between the HTTP routes and the domain, exactly where ``gateway.cli.commands``
sits for the CLI: each action opens ``rt.db.transaction()``, calls the service (which audits who
did what, when), commits, and only then sends the mail it queued (``rt.send_outbox``), so a
failed send never undoes a committed decision and an uncommitted one never sends mail.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy.orm import Session

from gateway.http.accounts import Principal
from parsing import parse
from workflows.cases import assignment, directory, notes
from workflows.cases import mail as case_mail
from workflows.cases import service as cases
from workflows.cases.blocklist import block_sender
from workflows.cases.service import audit
from workflows.clock import escalation as timer_escalation
from workflows.domain import Family, OutboundKind, Severity
from workflows.errors import Refused
from workflows.inbound import triage
from workflows.inbound.process import ProcessResult
from workflows.inbound.queue import retry_failed
from workflows.outbound.compose import Parent, queue_mail
from workflows.outbound.files import SentFile, Upload, files_of
from workflows.runtime import Runtime

log = logging.getLogger(__name__)


class TriageAction(StrEnum):
    LINK = "link"
    OPEN = "open"
    REOPEN = "reopen"
    DISCARD = "discard"
    BLOCK = "block"  # block the sender and discard this item
    REPLY = "reply"  # answer the sender; the item stays pending


class PostAction(StrEnum):
    POST = "post"
    REQUEST_INFO = "request_info"
    PROPOSE_SOLUTION = "propose_solution"


@dataclass(frozen=True, slots=True)
class TriageResult:
    item_id: int
    action: TriageAction
    case: str | None
    status: str | None
    message_id: str | None = None  # the reply's Message-ID
    sent: bool | None = None


@dataclass(frozen=True, slots=True)
class CaseResult:
    number: str
    status: str
    message_id: str | None = None
    sent: bool | None = None
    attachments: tuple[SentFile, ...] = ()


def _reply_to_sender(session: Session, rt: Runtime, principal: Principal, item_id: int,
                     body: str) -> tuple[int, str]:
    item, row = triage.pending_item(session, item_id)
    if not body.strip():
        raise Refused("the reply is empty")
    mail = parse(row.raw, key=rt.key)
    if mail.from_ is None:
        raise Refused("the message has no sender to reply to")
    subject = mail.subject or "your message"
    if not subject.lower().startswith("re:"):
        subject = f"Re: {subject}"
    # No case yet, so no Reference ID: the sender's answer comes back to triage, not to a case.
    out = queue_mail(session, rt.settings, rt.key, kind=OutboundKind.TRIAGE_REPLY, case=None,
                     to=(mail.from_.email,), subject=subject, context={"body": body},
                     automated=False, now=rt.now(),
                     parent=Parent(row.message_id, mail.references))
    audit(session, actor=principal.actor, action="triage.reply", now=rt.now(),
          inbound_id=row.id, item=item.id, message_id=out.message_id)
    return out.id, out.message_id


def act_on_triage(rt: Runtime, principal: Principal, item_id: int, action: TriageAction, *,
                  case: str | None = None, flip_status: bool = True, body: str = "",
                  reason: str = "") -> TriageResult:
    actor, now = principal.actor, rt.now()
    acks: list[int] = []
    out_id: int | None = None
    message_id: str | None = None
    with rt.db.transaction() as s:
        found = None
        if action is TriageAction.LINK:
            if not (case or "").strip():
                raise Refused("name the case to link to")
            found = triage.link(s, rt.settings, rt.key, item_id=item_id, number=case or "",
                                actor=actor, now=now, flip_status=flip_status)
        elif action is TriageAction.REOPEN:
            found = triage.reopen(s, rt.settings, rt.key, item_id=item_id,
                                  number=(case or "").strip() or None, actor=actor, now=now)
        elif action is TriageAction.OPEN:
            found = triage.open_for_sender(s, rt.settings, rt.key, item_id=item_id,
                                           actor=actor, now=now)
            acks = case_mail.queued_ids(s, found.id)  # the acknowledgement, if configured
        elif action is TriageAction.DISCARD:
            triage.discard(s, item_id=item_id, actor=actor, now=now)
        elif action is TriageAction.BLOCK:
            _item, row = triage.pending_item(s, item_id)
            if not row.from_address:
                raise Refused("the message has no sender to block")
            block_sender(s, email=row.from_address, reason=reason or f"triage item {item_id}",
                         actor=principal.actor, now=rt.now())
            triage.discard(s, item_id=item_id, actor=actor, now=now)
        else:
            out_id, message_id = _reply_to_sender(s, rt, principal, item_id, body)
        number = found.number if found else None
        status = found.status if found else None
    sent = None
    if out_id is not None:
        sent = rt.send_outbox([out_id]).sent == 1
    if acks:
        rt.send_outbox(acks)
    log.info("triage item %s: %s by %s", item_id, action.value, principal.role.value)
    return TriageResult(item_id, action, number, status, message_id, sent)


def post_to_case(rt: Runtime, principal: Principal, number: str, body: str,
                 action: PostAction, attachments: Sequence[Upload] = (),
                 cc: Sequence[str] = ()) -> CaseResult:
    with rt.db.transaction() as s:
        out = cases.post_update(s, rt.settings, rt.key, number=number, body=body,
                                action=None if action is PostAction.POST else action.value,
                                now=rt.now(), actor=principal.actor, attachments=attachments,
                                cc=cc)
        out_id, message_id = out.id, out.message_id
        found = cases.find_case(s, number)
        number, status = found.number, found.status
        files = tuple(files_of(s, out_id))
    report = rt.send_outbox([out_id])
    return CaseResult(number, status, message_id, report.sent == 1, files)


def close_case(rt: Runtime, principal: Principal, number: str, *, cancelled: bool
               ) -> CaseResult:
    with rt.db.transaction() as s:
        found = cases.close_case(s, number=number, cancelled=cancelled, now=rt.now(),
                                 actor=principal.actor)
        closed = case_mail.closed_mail_if_configured(s, rt.settings, rt.key, case=found,
                                                     now=rt.now())
        result = CaseResult(found.number, found.status)
    if closed is not None:
        rt.send_outbox([closed.id])
    return result


def reopen_case(rt: Runtime, principal: Principal, number: str) -> CaseResult:
    with rt.db.transaction() as s:
        found = cases.reopen_case(s, number=number, reopen_days=rt.settings.reopen_days,
                                  now=rt.now(), actor=principal.actor)
        return CaseResult(found.number, found.status)


def open_case(rt: Runtime, principal: Principal, *, organization: str, contact: str,
              subject: str, family: Family, severity: Severity, case_type: str
              ) -> CaseResult:
    if not subject.strip():
        raise Refused("a case needs a subject")
    with rt.db.transaction() as s:
        org = directory.find_organization(s, organization)
        person = directory.find_contact(s, contact)
        found = cases.open_case(s, organization_id=org.id, contact=person, subject=subject,
                                family=family, severity=severity, case_type=case_type,
                                now=rt.now(), actor=principal.actor)
        ack = case_mail.acknowledge_if_configured(s, rt.settings, rt.key, case=found,
                                                  now=rt.now())
        result = CaseResult(found.number, found.status)
    if ack is not None:
        rt.send_outbox([ack.id])
    return result


def escalate_case(rt: Runtime, principal: Principal, number: str, to: Family) -> CaseResult:
    """Open the linked case of another family (TSUP, PC) and tell the contact its number."""
    with rt.db.transaction() as s:
        done = timer_escalation.escalate_case(s, rt.settings, rt.key, number=number, to=to,
                                              now=rt.now(), actor=principal.actor)
        linked, out_id = done.linked, done.outbound_id
        status = cases.find_case(s, linked).status
    sent = rt.send_outbox([out_id]).sent == 1 if out_id else None
    return CaseResult(linked, status, None, sent)


def retry_failed_messages(rt: Runtime, principal: Principal, ids: list[int] | None
                          ) -> list[ProcessResult]:
    results = retry_failed(rt, ids)
    with rt.db.transaction() as s:
        audit(s, actor=principal.actor, action="failed.retry", now=rt.now(),
              ids=[r.inbound_id for r in results])
    return results


@dataclass(frozen=True, slots=True)
class OwnerResult:
    number: str
    owner: str | None


def assign_case(rt: Runtime, principal: Principal, number: str, owner: str | None
                ) -> OwnerResult:
    """Give the case to ``owner`` (an email) or to nobody; audited as the principal."""
    with rt.db.transaction() as s:
        found = assignment.assign(s, number=number, owner=owner, actor=principal.actor,
                                  now=rt.now())
        return OwnerResult(found.number, assignment.owner_email(s, found))


@dataclass(frozen=True, slots=True)
class NoteResult:
    number: str
    note_id: int
    attachments: tuple[str, ...]


def add_note(rt: Runtime, principal: Principal, number: str, body: str,
             attachments: Sequence[Upload] = ()) -> NoteResult:
    """An internal note (staff only): nothing is queued, so nothing is sent."""
    with rt.db.transaction() as s:
        note = notes.add_note(s, rt.settings, number=number, body=body, actor=principal.actor,
                              now=rt.now(), attachments=attachments)
        found = cases.find_case(s, number)
        return NoteResult(found.number, note.id, tuple(notes.note_files(s, note.id)))
