"""The ``due_timers`` table: timer kinds, the rows a starting clock leaves, and the claim.

Place in the flow: ``workflows.cases.service.set_status`` and ``open_case`` call the hooks here in
the transaction that changes the case; ``workflows.clock.scheduler`` loads, arms and claims the
rows.

A clock's timers form a chain of steps (reminder #1, #2, close; warning, breach). A row is one
step: the hooks leave the first step of a clock that starts, and firing a step leaves the next
one, already armed, in the same transaction. So a case has one pending row per running clock.

The hooks only *insert* (they know neither the settings nor the calendar, and inserting takes no
lock another transaction could hold): a clock that stops is never cancelled row by row; instead
the scheduler finds out, when it arms a row or when the row falls due, that its clock has
stopped or restarted since, and closes it as ``stale``. That keeps inbound processing free of
lock conflicts with the scheduler. Staleness never goes away (a new run of a clock is a new
row), so it may be decided without holding a lock.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from workflows.cases.state import CaseEvent
from workflows.clock.calendar import (
    DEFAULT_HOURS,
    DEFAULT_WORKDAYS,
    BusinessCalendar,
    CalendarError,
    check_country,
    format_workdays,
    parse_closed_day,
)
from workflows.clock.targets import ESCALATE_UNANSWERED, NO_FOLLOW_UP
from workflows.domain import CaseStatus, Severity, UpdateKind
from workflows.outbound.htmltext import zoned_time
from workflows.settings import Settings
from workflows.storage.models import (
    Case,
    CaseStatusChange,
    CaseUpdate,
    Contact,
    DueTimer,
    Organization,
    OutboundMessage,
)

log = logging.getLogger(__name__)


class TimerKind(StrEnum):
    FOLLOW_UP_1 = "follow_up_1"  # reminder #1 to the contact
    FOLLOW_UP_2 = "follow_up_2"  # reminder #2
    FOLLOW_UP_CLOSE = "follow_up_close"  # close as resolved by auto follow-up
    RESPONSE_WARNING = "response_warning"
    RESPONSE_BREACH = "response_breach"
    RESOLUTION_WARNING = "resolution_warning"
    RESOLUTION_BREACH = "resolution_breach"
    UNANSWERED = "unanswered_escalation"  # High/Critical still unanswered: escalate


class TimerOutcome(StrEnum):
    SENT = "sent"  # its mail was queued
    RECORDED = "recorded"  # acted and audited, but no address is configured to mail
    CLOSED = "closed"  # the case was closed by auto follow-up
    ESCALATED = "escalated"
    STALE = "stale"  # its clock stopped or restarted before it fell due: nothing done
    SUPERSEDED = "superseded"  # a later step of the same clock was due too: that one acted
    ALREADY = "already_notified"  # once per case: an earlier run of the clock sent it
    FAILED = "failed"  # acting raised; logged, kept for the operator
    DUE = "due"  # only in a dry run's listing: what would act


ACTED = frozenset({TimerOutcome.SENT, TimerOutcome.RECORDED, TimerOutcome.CLOSED,
                   TimerOutcome.ESCALATED})
FOLLOW_UP_KINDS = (TimerKind.FOLLOW_UP_1, TimerKind.FOLLOW_UP_2, TimerKind.FOLLOW_UP_CLOSE)
RESPONSE_KINDS = (TimerKind.RESPONSE_WARNING, TimerKind.RESPONSE_BREACH)
RESOLUTION_KINDS = (TimerKind.RESOLUTION_WARNING, TimerKind.RESOLUTION_BREACH)
FOLLOW_UP_STATUSES = frozenset({CaseStatus.AWAITING_INFO, CaseStatus.SOLUTION_PROPOSED})
REQUEST_EVENTS = frozenset({CaseEvent.ANALYST_REQUESTED_INFO,
                            CaseEvent.ANALYST_PROPOSED_SOLUTION})
# The steps of each clock, in order; the first one is what a starting clock leaves. When several
# are due at once (a scheduler that was down), only the last one acts.
STEPS: dict[TimerKind, tuple[TimerKind, ...]] = {
    **{k: FOLLOW_UP_KINDS for k in FOLLOW_UP_KINDS},
    **{k: RESPONSE_KINDS for k in RESPONSE_KINDS},
    **{k: RESOLUTION_KINDS for k in RESOLUTION_KINDS},
    TimerKind.UNANSWERED: (TimerKind.UNANSWERED,),
}


def next_step(kind: TimerKind) -> TimerKind | None:
    steps = STEPS[kind]
    index = steps.index(kind) + 1
    return steps[index] if index < len(steps) else None


# -- hooks: called by the case services, in their transaction -----------------------------------
def _add(session: Session, case_id: int, kinds: Iterable[TimerKind], now: dt.datetime) -> None:
    for kind in kinds:
        session.add(DueTimer(case_id=case_id, kind=kind.value, started_at=now))


def start_case_clocks(session: Session, case: Case, now: dt.datetime) -> None:
    """A new case: its response and resolution clocks start (and the 1-hour escalation)."""
    kinds = [TimerKind.RESPONSE_WARNING, TimerKind.RESOLUTION_WARNING]
    if Severity(case.severity) in ESCALATE_UNANSWERED:
        kinds.append(TimerKind.UNANSWERED)
    _add(session, case.id, kinds, now)


def on_status_event(session: Session, case: Case, old: CaseStatus, new: CaseStatus,
                    event: CaseEvent, now: dt.datetime) -> None:
    """Start the clocks a status event starts; stopping is found out when a timer falls due.

    Every request for information or proposed solution (re)starts the follow-up timer, even
    when the status does not change: the contact was asked something new. Entering Open from
    any other status (customer reply, reopen) resumes the resolution clock.
    """
    if (event in REQUEST_EVENTS and new in FOLLOW_UP_STATUSES
            and Severity(case.severity) not in NO_FOLLOW_UP):
        _add(session, case.id, (TimerKind.FOLLOW_UP_1,), now)
    if new is CaseStatus.OPEN and old is not CaseStatus.OPEN:
        _add(session, case.id, (TimerKind.RESOLUTION_WARNING,), now)


# -- what the scheduler reads about the cases of a chunk ----------------------------------------
@lru_cache(maxsize=1024)
def _calendar(zone: str, hours: str | None, workdays: str | None, country: str | None,
              closed: tuple[str, ...]) -> BusinessCalendar:
    kwargs = {"hours": hours} if hours else {}
    if workdays:
        kwargs["workdays"] = workdays
    return BusinessCalendar(zone, country=country,
                            closed_days=[parse_closed_day(d) for d in closed], **kwargs)


def calendar_of(org: Organization) -> BusinessCalendar:
    """The organization's calendar, shared by everyone asking with the same settings.

    A calendar that cannot be built (a country the ``holidays`` package does not know, stored
    before ``org add`` checked it) falls back to the default hours in the organization's zone
    without holidays, with a warning: the scheduler must keep running for everyone else."""
    try:
        return _calendar(org.timezone or "UTC", org.business_hours, org.workdays, org.country,
                         tuple(org.closed_days or ()))
    except CalendarError as exc:
        log.warning("organization #%s: %s; using default business hours", org.id, exc)
        try:
            return _calendar(org.timezone or "UTC", None, None, None, ())
        except CalendarError:
            return _calendar("UTC", None, None, None, ())


@dataclass(frozen=True, slots=True)
class ClaimedTimer:
    id: int
    case_id: int
    kind: TimerKind
    started_at: dt.datetime
    due_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class CaseFacts:
    """One case as the scheduler sees it while its timers are armed or fired."""

    case: Case
    organization: Organization
    calendar: BusinessCalendar
    contact: Contact | None
    follow_up_cycle: dt.datetime | None  # start of the newest follow-up timer
    first_post_at: dt.datetime | None  # the first analyst post: the response clock stops
    acted: set[TimerKind] = field(default_factory=set)  # kinds that already acted (once each)
    changes: tuple[tuple[dt.datetime, CaseStatus], ...] = ()  # status history, oldest first
    last_post: tuple[str, str | None] | None = None  # the analyst's last words, their Message-ID

    @property
    def status(self) -> CaseStatus:
        return CaseStatus(self.case.status)

    @property
    def severity(self) -> Severity:
        return Severity(self.case.severity)


def load_facts(session: Session, case_ids: Sequence[int], *, lock: bool,
               history: bool | Sequence[int] = False, mail: bool = False
               ) -> dict[int, CaseFacts]:
    """Everything the timers of ``case_ids`` need, in a handful of queries.

    ``history``: the status changes too (of all the cases, or of the ids given); ``mail``: what
    acting needs besides (the contacts, the analyst's last post).

    ``lock``: hold the case rows (``FOR NO KEY UPDATE`` on PostgreSQL, so inserts that refer to
    the case are not blocked) until commit, so a reply cannot change a case between the check
    that a timer is still live and what the timer does.
    """
    ids = sorted(set(case_ids))
    query = select(Case).where(Case.id.in_(ids)).order_by(Case.id)
    if lock:
        query = query.with_for_update(key_share=True)
    cases = list(session.scalars(query))
    orgs = {o.id: o for o in session.scalars(
        select(Organization).where(Organization.id.in_({c.organization_id for c in cases})))}
    contact_ids = {c.contact_id for c in cases if c.contact_id} if mail else set()
    contacts = {c.id: c for c in session.scalars(
        select(Contact).where(Contact.id.in_(contact_ids)))} if contact_ids else {}
    cycles = dict(session.execute(
        select(DueTimer.case_id, func.max(DueTimer.started_at))
        .where(DueTimer.case_id.in_(ids),
               DueTimer.kind.in_([k.value for k in FOLLOW_UP_KINDS]))
        .group_by(DueTimer.case_id)).all())
    posts = dict(session.execute(
        select(CaseUpdate.case_id, func.min(CaseUpdate.created_at))
        .where(CaseUpdate.case_id.in_(ids), CaseUpdate.kind == UpdateKind.POST.value)
        .group_by(CaseUpdate.case_id)).all())
    acted: dict[int, set[TimerKind]] = {}
    for case_id, kind in session.execute(
            select(DueTimer.case_id, DueTimer.kind).distinct()
            .where(DueTimer.case_id.in_(ids),
                   DueTimer.outcome.in_([o.value for o in ACTED]))):
        acted.setdefault(case_id, set()).add(TimerKind(kind))
    changes: dict[int, list[tuple[dt.datetime, CaseStatus]]] = {}
    if history:
        wanted = ids if history is True else sorted(set(history))
        for case_id, at, to in session.execute(
                select(CaseStatusChange.case_id, CaseStatusChange.at, CaseStatusChange.to_status)
                .where(CaseStatusChange.case_id.in_(wanted))
                .order_by(CaseStatusChange.case_id, CaseStatusChange.id)):
            changes.setdefault(case_id, []).append((at, CaseStatus(to)))
    last: dict[int, tuple[str, str | None]] = {}
    if mail:
        newest = (select(func.max(CaseUpdate.id))
                  .where(CaseUpdate.case_id.in_(ids), CaseUpdate.kind == UpdateKind.POST.value)
                  .group_by(CaseUpdate.case_id))
        for case_id, text, message_id in session.execute(
                select(CaseUpdate.case_id, CaseUpdate.visible_text, OutboundMessage.message_id)
                .outerjoin(OutboundMessage, OutboundMessage.id == CaseUpdate.outbound_message_id)
                .where(CaseUpdate.id.in_(newest))):
            last[case_id] = (text, message_id)
    facts = {}
    for case in cases:
        org = orgs[case.organization_id]
        facts[case.id] = CaseFacts(
            case=case, organization=org, calendar=calendar_of(org),
            contact=contacts.get(case.contact_id) if case.contact_id else None,
            follow_up_cycle=cycles.get(case.id), first_post_at=posts.get(case.id),
            acted=acted.get(case.id, set()), changes=tuple(changes.get(case.id, ())),
            last_post=last.get(case.id))
    return facts


def claim_due(session: Session, timer_ids: Sequence[int], at: dt.datetime
              ) -> list[ClaimedTimer]:
    """Compare-and-set claim of due rows: ``UPDATE ... SET fired_at = at WHERE id IN (...)
    AND fired_at IS NULL AND due_at <= at RETURNING``. A row another scheduler claimed first
    is not returned, so each row acts in exactly one transaction: the one that claimed it."""
    rows = session.execute(
        update(DueTimer)
        .where(DueTimer.id.in_(sorted(set(timer_ids))), DueTimer.fired_at.is_(None),
               DueTimer.due_at <= at)
        .values(fired_at=at)
        .returning(DueTimer.id, DueTimer.case_id, DueTimer.kind, DueTimer.started_at,
                   DueTimer.due_at),
        execution_options={"synchronize_session": False},
    ).all()
    return sorted((ClaimedTimer(i, c, TimerKind(k), s, d) for i, c, k, s, d in rows),
                  key=lambda t: (t.case_id, t.due_at or t.started_at, t.id))


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a claimed row did: the step that acted (a later one when the row's own step was
    overtaken), its outcome and mail, and the next step's row to leave, if any."""

    timer_id: int
    kind: TimerKind
    outcome: TimerOutcome
    outbound_id: int | None
    next_due: dt.datetime | None
    next_kind: TimerKind | None
    due_at: dt.datetime | None = None  # the acting step's, when it overtook the row's own


def record_outcomes(session: Session, outcomes: Sequence[Outcome],
                    claimed: dict[int, ClaimedTimer]) -> None:
    """Store what each claimed row did and leave the next steps' rows, armed."""
    if not outcomes:
        return
    session.execute(update(DueTimer), [
        {"id": o.timer_id, "kind": o.kind.value, "outcome": o.outcome.value,
         "outbound_message_id": o.outbound_id,
         "due_at": o.due_at or claimed[o.timer_id].due_at} for o in outcomes])
    following = [
        {"case_id": claimed[o.timer_id].case_id, "kind": o.next_kind.value,
         "started_at": claimed[o.timer_id].started_at, "due_at": o.next_due}
        for o in outcomes if o.next_kind is not None and o.next_due is not None]
    if following:
        session.execute(insert(DueTimer), following)


@dataclass(frozen=True, slots=True)
class FireContext:
    """What acting on a timer needs: the chunk's transaction, settings, key and the pass time."""

    session: Session
    settings: Settings
    key: bytes
    at: dt.datetime


@dataclass(frozen=True, slots=True)
class Fired:
    outcome: TimerOutcome
    outbound_id: int | None = None


STALE = Fired(TimerOutcome.STALE)
SUPERSEDED = Fired(TimerOutcome.SUPERSEDED)
ALREADY = Fired(TimerOutcome.ALREADY)


def local_time(facts: CaseFacts, at: dt.datetime) -> str:
    """``at`` as the organization reads it: ``2026-03-13 18:00 CET (Europe/Berlin)``."""
    return zoned_time(at, facts.calendar.zone.key)


def set_business_calendar(org: Organization, *, hours: str | None, workdays: str | None,
                          closed_days: Iterable[str]) -> BusinessCalendar:
    """Validate and store an organization's business hours, workdays and extra closed days
    (None keeps the default); returns the calendar they make. Raises ``CalendarError``."""
    closed = sorted({parse_closed_day(d).isoformat() for d in closed_days})
    calendar = BusinessCalendar(org.timezone or "UTC", country=org.country,
                                hours=hours or DEFAULT_HOURS,
                                workdays=workdays or DEFAULT_WORKDAYS,
                                closed_days=[parse_closed_day(d) for d in closed])
    check_country(org.country)
    org.business_hours = str(calendar.describe()["hours"]) if hours else None
    org.workdays = format_workdays(calendar.workdays) if workdays else None
    org.closed_days = closed or None
    return calendar
