"""The incident cadence: a follow-up every 30 minutes until the all-clear, once per slot.

Place in the flow: ``scheduler.queue_incident_follow_ups`` (the clock's ``incident-follow-ups``
job, ``workflows.clock.jobs``) calls ``queue_due_follow_up`` for every active incident on each pass;
``service.send_notice`` asks ``next_update_at`` for the alert's "first update at".

Slots are numbered from the alert: slot *k* falls due at ``sent_at + k * 30 min``. Each slot is a
mailing whose ``dedupe_key`` (``INC-2026-0007/follow-up/k``) is unique, so the cadence survives
restarts (it is computed from the database, not from a timer in memory) and never doubles (a
second scheduler, or a pass run twice, finds the key taken). When a pass comes late and several
slots are due at once (the scheduler was down), the latest slot is mailed and the ones it
overtook are recorded as ``superseded``: every slot is accounted for, and nobody gets three
identical "no change" mails in one minute.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflows.notices.mailings import QueuedMailing, open_mailing, queue_notice_mailing
from workflows.notices.model import MailingOutcome, Purpose
from workflows.notices.render import Occasion
from workflows.settings import Settings
from workflows.storage.models import Notice, NoticeMailing, NoticeStatusUpdate


@dataclass(frozen=True, slots=True)
class FollowUp:
    slot: int | None  # the slot mailed now, None when nothing was due
    superseded: tuple[int, ...] = ()
    mailing: QueuedMailing | None = None


def _cadence(settings: Settings) -> dt.timedelta:
    return dt.timedelta(minutes=settings.notice_follow_up_minutes)


def slot_due(settings: Settings, sent_at: dt.datetime, at: dt.datetime) -> int:
    """The latest slot due at ``at`` (0: none yet)."""
    return max(int((at - sent_at) // _cadence(settings)), 0)


def next_update_at(settings: Settings, notice: Notice, at: dt.datetime) -> dt.datetime:
    """When the next follow-up of ``notice`` falls due after ``at``."""
    sent_at = notice.sent_at or at
    return sent_at + (slot_due(settings, sent_at, at) + 1) * _cadence(settings)


def queue_due_follow_up(session: Session, settings: Settings, notice: Notice,
                        at: dt.datetime) -> FollowUp:
    """Queue the follow-up due at ``at``, if one is due and not queued yet. The caller holds the
    notice row (locked), so an all-clear cannot slip in between."""
    assert notice.sent_at is not None
    due = slot_due(settings, notice.sent_at, at)
    last = session.scalar(select(func.max(NoticeMailing.slot)).where(
        NoticeMailing.notice_id == notice.id,
        NoticeMailing.purpose == Purpose.FOLLOW_UP.value)) or 0
    if due <= last:
        return FollowUp(None)
    superseded = []
    for slot in range(last + 1, due):
        if open_mailing(session, dedupe_key=f"{notice.reference}/follow-up/{slot}",
                        purpose=Purpose.FOLLOW_UP, at=at, notice_id=notice.id, slot=slot,
                        outcome=MailingOutcome.SUPERSEDED):
            superseded.append(slot)
    # Fresh: posted after the last mail that went out (which carried whatever came before).
    previous = session.scalar(select(func.max(NoticeMailing.created_at)).where(
        NoticeMailing.notice_id == notice.id,
        NoticeMailing.outcome == MailingOutcome.QUEUED.value)) or notice.sent_at
    latest = session.scalars(select(NoticeStatusUpdate).where(
        NoticeStatusUpdate.notice_id == notice.id, NoticeStatusUpdate.at <= at)
        .order_by(NoticeStatusUpdate.at.desc(), NoticeStatusUpdate.id.desc()).limit(1)).first()
    fresh = latest is not None and latest.at > previous
    occasion = Occasion(
        Purpose.FOLLOW_UP, at, slot=due, status_text=latest.text if fresh and latest else None,
        status_at=latest.at if latest else notice.sent_at,
        next_update_at=notice.sent_at + (due + 1) * _cadence(settings),
        cadence_minutes=settings.notice_follow_up_minutes)
    queued = queue_notice_mailing(session, settings, notice, occasion,
                                  dedupe_key=f"{notice.reference}/follow-up/{due}")
    return FollowUp(due if queued.mailing_id else None, tuple(superseded), queued)
