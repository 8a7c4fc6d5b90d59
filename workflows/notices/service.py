"""Notice services: create, send, reschedule, post a status, all-clear, cancel, deliver the RCA.

Place in the flow: called by ``ticketgate notice ...`` (``gateway.cli.notices``). Each action
changes the notice and queues the mailing it owes in one transaction (``mailings``), audits it,
and sends after the commit (``delivery``); a crash after the commit leaves queued deliveries that
the next clock pass sends (its ``notice-deliveries`` job). Rules (``rules``) are checked when a
notice is created and again when it is sent or rescheduled, because "7 days' notice" depends on
when it actually goes out.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.cases.directory import find_organization
from workflows.cases.service import audit
from workflows.clock.calendar import BusinessCalendar
from workflows.errors import NotFound, Refused
from workflows.notices import incident
from workflows.notices.blackout import Period
from workflows.notices.delivery import Progress, SendReport, send_pending
from workflows.notices.mailings import QueuedMailing, audience, queue_notice_mailing
from workflows.notices.model import NoticeKind, NoticeRequest, NoticeState, Purpose, Refusal, Window
from workflows.notices.reference import format_reference
from workflows.notices.render import Occasion
from workflows.notices.rules import Plan, RuleConfig, check_plan, check_shape
from workflows.runtime import Runtime
from workflows.settings import Settings
from workflows.storage.models import (
    Notice,
    NoticeAudience,
    NoticeBlackout,
    NoticeProfile,
    NoticeSequence,
    NoticeStatusUpdate,
    Organization,
)


@dataclass(frozen=True, slots=True)
class Created:
    reference: str
    kind: str
    state: str
    organizations: tuple[str, ...]
    without_list: tuple[str, ...]  # they get nothing until they send a list through a case
    forced: bool
    overridden: tuple[str, ...]
    warnings: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Mailed:
    """What an action mailed: the queue and the send."""

    reference: str
    state: str
    mailing_id: int | None
    deliveries: int
    without_list: tuple[str, ...]
    report: SendReport


def find_notice(session: Session, ref: str, *, lock: bool = False) -> Notice:
    query = select(Notice).where(Notice.reference == ref.strip().upper())
    notice = session.scalars(query.with_for_update() if lock else query).first()
    if notice is None:
        raise NotFound(f"no notice {ref}")
    return notice


def _next_reference(session: Session, kind: NoticeKind, now: dt.datetime) -> str:
    seq = session.scalars(select(NoticeSequence).where(
        NoticeSequence.prefix == kind.prefix, NoticeSequence.year == now.year)
        .with_for_update()).first()
    if seq is None:
        seq = NoticeSequence(prefix=kind.prefix, year=now.year, next_value=1)
        session.add(seq)
    value, seq.next_value = seq.next_value, seq.next_value + 1
    session.flush()
    return format_reference(kind.prefix, now.year, value)


def _audience(session: Session, request: NoticeRequest) -> list[Organization]:
    if request.organizations:
        orgs = []
        for name in dict.fromkeys(request.organizations):
            orgs.append(find_organization(session, name))
        return orgs
    everyone = list(session.scalars(select(Organization).order_by(Organization.name)))
    if not request.components:
        return everyone
    wanted = {c.strip().lower() for c in request.components}
    using = {p.organization_id for p in session.scalars(select(NoticeProfile))
             if wanted & {c.lower() for c in p.components}}
    return [org for org in everyone if org.id in using]


def refusals_for(session: Session, settings: Settings, *, window: Window, starts_at: dt.datetime,
                 ends_at: dt.datetime, org_ids: Sequence[int], now: dt.datetime,
                 announced: bool = False) -> tuple[Refusal, ...]:
    """The planned-maintenance rules ``starts_at``-``ends_at`` breaks for these organizations."""
    countries = [c for c in session.scalars(select(Organization.country)
                                            .where(Organization.id.in_(org_ids))) if c]
    custom = tuple(Period(b.starts_at, b.ends_at, f"agreed blackout: {b.reason}".rstrip(": "))
                   for b in session.scalars(select(NoticeBlackout).where(
                       (NoticeBlackout.organization_id.is_(None))
                       | NoticeBlackout.organization_id.in_(org_ids))))
    cfg = RuleConfig.from_settings(settings, countries)
    return check_plan(Plan(window, starts_at, ends_at, now, custom, announced), cfg)


def _refuse(refusals: Sequence[Refusal]) -> Refused:
    return Refused("refused: " + "; ".join(f"{r.rule}: {r.reason}" for r in refusals)
                   + " (use --force --why TEXT to send anyway)")


def _force(session: Session, notice: Notice, refusals: Sequence[Refusal], why: str | None,
           *, actor: str, now: dt.datetime) -> None:
    """Refuse, or record the justification for going past ``refusals``."""
    new = [r for r in refusals if r.rule not in notice.overridden]
    if not new:
        return
    if not why or not why.strip():
        raise _refuse(new)
    notice.forced = True
    notice.overridden = sorted({*notice.overridden, *(r.rule for r in new)})
    notice.force_reason = "; ".join(p for p in (notice.force_reason, why.strip()) if p)
    audit(session, actor=actor, action="notice.forced", now=now, reference=notice.reference,
          rules=[r.rule for r in new], reasons=[r.reason for r in new], why=why.strip())


def create_notice(session: Session, settings: Settings, request: NoticeRequest, *,
                  now: dt.datetime, actor: str) -> Created:
    check_shape(request.kind, title=request.title, impact=request.impact,
                starts_at=request.starts_at, ends_at=request.ends_at, link=request.link,
                window=request.window)
    orgs = _audience(session, request)
    if not orgs:
        raise Refused("no organization matches this notice's audience")
    agents = dict(request.agents)
    unknown = set(agents) - {o.name for o in orgs}
    if unknown:
        raise Refused(f"--agents names organizations outside the audience: {sorted(unknown)}")
    window = request.window or (Window.WEEKLY if request.kind is NoticeKind.PLANNED else None)
    notice = Notice(
        reference=_next_reference(session, request.kind, now), kind=request.kind.value,
        state=NoticeState.DRAFT.value, title=request.title.strip(),
        impact=request.impact.strip(), details=request.details.strip(),
        recommendation=request.recommendation.strip(), link=request.link,
        window=window.value if window else None, starts_at=request.starts_at,
        ends_at=request.ends_at, components=list(request.components), sequence=0,
        forced=False, overridden=[], created_by=actor, created_at=now, rca_reminders=0)
    session.add(notice)
    session.flush()
    if window is not None:
        assert request.starts_at is not None and request.ends_at is not None
        _force(session, notice, refusals_for(
            session, settings, window=window, starts_at=request.starts_at,
            ends_at=request.ends_at, org_ids=[o.id for o in orgs], now=now),
            request.force_reason, actor=actor, now=now)
    session.add_all(NoticeAudience(notice_id=notice.id, organization_id=o.id,
                                   agents_affected=agents.get(o.name)) for o in orgs)
    warnings = []
    if request.kind is NoticeKind.EMERGENCY and len(orgs) > 1:
        warnings.append(f"emergency maintenance usually concerns one organization; this one "
                        f"goes to {len(orgs)}")
    audit(session, actor=actor, action="notice.create", now=now, reference=notice.reference,
          kind=notice.kind, organizations=[o.name for o in orgs])
    return Created(notice.reference, notice.kind, notice.state, tuple(o.name for o in orgs),
                   tuple(o.name for o in orgs if not o.notify), notice.forced,
                   tuple(notice.overridden), tuple(warnings))


def _check_again(session: Session, settings: Settings, notice: Notice, why: str | None, *,
                 actor: str, now: dt.datetime) -> None:
    if notice.window is None or notice.starts_at is None or notice.ends_at is None:
        return
    org_ids = list(session.scalars(select(NoticeAudience.organization_id)
                                   .where(NoticeAudience.notice_id == notice.id)))
    _force(session, notice, refusals_for(
        session, settings, window=Window(notice.window), starts_at=notice.starts_at,
        ends_at=notice.ends_at, org_ids=org_ids, now=now,
        announced=notice.state == NoticeState.ACTIVE.value), why, actor=actor, now=now)


def _mailed(rt: Runtime, notice: Notice, queued: QueuedMailing, progress: Progress | None
            ) -> Mailed:
    report = SendReport()
    if queued.mailing_id is not None:
        report = send_pending(rt, at=rt.now(), mailing_ids=[queued.mailing_id],
                              progress=progress)
    return Mailed(notice.reference, notice.state, queued.mailing_id, queued.deliveries,
                  queued.without_list, report)


def send_notice(rt: Runtime, ref: str, *, actor: str, why: str | None = None,
                progress: Progress | None = None) -> Mailed:
    """Announce a draft to its audience now."""
    now = rt.now()
    with rt.db.transaction() as session:
        notice = find_notice(session, ref, lock=True)
        if notice.state != NoticeState.DRAFT.value:
            raise Refused(f"notice {notice.reference} is {notice.state}, not a draft: "
                          "it was sent already")
        _check_again(session, rt.settings, notice, why, actor=actor, now=now)
        notice.state, notice.sent_at = NoticeState.ACTIVE.value, now
        if notice.kind == NoticeKind.INCIDENT.value and notice.starts_at is None:
            notice.starts_at = now
        occasion = Occasion(Purpose.ANNOUNCE, now, next_update_at=incident.next_update_at(
            rt.settings, notice, now), cadence_minutes=rt.settings.notice_follow_up_minutes)
        queued = queue_notice_mailing(session, rt.settings, notice, occasion,
                                      dedupe_key=f"{notice.reference}/announce")
        audit(session, actor=actor, action="notice.send", now=now, reference=notice.reference,
              deliveries=queued.deliveries, without_list=list(queued.without_list))
    return _mailed(rt, notice, queued, progress)


def reschedule(rt: Runtime, ref: str, *, starts_at: dt.datetime, ends_at: dt.datetime,
               actor: str, why: str | None = None, progress: Progress | None = None) -> Mailed:
    """Move a maintenance: SEQUENCE goes up and, once announced, everyone gets the new time."""
    now = rt.now()
    with rt.db.transaction() as session:
        notice = find_notice(session, ref, lock=True)
        if not NoticeKind(notice.kind).maintenance:
            raise Refused(f"{notice.reference} is not a maintenance notice: nothing to move")
        if notice.state not in (NoticeState.DRAFT.value, NoticeState.ACTIVE.value):
            raise Refused(f"notice {notice.reference} is {notice.state}")
        check_shape(NoticeKind(notice.kind), title=notice.title, impact=notice.impact,
                    starts_at=starts_at, ends_at=ends_at, link=notice.link, window=None)
        notice.starts_at, notice.ends_at = starts_at, ends_at
        notice.overridden = []  # a new time is judged afresh
        _check_again(session, rt.settings, notice, why, actor=actor, now=now)
        notice.sequence += 1
        queued = QueuedMailing(None)
        if notice.state == NoticeState.ACTIVE.value:
            queued = queue_notice_mailing(
                session, rt.settings, notice, Occasion(Purpose.RESCHEDULE, now),
                dedupe_key=f"{notice.reference}/reschedule/{notice.sequence}")
        audit(session, actor=actor, action="notice.reschedule", now=now,
              reference=notice.reference, starts_at=starts_at.isoformat(),
              ends_at=ends_at.isoformat(), sequence=notice.sequence)
    return _mailed(rt, notice, queued, progress)


def post_status(session: Session, ref: str, text: str, *, now: dt.datetime, actor: str
                ) -> NoticeStatusUpdate:
    """The incident commander's latest status: the next follow-up carries it."""
    notice = find_notice(session, ref)
    if notice.kind != NoticeKind.INCIDENT.value:
        raise Refused(f"{notice.reference} is not an incident: --status is for incidents")
    if notice.state not in (NoticeState.DRAFT.value, NoticeState.ACTIVE.value):
        raise Refused(f"incident {notice.reference} is {notice.state}")
    if not text.strip():
        raise Refused("--status needs a text")
    row = NoticeStatusUpdate(notice_id=notice.id, text=text.strip(), at=now, actor=actor)
    session.add(row)
    audit(session, actor=actor, action="notice.status", now=now, reference=notice.reference)
    session.flush()
    return row


def all_clear(rt: Runtime, ref: str, text: str, *, actor: str,
              progress: Progress | None = None) -> Mailed:
    """Restore: stop the follow-ups, tell everyone how to return to normal, start the RCA
    clock: each organization is promised the RCA within 5 business days of its own calendar,
    and the desk's due date (the reminder's) is the earliest of those and its own."""
    now = rt.now()
    if not text.strip():
        raise Refused("--text must say how to return to normal operation")
    with rt.db.transaction() as session:
        notice = find_notice(session, ref, lock=True)
        if notice.kind != NoticeKind.INCIDENT.value:
            raise Refused(f"{notice.reference} is not an incident")
        if notice.state != NoticeState.ACTIVE.value:
            raise Refused(f"incident {notice.reference} is {notice.state}: the all-clear "
                          "follows a sent alert")
        notice.state, notice.resolved_at = NoticeState.RESOLVED.value, now
        notice.all_clear_text = text.strip()
        notice.rca_due_at = min([rca_due(rt.settings, now)] + [
            org.calendar.add_days(now, rt.settings.notice_rca_business_days)
            for org in audience(session, notice.id) if org.calendar is not None])
        queued = queue_notice_mailing(session, rt.settings, notice,
                                      Occasion(Purpose.ALL_CLEAR, now),
                                      dedupe_key=f"{notice.reference}/all-clear")
        audit(session, actor=actor, action="notice.all_clear", now=now,
              reference=notice.reference, rca_due_at=notice.rca_due_at.isoformat())
    return _mailed(rt, notice, queued, progress)


def rca_due(settings: Settings, resolved_at: dt.datetime) -> dt.datetime:
    calendar = BusinessCalendar(settings.notice_zone, country=settings.notice_holiday_country)
    return calendar.add_days(resolved_at, settings.notice_rca_business_days)


def cancel(rt: Runtime, ref: str, *, actor: str, progress: Progress | None = None) -> Mailed:
    """Call a notice off; recipients of a sent one are told (maintenance: METHOD:CANCEL)."""
    now = rt.now()
    with rt.db.transaction() as session:
        notice = find_notice(session, ref, lock=True)
        if notice.state not in (NoticeState.DRAFT.value, NoticeState.ACTIVE.value):
            raise Refused(f"notice {notice.reference} is {notice.state}")
        was_sent = notice.state == NoticeState.ACTIVE.value
        notice.state, notice.cancelled_at = NoticeState.CANCELLED.value, now
        queued = QueuedMailing(None)
        if was_sent:
            notice.sequence += 1
            queued = queue_notice_mailing(session, rt.settings, notice,
                                          Occasion(Purpose.CANCEL, now),
                                          dedupe_key=f"{notice.reference}/cancel")
        audit(session, actor=actor, action="notice.cancel", now=now,
              reference=notice.reference, mailed=was_sent)
    return _mailed(rt, notice, queued, progress)


def deliver_rca(rt: Runtime, ref: str, link: str, *, actor: str,
                progress: Progress | None = None) -> Mailed:
    """The RCA is out: record it (reminders stop) and send its link to the audience."""
    now = rt.now()
    with rt.db.transaction() as session:
        notice = find_notice(session, ref, lock=True)
        if notice.kind != NoticeKind.INCIDENT.value or \
                notice.state != NoticeState.RESOLVED.value:
            raise Refused(f"{notice.reference}: an RCA follows a resolved incident")
        check_shape(NoticeKind.ADVISORY, title=notice.title, impact="-", starts_at=None,
                    ends_at=None, link=link, window=None)
        notice.rca_delivered_at, notice.rca_link = now, link
        queued = queue_notice_mailing(session, rt.settings, notice, Occasion(Purpose.RCA, now),
                                      dedupe_key=f"{notice.reference}/rca")
        audit(session, actor=actor, action="notice.rca", now=now, reference=notice.reference,
              link=link, late=bool(notice.rca_due_at and now > notice.rca_due_at))
    return _mailed(rt, notice, queued, progress)


def set_agents(session: Session, ref: str, agents: Sequence[tuple[str, int]]) -> None:
    """Agents affected per organization of an incident (availability)."""
    notice = find_notice(session, ref)
    for name, count in agents:
        row = session.scalars(select(NoticeAudience).join(
            Organization, Organization.id == NoticeAudience.organization_id).where(
            NoticeAudience.notice_id == notice.id, Organization.name == name)).first()
        if row is None:
            raise NotFound(f"{name!r} is not in the audience of {notice.reference}")
        row.agents_affected = count


def set_profile(session: Session, org_name: str, *, agents: int | None,
                components: Sequence[str] | None) -> NoticeProfile:
    org = find_organization(session, org_name)
    profile = session.get(NoticeProfile, org.id)
    if profile is None:
        profile = NoticeProfile(organization_id=org.id, agents=None, components=[])
        session.add(profile)
    if agents is not None:
        if agents < 1:
            raise Refused("--agents must be at least 1")
        profile.agents = agents
    if components is not None:
        profile.components = sorted({c.strip().lower() for c in components if c.strip()})
    session.flush()
    return profile


def add_blackout(session: Session, *, org_name: str | None, starts_at: dt.datetime,
                 ends_at: dt.datetime, reason: str, now: dt.datetime, actor: str,
                 why: str | None = None) -> NoticeBlackout:
    """An agreed blackout, set 30-90 days before it starts (Echopass "Blackout Periods")."""
    if ends_at <= starts_at:
        raise Refused("--end must come after --start")
    lead = starts_at - now
    if not dt.timedelta(days=30) <= lead <= dt.timedelta(days=90) and not (why or "").strip():
        raise Refused(f"a blackout is agreed 30-90 days before it starts; this one starts in "
                      f"{lead.days} days (use --force --why TEXT to record it anyway)")
    org_id = None
    if org_name:
        org_id = find_organization(session, org_name).id
    row = NoticeBlackout(organization_id=org_id, starts_at=starts_at, ends_at=ends_at,
                         reason=reason.strip(), created_by=actor, created_at=now)
    session.add(row)
    audit(session, actor=actor, action="notice.blackout", now=now, organization=org_name,
          starts_at=starts_at.isoformat(), ends_at=ends_at.isoformat(), why=why)
    session.flush()
    return row

