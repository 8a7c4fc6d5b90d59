"""Scheduled case reports: open and closed cases per organization, mailed to a list.

Place in the flow: ``notice report add ORG --every weekly`` stores a schedule;
``scheduler.queue_case_reports`` (the clock's ``case-reports`` job, ``workflows.clock.jobs``) calls
``queue_due_reports`` on every pass (PureConnect "Customer
Reports": weekly, bi-weekly, monthly or quarterly to a distribution list). A report covers the
period since the previous one and goes through the same deliveries as notices (rate limit,
bounces, retries). Each period is claimed with a compare-and-set on ``next_due_at`` and its
mailing key is unique, so a period is reported once; a pass after a long outage sends one report
for the latest period, not one per missed period.

Due times advance on the organization's wall clock (08:00 stays 08:00 across DST); monthly and
quarterly keep the day of the month, clamped to the month's length.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from workflows.cases.directory import find_organization
from workflows.domain import CaseStatus
from workflows.errors import Refused
from workflows.notices.mailings import add_parts, open_mailing
from workflows.notices.model import Cadence, Purpose
from workflows.notices.render import OrgFacts, RenderedNotice, render_template
from workflows.notices.timefmt import local_time, zone_of
from workflows.outbound.compose import DESK_NAME, checked_address, one_line
from workflows.settings import Settings
from workflows.storage.models import Case, NoticeReportSchedule, Organization

_MONTHS = {Cadence.MONTHLY: 1, Cadence.QUARTERLY: 3}
_DAYS = {Cadence.WEEKLY: 7, Cadence.BIWEEKLY: 14}


@dataclass(frozen=True, slots=True)
class CaseLine:
    number: str
    status: str
    severity: str
    subject: str
    opened: str
    closed: str
    resolution: str


def advance(due: dt.datetime, cadence: Cadence, zone: str) -> dt.datetime:
    """The next due time after ``due``, on ``zone``'s wall clock."""
    local = due.astimezone(zone_of(zone))
    if cadence in _DAYS:
        nxt = local.replace(tzinfo=None) + dt.timedelta(days=_DAYS[cadence])
    else:
        months = local.month - 1 + _MONTHS[cadence]
        year, month = local.year + months // 12, months % 12 + 1
        day = min(local.day, calendar.monthrange(year, month)[1])
        nxt = local.replace(tzinfo=None, year=year, month=month, day=day)
    return nxt.replace(tzinfo=zone_of(zone)).astimezone(dt.UTC)


def schedule_report(session: Session, *, org_name: str, cadence: Cadence,
                    recipients: Sequence[str], first_due: dt.datetime | None, now: dt.datetime
                    ) -> NoticeReportSchedule:
    org = find_organization(session, org_name)
    addresses = [checked_address(a).lower() for a in recipients]
    if not addresses and not org.notify:
        raise Refused(f"{org.name} has no distribution list: give --to ADDRESS")
    row = NoticeReportSchedule(organization_id=org.id, cadence=cadence.value,
                               recipients=addresses,
                               next_due_at=first_due or advance(now, cadence, org.timezone),
                               last_due_at=None, active=True, created_at=now)
    session.add(row)
    session.flush()
    return row


def _words(value: str | None) -> str:
    """A status, severity or resolution as the guides name them (DOMAIN: Statuses), not the
    database's spelling: ``awaiting_info`` -> ``Awaiting Info``; ``medium`` -> ``Medium``;
    None -> ``""``. The report goes to the customer."""
    return value.replace("_", " ").title() if value else ""


def _line(case: Case, zone: str) -> CaseLine:
    tz = zone_of(zone)
    return CaseLine(case.number, _words(case.status), _words(case.severity),
                    one_line(case.subject), local_time(case.created_at, tz),
                    local_time(case.closed_at, tz) if case.closed_at else "",
                    _words(case.resolution))


def render_report(session: Session, org: Organization, cadence: Cadence, recipients:
                  Sequence[str], start: dt.datetime, end: dt.datetime,
                  desk_name: str = DESK_NAME) -> RenderedNotice:
    open_cases = session.scalars(select(Case).where(
        Case.organization_id == org.id, Case.status != CaseStatus.CLOSED.value,
        Case.created_at < end).order_by(Case.created_at, Case.id))
    closed_cases = session.scalars(select(Case).where(
        Case.organization_id == org.id, Case.closed_at >= start, Case.closed_at < end)
        .order_by(Case.closed_at, Case.id))
    zone = zone_of(org.timezone)
    ctx = {"desk_name": desk_name or DESK_NAME, "organization": org.name, "zone": zone.key,
           "cadence": cadence.value, "recipients": ", ".join(recipients),
           "period": f"{local_time(start, zone)} to {local_time(end, zone)}",
           "open_cases": [asdict(_line(c, org.timezone)) for c in open_cases],
           "closed_cases": [asdict(_line(c, org.timezone)) for c in closed_cases]}
    text, html = render_template("case_report", ctx)
    subject = one_line(f"{cadence.value.capitalize()} case report for {org.name}: "
                       f"{len(ctx['open_cases'])} open, {len(ctx['closed_cases'])} closed")
    return RenderedNotice(subject, text, html)


def queue_due_reports(session: Session, settings: Settings, at: dt.datetime) -> list[int]:
    """Queue every report due at ``at``; returns the mailing ids."""
    mailings = []
    for schedule in session.scalars(select(NoticeReportSchedule).where(
            NoticeReportSchedule.active.is_(True), NoticeReportSchedule.next_due_at <= at)
            .order_by(NoticeReportSchedule.id)):
        org = session.get(Organization, schedule.organization_id)
        assert org is not None
        cadence = Cadence(schedule.cadence)
        end, nxt = schedule.next_due_at, advance(schedule.next_due_at, cadence, org.timezone)
        while nxt <= at:  # missed periods: report the latest
            end, nxt = nxt, advance(nxt, cadence, org.timezone)
        claimed = session.execute(
            update(NoticeReportSchedule).where(
                NoticeReportSchedule.id == schedule.id,
                NoticeReportSchedule.next_due_at == schedule.next_due_at)
            .values(next_due_at=nxt, last_due_at=end)
            .execution_options(synchronize_session=False))
        if not claimed.rowcount:  # type: ignore[attr-defined]
            continue
        start = schedule.last_due_at or _back(end, cadence, org.timezone)
        recipients = tuple(schedule.recipients or org.notify or ())
        mailing = open_mailing(session, dedupe_key=f"report/{schedule.id}/{end.isoformat()}",
                               purpose=Purpose.CASE_REPORT, at=at,
                               report_schedule_id=schedule.id)
        if mailing is None or not recipients:
            continue
        rendered = render_report(session, org, cadence, recipients, start, end,
                                 desk_name=settings.desk_name)
        add_parts(session, settings, mailing,
                  [(OrgFacts(org.id, org.name, org.timezone, recipients), rendered)],
                  ref=None, at=at)
        mailings.append(mailing.id)
    return mailings


def _back(end: dt.datetime, cadence: Cadence, zone: str) -> dt.datetime:
    """The start of the first period: one cadence before its end."""
    if cadence in _DAYS:
        return end - dt.timedelta(days=_DAYS[cadence])
    local = end.astimezone(zone_of(zone))
    months = local.year * 12 + local.month - 1 - _MONTHS[cadence]
    year, month = divmod(months, 12)
    day = min(local.day, calendar.monthrange(year, month + 1)[1])
    return local.replace(year=year, month=month + 1, day=day).astimezone(dt.UTC)
