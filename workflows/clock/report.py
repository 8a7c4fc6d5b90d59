"""Read models of the lifecycle: a case's timers and SLA clocks, and the SLA report.

Place in the flow: outside the message flow; reads only. ``workflows.cases.views.case_detail`` adds
the timers and clocks to ``case show``; ``ticketgate sla report`` prints ``sla_report`` (the desks
aim for more than 80% of cases resolved within target, DOMAIN.md).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.clock.clocks import Clock, resolution_clock, response_clock
from workflows.clock.kinds import due_of, first_step, is_live
from workflows.clock.store import (
    CaseFacts,
    ClaimedTimer,
    TimerKind,
    TimerOutcome,
    load_facts,
    next_step,
)
from workflows.clock.targets import target_for
from workflows.domain import CaseStatus, Resolution, Severity
from workflows.settings import Settings
from workflows.storage.models import Case, DueTimer, Organization

GOAL = 0.8


def iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


@dataclass(frozen=True, slots=True)
class TimerLine:
    kind: str
    state: str  # pending, planned (a later step), stopped (its clock stopped), or its outcome
    started_at: str | None
    due_at: str | None
    fired_at: str | None


@dataclass(frozen=True, slots=True)
class ClockLine:
    name: str
    target: str
    state: str
    elapsed_seconds: int
    remaining_seconds: int
    breached: bool
    due_at: str | None
    stopped_at: str | None


def timer_lines(session: Session, settings: Settings, case: Case) -> list[TimerLine]:
    """The case's timer rows, and for each running clock the steps still to come."""
    facts = load_facts(session, [case.id], lock=False, history=True)[case.id]
    lines = []
    for row in session.scalars(select(DueTimer).where(DueTimer.case_id == case.id)
                               .order_by(DueTimer.id)):
        kind = TimerKind(row.kind)
        if row.fired_at is not None:
            lines.append(TimerLine(kind.value, row.outcome or "claimed", iso(row.started_at),
                                   iso(row.due_at), iso(row.fired_at)))
            continue
        due: dt.datetime | TimerOutcome | None = row.due_at
        if due is None:
            kind, due = first_step(kind, row.started_at, facts, settings)
        timer = ClaimedTimer(row.id, case.id, kind, row.started_at,
                             due if isinstance(due, dt.datetime) else None)
        if not isinstance(due, dt.datetime) or not is_live(timer, facts):
            lines.append(TimerLine(kind.value, "stopped", iso(row.started_at), None, None))
            continue
        lines.append(TimerLine(kind.value, "pending", iso(row.started_at), iso(due), None))
        while (kind := next_step(kind)) is not None:  # type: ignore[assignment]
            planned = due_of(kind, row.started_at, facts, settings)
            if not isinstance(planned, dt.datetime):
                break
            lines.append(TimerLine(kind.value, "planned", iso(row.started_at), iso(planned),
                                   None))
    return lines


def case_clocks(session: Session, settings: Settings, case: Case, now: dt.datetime
                ) -> list[ClockLine]:
    facts = load_facts(session, [case.id], lock=False, history=True)[case.id]
    return [_line(c) for c in _clocks(facts, settings, now)]


def _clocks(facts: CaseFacts, settings: Settings, now: dt.datetime) -> tuple[Clock, Clock]:
    case = facts.case
    target = target_for(settings.sla_targets, facts.severity)
    return (
        response_clock(facts.calendar, target.response, created_at=case.created_at,
                       first_post_at=facts.first_post_at, closed_at=case.closed_at, now=now),
        resolution_clock(facts.calendar, target.resolution, created_at=case.created_at,
                         status=facts.status, closed_at=case.closed_at,
                         changes=facts.changes, now=now),
    )


def _line(clock: Clock) -> ClockLine:
    return ClockLine(clock.name, clock.target, clock.state.value, clock.elapsed_seconds,
                     clock.remaining_seconds, clock.breached, iso(clock.due_at),
                     iso(clock.stopped_at))


@dataclass(frozen=True, slots=True)
class ShareLine:
    cases: int
    resolved_within_target: int
    resolution_share: float | None
    answered_within_target: int
    response_share: float | None


@dataclass(frozen=True, slots=True)
class SlaReport:
    organization: str | None
    closed_from: str | None
    closed_to: str | None
    goal: float
    total: ShareLine
    meets_goal: bool | None  # None: no case in the period
    by_severity: dict[str, ShareLine] = field(default_factory=dict)


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def sla_report(session: Session, settings: Settings, *, organization: str | None = None,
               start: dt.date | None = None, end: dt.date | None = None) -> SlaReport:
    """Cases resolved (not cancelled) with a closing date in [start, end] (UTC, inclusive):
    how many met their resolution and response targets."""
    query = select(Case.id).where(Case.status == CaseStatus.CLOSED.value,
                                  Case.resolution == Resolution.RESOLVED.value)
    if organization:
        query = query.join(Organization, Organization.id == Case.organization_id).where(
            Organization.name == organization)
    if start:
        query = query.where(Case.closed_at >= dt.datetime.combine(start, dt.time(), dt.UTC))
    if end:
        query = query.where(Case.closed_at < dt.datetime.combine(
            end + dt.timedelta(days=1), dt.time(), dt.UTC))
    ids = list(session.scalars(query.order_by(Case.id)))
    tally: dict[str, list[int]] = {s.value: [0, 0, 0] for s in Severity}
    for chunk in (ids[i:i + 500] for i in range(0, len(ids), 500)):
        for facts in load_facts(session, chunk, lock=False, history=True).values():
            assert facts.case.closed_at is not None
            response, resolution = _clocks(facts, settings, facts.case.closed_at)
            line = tally[facts.severity.value]
            line[0] += 1
            line[1] += not resolution.breached
            line[2] += not response.breached
    by_severity = {sev: ShareLine(n, ok, _share(ok, n), answered, _share(answered, n))
                   for sev, (n, ok, answered) in tally.items() if n}
    n, ok, answered = (sum(v[i] for v in tally.values()) for i in range(3))
    total = ShareLine(n, ok, _share(ok, n), answered, _share(answered, n))
    return SlaReport(organization, start.isoformat() if start else None,
                     end.isoformat() if end else None, GOAL, total,
                     (ok / n > GOAL) if n else None, by_severity)
