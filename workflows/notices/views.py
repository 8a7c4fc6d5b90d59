"""Read-only views of notices for the CLI: the list, one notice with its deliveries, previews.

Place in the flow: ``ticketgate notice list|show|preview`` print these as JSON. ``preview``
renders exactly what an organization would get from the notice's next mailing, with the same
code that queues it (``render``, ``mime``), and writes nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflows.errors import NotFound
from workflows.notices import incident
from workflows.notices.business_hours import business_hours_clash
from workflows.notices.mailings import audience, list_id, notice_facts
from workflows.notices.mime import compose_part, for_recipient
from workflows.notices.model import NoticeKind, NoticeState, Purpose
from workflows.notices.reference import make_message_id, thread_root
from workflows.notices.render import Occasion, render_notice
from workflows.notices.service import find_notice
from workflows.settings import Settings
from workflows.storage.models import (
    InboundMessage,
    Notice,
    NoticeDelivery,
    NoticeInquiry,
    NoticeMailing,
    NoticeStatusUpdate,
    Organization,
    TriageItem,
)


def iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


@dataclass(frozen=True, slots=True)
class NoticeLine:
    reference: str
    kind: str
    state: str
    title: str
    starts_at: str | None
    ends_at: str | None
    created_at: str
    sent_at: str | None
    forced: bool
    deliveries: dict[str, int]  # status -> count


@dataclass(frozen=True, slots=True)
class DeliveryLine:
    purpose: str
    slot: int | None
    organization: str | None
    recipient: str
    status: str
    attempts: int
    message_id: str
    sent_at: str | None
    next_attempt_at: str | None
    last_error: str | None


@dataclass(frozen=True, slots=True)
class InquiryLine:
    inbound_id: int
    triage_item: int | None
    sender: str | None
    subject: str | None
    received_at: str


@dataclass(frozen=True, slots=True)
class NoticeDetail:
    notice: NoticeLine
    impact: str
    details: str
    link: str | None
    window: str | None
    sequence: int
    force_reason: str | None
    overridden: list[str]
    organizations: list[str]
    without_list: list[str]
    statuses: list[str]
    resolved_at: str | None
    rca_due_at: str | None
    rca_delivered_at: str | None
    uncertain: int  # deliveries that may or may not have gone: the operator decides
    deliveries: list[DeliveryLine]
    inquiries: list[InquiryLine]


@dataclass(frozen=True, slots=True)
class Preview:
    reference: str
    organization: str
    recipients: list[str]
    purpose: str
    subject: str
    text: str
    html: str
    ics: str | None
    raw: str
    # A maintenance window that falls in this organization's business hours: why, in words
    # (``business_hours.business_hours_clash``); None: outside them, or not maintenance.
    business_hours: str | None = None


def _counts(session: Session, notice_id: int) -> dict[str, int]:
    rows = session.execute(
        select(NoticeDelivery.status, func.count()).join(
            NoticeMailing, NoticeMailing.id == NoticeDelivery.mailing_id)
        .where(NoticeMailing.notice_id == notice_id).group_by(NoticeDelivery.status))
    return {status: int(count) for status, count in sorted(rows)}


def notice_line(session: Session, notice: Notice) -> NoticeLine:
    return NoticeLine(notice.reference, notice.kind, notice.state, notice.title,
                      iso(notice.starts_at), iso(notice.ends_at),
                      notice.created_at.isoformat(), iso(notice.sent_at), notice.forced,
                      _counts(session, notice.id))


def notice_lines(session: Session) -> list[NoticeLine]:
    return [notice_line(session, n) for n in session.scalars(
        select(Notice).order_by(Notice.created_at, Notice.id))]


def notice_detail(session: Session, ref: str) -> NoticeDetail:
    notice = find_notice(session, ref)
    orgs = audience(session, notice.id)
    names = {o.id: o.name for o in orgs}
    deliveries = [
        DeliveryLine(mailing.purpose, mailing.slot, names.get(d.organization_id or -1),
                     d.recipient, d.status, d.attempts, d.message_id, iso(d.sent_at),
                     iso(d.next_attempt_at), d.last_error)
        for d, mailing in session.execute(
            select(NoticeDelivery, NoticeMailing).join(
                NoticeMailing, NoticeMailing.id == NoticeDelivery.mailing_id)
            .where(NoticeMailing.notice_id == notice.id).order_by(NoticeDelivery.id))]
    inquiries = [
        InquiryLine(row.id, item_id, row.from_address, row.subject, row.received_at.isoformat())
        for row, item_id in session.execute(
            select(InboundMessage, TriageItem.id)
            .join(NoticeInquiry, NoticeInquiry.inbound_message_id == InboundMessage.id)
            .outerjoin(TriageItem, TriageItem.inbound_message_id == InboundMessage.id)
            .where(NoticeInquiry.notice_id == notice.id).order_by(InboundMessage.id))]
    statuses = list(session.scalars(select(NoticeStatusUpdate.text).where(
        NoticeStatusUpdate.notice_id == notice.id).order_by(NoticeStatusUpdate.at)))
    return NoticeDetail(
        notice_line(session, notice), notice.impact, notice.details, notice.link,
        notice.window, notice.sequence, notice.force_reason, list(notice.overridden),
        [o.name for o in orgs], [o.name for o in orgs if not o.recipients], statuses,
        iso(notice.resolved_at), iso(notice.rca_due_at), iso(notice.rca_delivered_at),
        sum(1 for d in deliveries if d.status == "uncertain"), deliveries, inquiries)


def preview(session: Session, settings: Settings, ref: str, *, org_name: str | None,
            now: dt.datetime) -> list[Preview]:
    """What each organization (or ``org_name``) gets from the notice's next mailing."""
    notice = find_notice(session, ref)
    state, kind = NoticeState(notice.state), NoticeKind(notice.kind)
    purpose, slot, next_update = Purpose.ANNOUNCE, None, None
    if state is NoticeState.ACTIVE and kind is NoticeKind.INCIDENT:
        purpose = Purpose.FOLLOW_UP
        next_update = incident.next_update_at(settings, notice, now)
        assert notice.sent_at is not None
        slot = incident.slot_due(settings, notice.sent_at, next_update)
    elif state is NoticeState.DRAFT and kind is NoticeKind.INCIDENT:
        next_update = now + dt.timedelta(minutes=settings.notice_follow_up_minutes)
    orgs = audience(session, notice.id)
    if org_name is not None:
        orgs = [o for o in orgs if o.name == org_name.strip()]
        if not orgs:
            known = session.scalar(select(Organization.id).where(
                Organization.name == org_name.strip()))
            raise NotFound(f"{org_name!r} is not in the audience of {notice.reference}"
                           if known else f"no organization named {org_name!r}")
    facts = notice_facts(notice, rca_business_days=settings.notice_rca_business_days)
    occasion = Occasion(purpose, next_update if purpose is Purpose.FOLLOW_UP and next_update
                        else now, slot=slot, next_update_at=next_update,
                        cadence_minutes=settings.notice_follow_up_minutes)
    previews = []
    for org in orgs:
        mail = render_notice(facts, org, occasion, organizer=settings.from_address,
                             desk_name=settings.desk_name)
        raw = b""
        if org.recipients:
            part = compose_part(mail, from_address=settings.from_address,
                                list_id=list_id(settings), loop_id=settings.instance_id,
                                reference=notice.reference, at=now,
                                desk_name=settings.desk_name,
                                thread=thread_root(notice.reference, settings.message_id_domain))
            raw = for_recipient(part, org.recipients[0],
                                make_message_id(notice.reference, settings.message_id_domain))
        clash = None
        if kind.maintenance and notice.starts_at and notice.ends_at and org.calendar:
            clash = business_hours_clash(org.calendar, notice.starts_at, notice.ends_at)
        previews.append(Preview(notice.reference, org.name, list(org.recipients),
                                purpose.value, mail.subject, mail.text, mail.html, mail.ics,
                                raw.decode("utf-8", "replace"), clash))
    return previews
