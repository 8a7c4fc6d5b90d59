"""RCA tracking: a root cause analysis is due 5 business days after an incident's all-clear.

Place in the flow: ``service.all_clear`` sets ``rca_due_at`` (``service.rca_due``, on the desk's
business calendar: ``workflows.clock.calendar``, ``notice_zone`` and ``notice_holiday_country``);
``scheduler.queue_rca`` (the clock's ``rca-reminders`` job, ``workflows.clock.jobs``) calls
``queue_rca_reminders`` on every pass; ``notice rca REF --link``
records the delivery and stops the reminders. Two reminders per incident: one business day
before the due time ("due tomorrow") and one when it is overdue. Each is claimed with a
compare-and-set on ``rca_reminders``, so it goes out once however many schedulers run; a pass
that comes after both moments sends only the overdue one.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from workflows.cases.service import audit
from workflows.clock.calendar import BusinessCalendar
from workflows.notices.mailings import add_parts, notice_facts, open_mailing
from workflows.notices.model import NoticeKind, NoticeState, Purpose
from workflows.notices.render import Occasion, OrgFacts, render_notice
from workflows.settings import Settings
from workflows.storage.models import Notice

DUE_SOON, OVERDUE = 1, 2


def reminder_address(settings: Settings) -> str | None:
    return settings.rca_reminder_address or settings.care_team_address


def _stage(settings: Settings, notice: Notice, at: dt.datetime) -> int:
    assert notice.rca_due_at is not None and notice.resolved_at is not None
    if at >= notice.rca_due_at:
        return OVERDUE
    calendar = BusinessCalendar(settings.notice_zone, country=settings.notice_holiday_country)
    soon = calendar.add_days(notice.resolved_at, max(settings.notice_rca_business_days - 1, 0))
    return DUE_SOON if at >= soon else 0


def queue_rca_reminders(session: Session, settings: Settings, at: dt.datetime) -> list[str]:
    """Queue the reminders due at ``at``; returns them as ``REF:due_soon``/``REF:overdue``
    (audited, and mailed when an address is configured)."""
    reminded = []
    for notice in session.scalars(select(Notice).where(
            Notice.kind == NoticeKind.INCIDENT.value,
            Notice.state == NoticeState.RESOLVED.value, Notice.rca_delivered_at.is_(None),
            Notice.rca_due_at.is_not(None), Notice.rca_reminders < OVERDUE)):
        stage = _stage(settings, notice, at)
        if stage <= notice.rca_reminders:
            continue
        claimed = session.execute(
            update(Notice).where(Notice.id == notice.id, Notice.rca_reminders < stage)
            .values(rca_reminders=stage).execution_options(synchronize_session=False))
        if not claimed.rowcount:  # type: ignore[attr-defined]
            continue  # another scheduler sent it
        address = reminder_address(settings)
        name = "overdue" if stage == OVERDUE else "due_soon"
        reminded.append(f"{notice.reference}:{name}")
        audit(session, actor="system", action="notice.rca_reminder", now=at,
              reference=notice.reference, stage=name, mailed_to=address)
        if address is None:
            continue
        mailing = open_mailing(session, dedupe_key=f"{notice.reference}/rca-reminder/{stage}",
                               purpose=Purpose.RCA_REMINDER, at=at, notice_id=notice.id,
                               slot=stage)
        if mailing is None:
            continue
        desk = OrgFacts(None, "the care team", settings.notice_zone, (address,))
        rendered = render_notice(notice_facts(notice), desk,
                                 Occasion(Purpose.RCA_REMINDER, at),
                                 organizer=settings.from_address,
                                 desk_name=settings.desk_name)
        add_parts(session, settings, mailing, [(desk, rendered)], ref=notice.reference, at=at)
    return reminded
