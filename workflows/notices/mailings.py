"""Queue a mailing: render once per organization, then one delivery row per recipient.

Place in the flow: the notice services (``service``, ``incident``, ``scheduler``) call
``queue_notice_mailing`` inside the transaction that changes the notice, so the change and the
mail it owes commit together; ``delivery.send_pending`` sends the rows after commit. A mailing's
``dedupe_key`` is unique (``MNT-2026-0042/announce/0``, ``INC-2026-0007/follow-up/3``): a second
scheduler or a replayed command finds the key taken and queues nothing.

Each delivery gets its Message-ID here, before anything is sent, so a DSN that comes back quotes
an id we already know (``bounces``), and a resend after a crash reuses it.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from workflows.clock.store import calendar_of
from workflows.notices import reference
from workflows.notices.mime import compose_part
from workflows.notices.model import DeliveryStatus, MailingOutcome, NoticeKind, Purpose, Window
from workflows.notices.render import NoticeFacts, Occasion, OrgFacts, RenderedNotice, render_notice
from workflows.outbound import headers as mailheaders
from workflows.settings import Settings
from workflows.storage.base import table_of
from workflows.storage.models import (
    Notice,
    NoticeAudience,
    NoticeDelivery,
    NoticeMailing,
    NoticePart,
    Organization,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class QueuedMailing:
    mailing_id: int | None  # None: the dedupe key was taken, nothing queued
    deliveries: int = 0
    organizations: int = 0
    without_list: tuple[str, ...] = ()  # organizations with no distribution list


def list_id(settings: Settings) -> str:
    return settings.notice_list_id or f"notices.{settings.message_id_domain}"


def notice_facts(notice: Notice, *, rca_business_days: int = 0) -> NoticeFacts:
    """``rca_business_days`` > 0: each organization reads an RCA due date counted on its own
    calendar (``render.org_rca_due``)."""
    return NoticeFacts(
        reference=notice.reference, kind=NoticeKind(notice.kind), title=notice.title,
        impact=notice.impact, details=notice.details, recommendation=notice.recommendation,
        link=notice.link, window=Window(notice.window) if notice.window else None,
        starts_at=notice.starts_at, ends_at=notice.ends_at, sequence=notice.sequence,
        sent_at=notice.sent_at, resolved_at=notice.resolved_at,
        all_clear_text=notice.all_clear_text, rca_due_at=notice.rca_due_at,
        rca_link=notice.rca_link, rca_business_days=rca_business_days)


def org_facts(org: Organization) -> OrgFacts:
    return OrgFacts(org.id, org.name, org.timezone, tuple(org.notify or ()), calendar_of(org))


def audience(session: Session, notice_id: int) -> list[OrgFacts]:
    """The organizations a notice concerns, by name."""
    return [org_facts(org) for org in session.scalars(
        select(Organization).join(NoticeAudience,
                                  NoticeAudience.organization_id == Organization.id)
        .where(NoticeAudience.notice_id == notice_id).order_by(Organization.name))]


def open_mailing(session: Session, *, dedupe_key: str, purpose: Purpose, at: dt.datetime,
                 notice_id: int | None = None, report_schedule_id: int | None = None,
                 slot: int | None = None,
                 outcome: MailingOutcome = MailingOutcome.QUEUED) -> NoticeMailing | None:
    """A new mailing row, or None when ``dedupe_key`` is already taken (by us or a rival)."""
    if session.scalar(select(NoticeMailing.id).where(NoticeMailing.dedupe_key == dedupe_key)):
        return None
    mailing = NoticeMailing(notice_id=notice_id, report_schedule_id=report_schedule_id,
                            purpose=purpose.value, slot=slot, dedupe_key=dedupe_key,
                            outcome=outcome.value, created_at=at)
    try:
        with session.begin_nested():  # a rival committing the same key first: not an error
            session.add(mailing)
            session.flush()
    except IntegrityError:
        return None
    return mailing


def add_parts(session: Session, settings: Settings, mailing: NoticeMailing,
              rendered: Sequence[tuple[OrgFacts, RenderedNotice]], *, ref: str | None,
              at: dt.datetime) -> int:
    """Store each organization's part and one queued delivery per recipient; returns how many
    deliveries."""
    parts = []
    for org, mail in rendered:
        content = compose_part(mail, from_address=settings.from_address,
                               list_id=list_id(settings), loop_id=settings.instance_id,
                               reference=ref, at=at, desk_name=settings.desk_name,
                               thread=reference.thread_root(ref, settings.message_id_domain)
                               if ref else None)
        parts.append((org, NoticePart(mailing_id=mailing.id, organization_id=org.id,
                                      subject=mail.subject, content=content)))
    session.add_all(part for _, part in parts)
    session.flush()
    rows = [{"mailing_id": mailing.id, "part_id": part.id, "organization_id": org.id,
             "recipient": recipient.lower(),
             "message_id": reference.make_message_id(ref, settings.message_id_domain),
             "status": DeliveryStatus.QUEUED.value, "attempts": 0, "created_at": at}
            for org, part in parts for recipient in dict.fromkeys(org.recipients)
            if _usable(recipient)]
    if rows:  # Core executemany: the ORM's bulk path costs more than the insert itself
        session.execute(insert(table_of(NoticeDelivery)), rows)
    return len(rows)


def _usable(recipient: str) -> bool:
    """An address ``mime.for_recipient`` will write (``mailheaders.address``). Lists are
    checked when set; one stored before that check tightened is skipped here, with a warning,
    rather than failing the delivery batch it would sit in."""
    try:
        mailheaders.address(recipient)
    except mailheaders.BadAddress:
        log.warning("notice recipient %r skipped: not a usable address", recipient)
        return False
    return True


def queue_notice_mailing(session: Session, settings: Settings, notice: Notice,
                         occasion: Occasion, *, dedupe_key: str,
                         orgs: Sequence[OrgFacts] | None = None) -> QueuedMailing:
    """Render ``occasion`` of ``notice`` for each organization of its audience and queue it."""
    mailing = open_mailing(session, dedupe_key=dedupe_key, purpose=occasion.purpose,
                           at=occasion.at, notice_id=notice.id, slot=occasion.slot)
    if mailing is None:
        return QueuedMailing(None)
    facts = notice_facts(notice, rca_business_days=settings.notice_rca_business_days)
    targets = audience(session, notice.id) if orgs is None else list(orgs)
    rendered = [(org, render_notice(facts, org, occasion, organizer=settings.from_address,
                                            desk_name=settings.desk_name))
                for org in targets if org.recipients]
    count = add_parts(session, settings, mailing, rendered, ref=notice.reference,
                      at=occasion.at)
    return QueuedMailing(mailing.id, count, len(rendered),
                         tuple(org.name for org in targets if not org.recipients))
