"""Carry out a ``Decision``: the one function that turns effects into rows.

Place in the flow: right after ``workflows.inbound.decide``, in the same transaction as the snapshot
it was decided on. The message's outcome, the case change, the update, the attachments, the triage
item, the audit event and the outbox rows commit together or not at all; outbound mail is only
queued here and sent after commit by ``workflows.outbound.outbox``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table
from sqlalchemy.orm import Session

from parsing import AutomationClass, ParsedMail
from workflows.cases import assignment
from workflows.cases import mail as case_mail
from workflows.cases.blocklist import BLOCKLIST_ACTOR, is_blocked
from workflows.cases.service import audit, find_case, open_case, set_status
from workflows.domain import (
    Direction,
    MessageStatus,
    OutboundKind,
    OutboundStatus,
    TriageState,
    UpdateKind,
)
from workflows.inbound.decision import (
    AddUpdate,
    ChangeStatus,
    Decision,
    FlagEscalated,
    MarkBounced,
    MarkNoticeBounced,
    OpenCase,
    QueueTriage,
    RecordComplaint,
    RecordNoticeInquiry,
    SendMail,
)
from workflows.inbound.floods import remember_opened
from workflows.inbound.rows import InboundRow
from workflows.notices.bounces import mark_delivery_bounced, record_complaint, suppress
from workflows.notices.inquiries import record_inquiry
from workflows.outbound.compose import Parent, queue_mail
from workflows.outbound.htmltext import zoned_day
from workflows.search.index import index_update, update_document
from workflows.settings import Settings
from workflows.storage.blobs import store_blob
from workflows.storage.bulk import insert_buffer, set_columns
from workflows.storage.columns import loaded
from workflows.storage.models import (
    Attachment,
    Case,
    CaseUpdate,
    Contact,
    InboundMessage,
    Organization,
    OutboundMessage,
    SearchDocument,
    TriageItem,
)

ACTOR = "system"
# The enums are StrEnums: ``str(member)`` is its value, without Python 3.11's ``.value``
# descriptor (1.1 us a read against 0.3; seven reads a bench reply here). Constants once.
_INBOUND = Direction.INBOUND.value
_PROCESSED = MessageStatus.PROCESSED.value
CASE_UPDATES: Table = CaseUpdate.__table__  # type: ignore[assignment]
SEARCH_DOCUMENTS: Table = SearchDocument.__table__  # type: ignore[assignment]


@dataclass(frozen=True, slots=True)
class Applied:
    case_number: str | None
    outbound_ids: tuple[int, ...]


# The most of a reply's HTML kept (as its raw bytes are: a 25 MB mail is rare, and nobody
# reads 2 MB of one in the console's frame).
MAX_HTML = 2_000_000


def html_to_keep(html: str | None) -> str | None:
    """The reply's HTML as the mail carried it, for the console's mail frame: NOT sanitized.

    Every way it is shown cleans it first (``gateway.http.mailview.frame_document``, nh3, then
    a sandboxed frame with a CSP that runs and loads nothing), as the triage page always did
    with the raw mail's HTML; no API, CLI or export reads the column. Cleaning it here as well
    cost every processed reply 0.31 M instructions (7% of ``ingest``, issue 15) for a frame
    that is opened for few of them, and cleaned the stored copy again anyway. Rows written
    before hold the cleaned copy, which cleans to itself."""
    if not html:
        return None
    return html[:MAX_HTML]


def store_attachments(session: Session, settings: Settings, row: InboundMessage | InboundRow,
                      mail: ParsedMail, case_id: int | None, now: dt.datetime) -> None:
    for att in mail.attachments:
        digest = store_blob(settings.blob_dir, att.payload)
        session.add(Attachment(
            case_id=case_id, inbound_message_id=row.id, sha256=digest, size=len(att.payload),
            content_type=att.content_type, filename=att.filename, inline=att.inline,
            created_at=now,
        ))


@dataclass(frozen=True, slots=True)
class AddedUpdate:
    """What the rest of a decision needs of the update ``add_update`` recorded."""

    author: str
    visible_text: str


def add_update(session: Session, settings: Settings, case: Case,
               row: InboundMessage | InboundRow,
               mail: ParsedMail, kind: UpdateKind, now: dt.datetime) -> AddedUpdate:
    """Record ``row`` on ``case`` (once: the update is unique per inbound message), and make
    it searchable in the same transaction.

    In processing's batch (an insert buffer on the session) the update is a plain row, written
    with the batch's others in one INSERT, and its search document follows with
    the id it got: as an ORM object each update cost about 0.4 ms of instance and flush
    bookkeeping (issue 15's profile: a fifth of processing once parsing was cut)."""
    author = (mail.from_.email if mail.from_ else row.envelope_from) or ""
    case_id, row_id = loaded(case, "id"), loaded(row, "id")
    values: dict[str, Any] = {
        "case_id": case_id, "kind": str(kind), "direction": _INBOUND,
        "author": author,
        "author_name": mail.from_.name[:200] if mail.from_ and mail.from_.name else None,
        "visible_text": mail.visible_reply, "full_text": mail.text,
        "html": html_to_keep(mail.html), "inbound_message_id": row_id,
        "outbound_message_id": None, "created_at": now,
    }
    buffer = insert_buffer(session)
    if buffer is not None and case_id is not None and row_id is not None:
        # Found again by its inbound message: one update per inbound message (unique).
        buffer.add_returning(CASE_UPDATES, values, "inbound_message_id",
                             lambda update_id: buffer.add(
                                 SEARCH_DOCUMENTS, update_document(values, update_id)))
    else:
        update = CaseUpdate(**values)
        session.add(update)
        index_update(session, update)
    if kind is UpdateKind.REPLY:
        store_attachments(session, settings, row, mail, case.id, now)
        case.updated_at = now
    return AddedUpdate(author, mail.visible_reply)


def _case(session: Session, number: str) -> Case:
    """The case by number, cached on the session: apply looks the same case up several
    times per message, and a batch touches the same few cases over and over."""
    cache: dict[str, Case] = session.info.setdefault("cases_by_number", {})
    case = cache.get(number)
    if case is None:
        case = cache[number] = find_case(session, number)
    return case


def apply(session: Session, settings: Settings, key: bytes, row: InboundMessage | InboundRow,
          mail: ParsedMail, decision: Decision, now: dt.datetime) -> Applied:
    case_number = decision.case_number
    outbound: list[OutboundMessage] = []
    # The owner's mail says the status the reply left the case in: the ChangeStatus effect
    # comes after AddUpdate, so it is written once every effect is applied.
    replies: list[tuple[Case, AddedUpdate]] = []
    blocked = False
    for effect in decision.effects:
        match effect:
            case AddUpdate(number, kind):
                case = _case(session, number)
                update = add_update(session, settings, case, row, mail, kind, now)
                if kind is UpdateKind.REPLY:
                    replies.append((case, update))
            case ChangeStatus(number, _to, event):
                set_status(session, _case(session, number), event, now)
            case FlagEscalated(number):
                case = _case(session, number)
                case.escalated = True
                audit(session, actor=ACTOR, action="case.escalate", now=now, case_id=case.id,
                      inbound_id=row.id, notified=settings.escalation_address)
            case QueueTriage(reason, suggested):
                suggested_id = _case(session, suggested).id if suggested else None
                # An admin blocked this sender (workflows.cases.blocklist): discard on arrival.
                blocked = is_blocked(session, mail.from_.email if mail.from_ else None)
                session.add(TriageItem(
                    inbound_message_id=row.id, reason=reason.value,
                    suggested_case_id=suggested_id, created_at=now,
                    state=(TriageState.DISCARDED if blocked else TriageState.PENDING).value,
                    resolved_at=now if blocked else None,
                    resolved_by=BLOCKLIST_ACTOR if blocked else None))
                if blocked:
                    audit(session, actor=BLOCKLIST_ACTOR, action="triage.discarded", now=now,
                          inbound_id=row.id, reason=reason.value, blocked=True)
                elif mail.automation is AutomationClass.HUMAN:
                    store_attachments(session, settings, row, mail, None, now)
            case OpenCase(org_id, contact_id, subject, acknowledge):
                contact = session.get(Contact, contact_id)
                assert contact is not None
                case = open_case(session, organization_id=org_id, contact=contact,
                                 subject=subject, now=now, actor=ACTOR)
                case_number = case.number
                remember_opened(session, case)
                assignment.auto_assign(session, settings, case, row.mailbox, now)
                update = add_update(session, settings, case, row, mail, UpdateKind.REPLY, now)
                _notify_owner(session, settings, key, case, update, now, outbound)
                if acknowledge:
                    outbound.append(case_mail.queue_acknowledgement(
                        session, settings, key, case=case, contact=contact, now=now,
                        parent=Parent(row.message_id, mail.references),
                        mailbox=settings.mailbox(row.mailbox)))
            case SendMail(kind, to, number):
                mail_row = _send_mail(session, settings, key, row, mail, kind, to, number, now)
                if mail_row is not None:
                    outbound.append(mail_row)
            case MarkBounced(out_id, failed, permanent):
                out = session.get(OutboundMessage, out_id)
                if out is not None and permanent:
                    out.status = OutboundStatus.BOUNCED.value
                    out.bounced_at = now
                    # A DSN is not authenticated (RFC 3464 says nothing of who may send one)
                    # and whoever holds the mail's Message-ID can write one: only addresses
                    # we sent this mail to count, never ones the report adds.
                    sent_to = {r.lower() for r in out.recipients}
                    gone = sorted({f.lower() for f in failed} & sent_to)
                    out.failed_recipients = sorted(set(out.failed_recipients) | set(gone))
                    # The reason shown with the mail (`case show`): status and server's words.
                    out.last_error = f"bounced: {mail.bounce.reason}" if mail.bounce else None
                    # An address gone for case mail is gone for notices too -- when the mail
                    # went to it alone: a Cc'd recipient holds the same Message-ID and could
                    # otherwise cut the others off from notices (a notice's own bounce, with
                    # its per-recipient Message-ID, still suppresses them).
                    if len(sent_to) == 1:
                        suppress(session, gone, now, reason="bounce of case mail")
                elif out is not None:
                    out.last_error = f"delayed for {', '.join(failed) or 'recipients'}"
            case MarkNoticeBounced(delivery_id, failed, permanent):
                mark_delivery_bounced(session, delivery_id, failed, permanent, now,
                                      reason=mail.bounce.reason if mail.bounce else "")
            case RecordComplaint(out_id, delivery_id, recipients, feedback_type):
                case_id, suppressed = record_complaint(session, out_id, delivery_id, recipients,
                                                       feedback_type, now)
                audit(session, actor=ACTOR, action="mail.complaint", now=now, case_id=case_id,
                      inbound_id=row.id, outbound_id=out_id, notice_delivery_id=delivery_id,
                      feedback_type=feedback_type, suppressed=len(suppressed))
            case RecordNoticeInquiry(notice_id):
                # The triage item (QueueTriage, same decision) shows the notice through this.
                record_inquiry(session, notice_id, row.id, now)
    for case, update in replies:
        _notify_owner(session, settings, key, case, update, now, outbound)
    case_id = loaded(_case(session, case_number), "id") if case_number else None
    trace = list(decision.trace)
    if blocked:
        trace.append("sender is blocked: discarded on arrival")
    outcome, why = str(decision.outcome), str(decision.reason)  # their values: see _INBOUND
    set_columns(session, row, status=_PROCESSED, outcome=outcome, reason=why, trace=trace,
                case_id=case_id, processed_at=now, error=None)
    audit(session, actor=ACTOR, action=f"inbound.{outcome}", now=now,
          case_id=case_id, inbound_id=loaded(row, "id"), reason=why)
    return Applied(case_number, tuple([o.id for o in outbound]))  # a list: no generator


def _notify_owner(session: Session, settings: Settings, key: bytes, case: Case,
                  update: AddedUpdate, now: dt.datetime, outbound: list[OutboundMessage]
                  ) -> None:
    mail_row = assignment.on_customer_reply(session, settings, key, case, update.author,
                                            update.visible_text, now)
    if mail_row is not None:
        outbound.append(mail_row)


def _send_mail(session: Session, settings: Settings, key: bytes,
               row: InboundMessage | InboundRow,
               mail: ParsedMail, kind: OutboundKind, to: tuple[str, ...], number: str | None,
               now: dt.datetime) -> OutboundMessage | None:
    case = find_case(session, number) if number else None
    if kind is OutboundKind.CLOSED_TOO_LONG and case is not None:
        owner = session.get(Organization, case.organization_id)
        # The day it closed as the customer's organization counts days, zone named.
        closed_on = zoned_day(case.closed_at, owner.timezone if owner else None) \
            if case.closed_at else ""
        return queue_mail(
            session, settings, key, kind=kind, case=case, to=to,
            subject=f"Case {case.number} is closed", automated=True, now=now,
            context={"closed_on": closed_on,
                     "reopen_days": settings.reopen_days},
            parent=Parent(row.message_id, mail.references))
    if kind is OutboundKind.ESCALATION and case is not None:
        if not settings.escalation_address:
            return None  # recorded on the case and in the audit log; nobody to mail
        org = session.get(Organization, case.organization_id)
        return queue_mail(
            session, settings, key, kind=kind, case=None, to=(settings.escalation_address,),
            subject=f"Escalation request: {case.number} {case.subject}", automated=True,
            now=now, context={
                "number": case.number, "severity": case.severity, "status": case.status,
                "subject": case.subject, "organization": org.name if org else "",
                "requester": mail.from_.email if mail.from_ else "",
                "body": mail.visible_reply,
                "case_url": settings.console_link(case.number)})
    raise ValueError(f"no way to send {kind.value} here")
