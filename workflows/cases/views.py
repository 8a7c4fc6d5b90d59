"""Read models for the edges: what ``case show``, ``triage list`` and ``failed list`` print.

Place in the flow: outside the message flow; reads only. Each view is a frozen dataclass the
edges turn into JSON with ``dataclasses.asdict``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.cases.service import find_case, linked_cases
from workflows.clock.report import ClockLine, TimerLine, case_clocks, timer_lines
from workflows.domain import MessageStatus, TriageState
from workflows.errors import NotFound
from workflows.settings import Settings
from workflows.storage.models import (
    Attachment,
    Case,
    CaseStatusChange,
    CaseUpdate,
    ConsoleUser,
    Contact,
    InboundMessage,
    Notice,
    NoticeInquiry,
    Organization,
    OutboundMessage,
    TriageItem,
)


def iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


@dataclass(frozen=True)
class UpdateView:
    id: int
    kind: str
    direction: str
    author: str
    visible_text: str
    created_at: str | None
    inbound_message_id: int | None
    outbound_message_id: int | None


@dataclass(frozen=True)
class AttachmentView:
    id: int
    filename: str | None
    content_type: str
    size: int
    sha256: str
    purged_at: str | None
    # The mail that carried it: a customer's (inbound) or an analyst's update (outbound).
    inbound_message_id: int | None = None
    outbound_message_id: int | None = None
    note_id: int | None = None  # the internal note it was kept with (never mailed)


@dataclass(frozen=True)
class OutboundView:
    message_id: str
    kind: str
    to: list[str]
    subject: str
    status: str
    failed_recipients: list[str]
    sent_at: str | None
    bounced_at: str | None
    last_error: str | None
    next_attempt_at: str | None = None  # deferred: when the clock's case-mail job retries it


@dataclass(frozen=True)
class LinkedCaseView:
    number: str
    family: str
    status: str


@dataclass(frozen=True)
class CaseDetail:
    number: str
    family: str
    status: str
    resolution: str | None
    severity: str
    type: str
    escalated: bool
    subject: str
    organization: str
    contact: str | None
    created_at: str | None
    closed_at: str | None
    status_changes: list[dict[str, str | None]]
    updates: list[UpdateView]
    attachments: list[AttachmentView]
    outbound: list[OutboundView]
    linked_case: str | None = None  # the original, or the first escalation
    linked_cases: list[LinkedCaseView] = field(default_factory=list)  # every link, either way
    timers: list[TimerLine] = field(default_factory=list)  # with settings: the lifecycle
    clocks: list[ClockLine] = field(default_factory=list)  # SLA response/resolution clocks
    owner: str | None = None  # the assignee's email (workflows.cases.assignment)
    owner_unread: bool = False  # a customer replied since the owner last opened the case
    cc: list[str] = field(default_factory=list)  # copied on every analyst post (case post --cc)


def case_detail(session: Session, number: str, *, settings: Settings | None = None,
                now: dt.datetime | None = None) -> CaseDetail:
    """The case; given ``settings`` and ``now``, with its timers and SLA clocks too."""
    case = find_case(session, number)
    linked = session.get(Case, case.linked_case_id) if case.linked_case_id else None
    org = session.get(Organization, case.organization_id)
    contact = session.get(Contact, case.contact_id) if case.contact_id else None
    updates = session.scalars(select(CaseUpdate).where(CaseUpdate.case_id == case.id)
                              .order_by(CaseUpdate.created_at, CaseUpdate.id))
    atts = session.scalars(select(Attachment).where(Attachment.case_id == case.id)
                           .order_by(Attachment.id))
    outs = session.scalars(select(OutboundMessage).where(OutboundMessage.case_id == case.id)
                           .order_by(OutboundMessage.id))
    changes = session.scalars(select(CaseStatusChange)
                              .where(CaseStatusChange.case_id == case.id)
                              .order_by(CaseStatusChange.id))
    return CaseDetail(
        number=case.number, family=case.family, status=case.status,
        resolution=case.resolution, severity=case.severity, type=case.case_type,
        escalated=case.escalated, subject=case.subject,
        organization=org.name if org else "", contact=contact.email if contact else None,
        created_at=iso(case.created_at), closed_at=iso(case.closed_at),
        status_changes=[{"from": c.from_status, "to": c.to_status, "event": c.event,
                         "at": iso(c.at)} for c in changes],
        updates=[UpdateView(u.id, u.kind, u.direction, u.author, u.visible_text,
                            iso(u.created_at), u.inbound_message_id, u.outbound_message_id)
                 for u in updates],
        attachments=[AttachmentView(a.id, a.filename, a.content_type, a.size, a.sha256,
                                    iso(a.purged_at), a.inbound_message_id,
                                    a.outbound_message_id, a.case_update_id) for a in atts],
        outbound=[OutboundView(o.message_id, o.kind, list(o.recipients), o.subject, o.status,
                               list(o.failed_recipients), iso(o.sent_at), iso(o.bounced_at),
                               o.last_error, iso(o.next_attempt_at)) for o in outs],
        linked_case=linked.number if linked else None,
        linked_cases=[LinkedCaseView(c.number, c.family, c.status)
                      for c in linked_cases(session, case)],
        timers=timer_lines(session, settings, case) if settings else [],
        clocks=case_clocks(session, settings, case, now) if settings and now else [],
        owner=owner.email if (owner := session.get(ConsoleUser, case.assignee_id)
                              if case.assignee_id else None) else None,
        owner_unread=case.owner_unread,
        cc=list(case.cc or ()),
    )


@dataclass(frozen=True)
class TriageLine:
    id: int
    reason: str
    state: str
    suggested_case: str | None
    mailbox: str
    message_id: str | None
    subject: str | None
    created_at: str | None
    # "from" is a keyword in Python: the edge renames it
    from_address: str | None
    notice: str | None = None  # the notice this mail asks about (its reference)


def notice_asked_about(session: Session, inbound_id: int) -> str | None:
    """The reference of the notice an inquiry quotes, for its triage item."""
    return session.scalar(
        select(Notice.reference).join(NoticeInquiry, NoticeInquiry.notice_id == Notice.id)
        .where(NoticeInquiry.inbound_message_id == inbound_id))


def _line(session: Session, item: TriageItem, row: InboundMessage) -> TriageLine:
    suggested = session.get(Case, item.suggested_case_id) if item.suggested_case_id else None
    return TriageLine(item.id, item.reason, item.state, suggested.number if suggested else None,
                      row.mailbox, row.message_id, row.subject, iso(item.created_at),
                      row.from_address, notice_asked_about(session, row.id))


def triage_lines(session: Session, *, reason: str | None = None,
                 state: str | None = TriageState.PENDING.value) -> list[TriageLine]:
    query = (select(TriageItem, InboundMessage)
             .join(InboundMessage, InboundMessage.id == TriageItem.inbound_message_id)
             .order_by(TriageItem.id))
    if reason:
        query = query.where(TriageItem.reason == reason)
    if state:
        query = query.where(TriageItem.state == state)
    return [_line(session, item, row) for item, row in session.execute(query)]


@dataclass(frozen=True)
class TriageDetail:
    item: TriageLine
    envelope_from: str
    envelope_to: list[str]
    trace: list[str]
    defects: list[str]
    automation: str | None
    resolved_by: str | None
    resolved_at: str | None


def triage_detail(session: Session, item_id: int) -> tuple[TriageDetail, bytes]:
    item = session.get(TriageItem, item_id)
    if item is None:
        raise NotFound(f"no triage item {item_id}")
    row = session.get(InboundMessage, item.inbound_message_id)
    assert row is not None
    return TriageDetail(_line(session, item, row), row.envelope_from, list(row.envelope_to),
                        list(row.trace), list(row.defects), row.automation, item.resolved_by,
                        iso(item.resolved_at)), row.raw


@dataclass(frozen=True)
class FailedLine:
    id: int
    message_id: str | None
    mailbox: str
    transport: str
    source: str | None
    attempts: int
    error: str | None
    received_at: str | None


def failed_lines(session: Session) -> list[FailedLine]:
    rows = session.scalars(select(InboundMessage)
                           .where(InboundMessage.status == MessageStatus.FAILED.value)
                           .order_by(InboundMessage.id))
    return [FailedLine(r.id, r.message_id, r.mailbox, r.transport, r.source, r.attempts,
                       r.error, iso(r.received_at)) for r in rows]
