"""SLA timers: a warning before a target is missed and a notice when it is, to the care team.

Place in the flow: on the clock. ``store.start_case_clocks`` leaves the response and resolution
timers when a case opens and ``store.on_status_event`` leaves new resolution timers whenever the
clock resumes (back to Open); the scheduler arms them here with the time the clock has already
used (``clocks``), and fires them: a warning when ``settings.sla_warning_share`` of the target is
left, a breach notice when nothing is. Each notice goes out once per case, however often the
resolution clock pauses and resumes. Targets per severity come from ``settings.sla_targets``.
"""

from __future__ import annotations

import datetime as dt

from workflows.cases.service import audit
from workflows.clock.clocks import deadline, running_spans, used
from workflows.clock.store import (
    ALREADY,
    RESPONSE_KINDS,
    STALE,
    STEPS,
    CaseFacts,
    ClaimedTimer,
    FireContext,
    Fired,
    TimerKind,
    TimerOutcome,
    local_time,
    next_step,
)
from workflows.clock.targets import target_for
from workflows.domain import CaseStatus, OutboundKind
from workflows.outbound.compose import queue_mail
from workflows.settings import Settings

ACTOR = "system:sla"
WARNINGS = frozenset({TimerKind.RESPONSE_WARNING, TimerKind.RESOLUTION_WARNING})


def already_notified(kind: TimerKind, facts: CaseFacts) -> bool:
    """Once per case: this notice, or the breach that makes its warning moot, went out."""
    steps = STEPS[kind]
    return any(step in facts.acted for step in steps[steps.index(kind):])


def sla_due(kind: TimerKind, started_at: dt.datetime, facts: CaseFacts,
            settings: Settings) -> dt.datetime | TimerOutcome:
    """When an SLA timer whose clock (re)started at ``started_at`` falls due."""
    if already_notified(kind, facts):
        return TimerOutcome.ALREADY
    target = target_for(settings.sla_targets, facts.severity)
    share = settings.sla_warning_share if kind in WARNINGS else 0.0
    if kind in RESPONSE_KINDS:
        return deadline(facts.calendar, target.response, started_at, 0.0, share_left=share)
    spans = running_spans(facts.case.created_at, facts.changes, started_at)
    spent = used(facts.calendar, target.resolution, spans)
    return deadline(facts.calendar, target.resolution, started_at, spent, share_left=share)


def is_live(timer: ClaimedTimer, facts: CaseFacts) -> bool:
    if timer.kind in RESPONSE_KINDS:  # until the first analyst post
        return facts.first_post_at is None and facts.status is not CaseStatus.CLOSED
    # the resolution clock runs only while Open, and this timer belongs to the current run
    return facts.status is CaseStatus.OPEN and facts.case.status_changed_at == timer.started_at


def fire_sla(ctx: FireContext, timer: ClaimedTimer, facts: CaseFacts) -> Fired:
    if not is_live(timer, facts):
        return STALE
    if already_notified(timer.kind, facts):
        return ALREADY
    case = facts.case
    clock = "response" if timer.kind in RESPONSE_KINDS else "resolution"
    breach = timer.kind not in WARNINGS
    target = target_for(ctx.settings.sla_targets, facts.severity)
    goal = target.response if clock == "response" else target.resolution
    # When the target is missed: a breach's own due time; a warning's is earlier (the share
    # left), so it names its breach's, computed on the same run of the clock.
    missed = timer.due_at or ctx.at
    if not breach:
        step = next_step(timer.kind)
        due = sla_due(step, timer.started_at, facts, ctx.settings) if step else missed
        missed = due if isinstance(due, dt.datetime) else missed
    facts.acted.add(timer.kind)
    audit(ctx.session, actor=ACTOR, action=f"sla.{timer.kind.value}", now=ctx.at,
          case_id=case.id, target=str(goal), due_at=timer.due_at.isoformat()
          if timer.due_at else None)
    address = ctx.settings.care_team_address
    if not address:
        return Fired(TimerOutcome.RECORDED)
    kind = OutboundKind.SLA_BREACH if breach else OutboundKind.SLA_WARNING
    verb = "missed" if breach else "close to"
    out = queue_mail(
        ctx.session, ctx.settings, ctx.key, kind=kind, case=None, to=(address,),
        subject=f"SLA {clock} target {verb}: {case.number} {case.subject}", automated=True,
        now=ctx.at, context={
            "number": case.number, "subject": case.subject, "severity": case.severity,
            "status": case.status, "organization": facts.organization.name, "clock": clock,
            "target": str(goal), "due_at": local_time(facts, missed),
            "due_at_utc": missed.strftime("%Y-%m-%d %H:%M UTC"),
            "share_left": round(ctx.settings.sla_warning_share * 100),
            "case_url": ctx.settings.console_link(case.number)})
    # No Reference ID (the care team is not a case contact), but the row belongs to the case.
    out.case_id = case.id
    return Fired(TimerOutcome.SENT, out.id)
