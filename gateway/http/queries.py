"""Read models for the console and the API: filtered, paginated lists and the health figures.

Place in the flow: outside the message flow; reads only, in the caller's transaction. The CLI's
views (``workflows.cases.views``) print one thing at a time; a browser needs filters, counts and
pages, which live here, as frozen dataclasses.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, TypeVar, TypeVarTuple

from sqlalchemy import ColumnExpressionArgument, Row, Select, func, or_, select
from sqlalchemy.orm import Session

from gateway.http import case_columns
from gateway.http.reasons import TRIAGE_REASONS
from workflows.cases.views import notice_asked_about
from workflows.domain import MessageStatus, OutboundStatus, Reason, TriageState
from workflows.errors import NotFound
from workflows.settings import Settings
from workflows.storage.models import (
    Case,
    ConsoleUser,
    Contact,
    InboundMessage,
    Organization,
    OutboundMessage,
    TriageItem,
)

T_co = TypeVar("T_co", covariant=True)  # a Page[CaseRow] is a Page[object] (read-only)
Columns = TypeVarTuple("Columns")  # what a row of a select holds
MAX_PER_PAGE = 200


@dataclass(frozen=True, slots=True)
class Page(Generic[T_co]):
    items: tuple[T_co, ...]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def _paged(session: Session, query: Select[*Columns], page: int, per_page: int
           ) -> tuple[list[Row[*Columns]], int, int, int]:
    per_page = max(1, min(per_page, MAX_PER_PAGE))
    page = max(1, page)
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = list(session.execute(query.limit(per_page).offset((page - 1) * per_page)).all())
    return rows, page, per_page, total or 0


# --- triage ------------------------------------------------------------------------------------


class Age(StrEnum):
    """How long an item has waited, at least (the triage page's age filter)."""

    ANY = ""
    HOUR = "1h"
    DAY = "24h"
    WEEK = "7d"

    @property
    def delta(self) -> dt.timedelta | None:
        return {"1h": dt.timedelta(hours=1), "24h": dt.timedelta(days=1),
                "7d": dt.timedelta(days=7)}.get(self.value)


@dataclass(frozen=True, slots=True)
class TriageFilter:
    reason: str | None = None
    mailbox: str | None = None
    organization: str | None = None
    age: Age = Age.ANY
    state: str | None = TriageState.PENDING.value


@dataclass(frozen=True, slots=True)
class TriageRow:
    id: int
    reason: str
    state: str
    sender: str | None
    subject: str | None
    mailbox: str
    message_id: str | None
    suggested_case: str | None
    organization: str | None
    created_at: dt.datetime
    trace: tuple[str, ...]
    resolved_by: str | None
    notice: str | None = None  # the notice an inquiry asks about


def _organization_of(session: Session, email: str | None) -> Organization | None:
    if not email:
        return None
    contact = session.scalars(select(Contact).where(Contact.email == email)).first()
    if contact is not None:
        return session.get(Organization, contact.organization_id)
    domain = email.rpartition("@")[2]
    for org in session.scalars(select(Organization).order_by(Organization.id)):
        if domain in (org.domains or []):
            return org
    return None


def triage_page(session: Session, flt: TriageFilter, now: dt.datetime, *, page: int = 1,
                per_page: int = 25) -> Page[TriageRow]:
    query = (select(TriageItem, InboundMessage)
             .join(InboundMessage, InboundMessage.id == TriageItem.inbound_message_id)
             .order_by(TriageItem.created_at, TriageItem.id))
    if flt.state:
        query = query.where(TriageItem.state == flt.state)
    if flt.reason:
        query = query.where(TriageItem.reason == flt.reason)
    if flt.mailbox:
        query = query.where(InboundMessage.mailbox == flt.mailbox.strip().lower())
    if flt.age.delta is not None:
        query = query.where(TriageItem.created_at <= now - flt.age.delta)
    if flt.organization:
        org = session.scalars(select(Organization).where(
            Organization.name == flt.organization)).first()
        if org is None:
            return Page((), 1, per_page, 0)
        members = select(Contact.email).where(Contact.organization_id == org.id)
        query = query.where(or_(InboundMessage.from_address.in_(members),
                                *(InboundMessage.from_address.like(f"%@{d}")
                                  for d in (org.domains or []))))
    rows, page, per_page, total = _paged(session, query, page, per_page)
    items = [_triage_row(session, item, msg) for item, msg in rows]
    return Page(tuple(items), page, per_page, total)


def _triage_row(session: Session, item: TriageItem, msg: InboundMessage) -> TriageRow:
    suggested = session.get(Case, item.suggested_case_id) if item.suggested_case_id else None
    org = _organization_of(session, msg.from_address)
    return TriageRow(item.id, item.reason, item.state, msg.from_address, msg.subject,
                     msg.mailbox, msg.message_id, suggested.number if suggested else None,
                     org.name if org else None, item.created_at, tuple(msg.trace or ()),
                     item.resolved_by, notice_asked_about(session, msg.id))


def triage_row(session: Session, item_id: int) -> TriageRow:
    item = session.get(TriageItem, item_id)
    if item is None:
        raise NotFound(f"no triage item {item_id}")
    msg = session.get(InboundMessage, item.inbound_message_id)
    assert msg is not None
    return _triage_row(session, item, msg)


def triage_raw(session: Session, item_id: int) -> bytes:
    item = session.get(TriageItem, item_id)
    if item is None:
        raise NotFound(f"no triage item {item_id}")
    msg = session.get(InboundMessage, item.inbound_message_id)
    assert msg is not None
    return msg.raw


def triage_counts(session: Session) -> dict[str, int]:
    """Pending items per reason, every triage reason listed (zero included)."""
    counts = dict(session.execute(
        select(TriageItem.reason, func.count()).where(
            TriageItem.state == TriageState.PENDING.value).group_by(TriageItem.reason)).all())
    triage_reasons = [r.value for r in Reason if r.value in TRIAGE_REASONS]
    return {r: int(counts.get(r, 0)) for r in triage_reasons} | {
        r: int(n) for r, n in counts.items() if r not in TRIAGE_REASONS}



def mailboxes_seen(session: Session) -> list[str]:
    return list(session.scalars(select(InboundMessage.mailbox).distinct()
                                .order_by(InboundMessage.mailbox)))


def organization_names(session: Session) -> list[str]:
    return list(session.scalars(select(Organization.name).order_by(Organization.name)))


# --- cases -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CaseRow:
    number: str
    subject: str
    organization: str
    status: str
    severity: str
    escalated: bool
    updated_at: dt.datetime
    owner: str | None = None  # the assignee's email
    owner_unread: bool = False  # a customer replied since the owner last opened it
    waiting_on: str | None = None  # "us", "customer", None (closed): gateway.http.case_columns
    next_deadline: dt.datetime | None = None  # the earlier running SLA clock's due time


def case_page(session: Session, *, q: str | None = None, status: str | None = None,
              organization: str | None = None, page: int = 1, per_page: int = 25,
              assignee: str | None = None, unassigned: bool = False, sort: str = "",
              settings: Settings | None = None, now: dt.datetime | None = None
              ) -> Page[CaseRow]:
    """Cases, newest activity first unless ``sort`` says otherwise (``case_columns``);
    ``assignee`` (an email) or ``unassigned`` filter by owner (the console's "My cases" and
    "Unassigned", ``case list``, ``GET /cases``). Given ``settings`` and ``now``, each row
    has its next SLA deadline."""
    query = (select(Case, Organization.name, ConsoleUser.email)
             .join(Organization, Organization.id == Case.organization_id)
             .outerjoin(ConsoleUser, ConsoleUser.id == Case.assignee_id)
             .order_by(*case_columns.order_by(*case_columns.parse_sort(sort))))
    if unassigned:
        query = query.where(Case.assignee_id.is_(None))
    elif assignee:
        query = query.where(ConsoleUser.email == assignee.strip().lower())
    if q and q.strip():
        needle = q.strip()[:200]
        query = query.where(or_(Case.number == needle.upper(),
                                Case.subject.ilike(f"%{_like_escape(needle)}%", escape="\\")))
    if status:
        query = query.where(Case.status == status)
    if organization:
        query = query.where(Organization.name == organization)
    rows, page, per_page, total = _paged(session, query, page, per_page)
    return Page(tuple(CaseRow(c.number, c.subject, name, c.status, c.severity, c.escalated,
                              c.updated_at, owner, c.owner_unread,
                              case_columns.waiting_on(c.status),
                              case_columns.next_deadline(session, settings, c, now)
                              if settings is not None and now is not None else None)
                      for c, name, owner in rows), page, per_page, total)


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# --- health ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Rate:
    window: str
    received: int


@dataclass(frozen=True, slots=True)
class BounceRow:
    message_id: str
    kind: str
    recipients: tuple[str, ...]
    failed_recipients: tuple[str, ...]
    bounced_at: dt.datetime | None
    case: str | None


@dataclass(frozen=True, slots=True)
class Health:
    intake: tuple[Rate, ...]
    by_status: dict[str, int]
    triage_pending: int
    triage_oldest: dt.datetime | None
    loops_suppressed_24h: int
    loops_suppressed_total: int
    outbox: dict[str, int]
    bounces: tuple[BounceRow, ...]


def _count(session: Session, *conditions: ColumnExpressionArgument[bool]) -> int:
    return session.scalar(select(func.count()).select_from(InboundMessage)
                          .where(*conditions)) or 0


def health(session: Session, now: dt.datetime) -> Health:
    rates = tuple(Rate(label, _count(session, InboundMessage.received_at >= now - delta))
                  for label, delta in (("last hour", dt.timedelta(hours=1)),
                                       ("last 24 hours", dt.timedelta(days=1)),
                                       ("last 7 days", dt.timedelta(days=7))))
    by_status = {s.value: 0 for s in MessageStatus} | {
        status: int(n) for status, n in session.execute(
            select(InboundMessage.status, func.count()).group_by(InboundMessage.status))}
    pending = TriageItem.state == TriageState.PENDING.value
    loop = InboundMessage.reason == Reason.LOOP.value
    outbox = {s.value: 0 for s in OutboundStatus} | {
        status: int(n) for status, n in session.execute(
            select(OutboundMessage.status, func.count()).group_by(OutboundMessage.status))}
    bounced = session.scalars(select(OutboundMessage).where(
        OutboundMessage.status == OutboundStatus.BOUNCED.value)
        .order_by(OutboundMessage.bounced_at.desc()).limit(50))
    bounces = tuple(
        BounceRow(o.message_id, o.kind, tuple(o.recipients), tuple(o.failed_recipients),
                  o.bounced_at, _case_number(session, o.case_id)) for o in bounced)
    return Health(
        intake=rates, by_status=by_status,
        triage_pending=session.scalar(select(func.count()).select_from(TriageItem)
                                      .where(pending)) or 0,
        triage_oldest=session.scalar(select(func.min(TriageItem.created_at)).where(pending)),
        loops_suppressed_24h=_count(session, loop,
                                    InboundMessage.received_at >= now - dt.timedelta(days=1)),
        loops_suppressed_total=_count(session, loop),
        outbox=outbox, bounces=bounces)


def _case_number(session: Session, case_id: int | None) -> str | None:
    case = session.get(Case, case_id) if case_id else None
    return case.number if case else None
