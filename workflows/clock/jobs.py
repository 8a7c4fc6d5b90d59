"""The clock's registry: every job the clock owes, one small class each, run in this order.

Place in the flow: beside the message flow, on the clock. ``workflows.clock.scheduler.run_pass``
runs ``JOBS`` (and nothing else); every entry point that moves the clock runs that pass: the
embedded scheduler thread of ``ticketgate serve``, Celery beat's ``ticketgate.run_timers`` task and
``ticketgate timers run [--at ISO] [--dry-run]``. A job added here is therefore run by all three
(``tests/clock/`` fails when one of them does not report every name of ``JOBS``).

A job has a ``name`` (what reports and the CLI call it), a one-line ``description`` and one
``run(rt, at, dry_run=...)`` that does what is due at ``at`` (or, in a dry run, changes nothing
and lists it) and returns its own typed report, whose ``lines()`` say what it did in a word.
Each job is idempotent: a second run at the same ``at`` finds nothing new to do.

The order matters once: the jobs that queue mail (case timers, notice stages) come before the
jobs that send what is due (notice deliveries, case mail), so one pass both queues and sends.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import ClassVar, Protocol

from workflows.clock.firing import TimerReport, run_timers
from workflows.clock.purge import PurgeReport, purge_attachments
from workflows.clock.store import FOLLOW_UP_KINDS, TimerKind
from workflows.notices.scheduler import (
    CaseReports,
    IncidentFollowUps,
    NoticeDeliveries,
    RcaReminders,
    queue_case_reports,
    queue_incident_follow_ups,
    queue_rca,
    send_due_deliveries,
)
from workflows.outbound.outbox import list_due
from workflows.runtime import Runtime


class JobReport(Protocol):
    def lines(self) -> tuple[str, ...]:
        """What the job did (or, in a dry run, what is due): one short line each."""


class ClockJob(Protocol):
    # Read-only members: each job names itself as class constants.
    @property
    def name(self) -> str: ...

    @property
    def description(self) -> str: ...

    def run(self, rt: Runtime, at: dt.datetime, *, dry_run: bool) -> JobReport: ...


@dataclass(frozen=True)
class CaseTimersJob:
    """A case-timer job: the timer kinds of one family of clocks. ``send=False`` leaves the
    mail it queues to the case-mail job (benchmarks time the timers alone)."""

    kinds: ClassVar[tuple[TimerKind, ...]] = ()
    send: bool = True

    def run(self, rt: Runtime, at: dt.datetime, *, dry_run: bool) -> TimerReport:
        return run_timers(rt, at, self.kinds, dry_run=dry_run, send=self.send)


@dataclass(frozen=True)
class FollowUpsJob(CaseTimersJob):
    name: ClassVar[str] = "follow-ups"
    description: ClassVar[str] = ("case follow-ups: reminders at 2 and 5 business days without "
                                  "the customer's answer, closed at 10")
    kinds: ClassVar[tuple[TimerKind, ...]] = FOLLOW_UP_KINDS


@dataclass(frozen=True)
class SlaJob(CaseTimersJob):
    name: ClassVar[str] = "sla"
    description: ClassVar[str] = "SLA warnings and breaches of the response and resolution targets"
    kinds: ClassVar[tuple[TimerKind, ...]] = (
        TimerKind.RESPONSE_WARNING, TimerKind.RESPONSE_BREACH, TimerKind.RESOLUTION_WARNING,
        TimerKind.RESOLUTION_BREACH)


@dataclass(frozen=True)
class EscalationsJob(CaseTimersJob):
    name: ClassVar[str] = "escalations"
    description: ClassVar[str] = "High and Critical cases still unanswered: escalated"
    kinds: ClassVar[tuple[TimerKind, ...]] = (TimerKind.UNANSWERED,)


@dataclass(frozen=True)
class PurgeJob:
    name: ClassVar[str] = "purge"
    description: ClassVar[str] = ("files of cases closed longer than purge_after_days, and of "
                                  "mail never linked to a case (triage_attachment_retention_days)")

    def run(self, rt: Runtime, at: dt.datetime, *, dry_run: bool) -> PurgeReport:
        return purge_attachments(
            rt.db, rt.settings.blob_dir, at, after_days=rt.settings.purge_after_days,
            triage_after_days=rt.settings.triage_attachment_retention_days, dry_run=dry_run)


@dataclass(frozen=True)
class IncidentFollowUpsJob:
    name: ClassVar[str] = "incident-follow-ups"
    description: ClassVar[str] = "incident follow-ups every notice_follow_up_minutes"

    def run(self, rt: Runtime, at: dt.datetime, *, dry_run: bool) -> IncidentFollowUps:
        return queue_incident_follow_ups(rt, at, dry_run=dry_run)


@dataclass(frozen=True)
class RcaRemindersJob:
    name: ClassVar[str] = "rca-reminders"
    description: ClassVar[str] = "reminders of RCAs due soon or overdue after an all-clear"

    def run(self, rt: Runtime, at: dt.datetime, *, dry_run: bool) -> RcaReminders:
        return queue_rca(rt, at, dry_run=dry_run)


@dataclass(frozen=True)
class CaseReportsJob:
    name: ClassVar[str] = "case-reports"
    description: ClassVar[str] = "scheduled case reports to organizations"

    def run(self, rt: Runtime, at: dt.datetime, *, dry_run: bool) -> CaseReports:
        return queue_case_reports(rt, at, dry_run=dry_run)


@dataclass(frozen=True)
class NoticeDeliveriesJob:
    name: ClassVar[str] = "notice-deliveries"
    description: ClassVar[str] = ("notice deliveries due: just queued, or deferred by a "
                                  "temporary failure until now")

    def run(self, rt: Runtime, at: dt.datetime, *, dry_run: bool) -> NoticeDeliveries:
        return send_due_deliveries(rt, at, dry_run=dry_run)


@dataclass(frozen=True, slots=True)
class CaseMailReport:
    due: tuple[str, ...]  # "<message-id> analyst_post (deferred, 1 attempt)", before sending
    sent: int
    deferred: int
    failed: int

    def lines(self) -> tuple[str, ...]:
        if self.sent or self.deferred or self.failed:
            return (f"{self.sent} sent, {self.deferred} deferred, {self.failed} failed",)
        return self.due


@dataclass(frozen=True)
class CaseMailJob:
    name: ClassVar[str] = "case-mail"
    description: ClassVar[str] = ("case mail due: left queued, or deferred by a temporary "
                                  "failure until now (mail_retry_minutes)")

    def run(self, rt: Runtime, at: dt.datetime, *, dry_run: bool) -> CaseMailReport:
        due = tuple(f"<{m.message_id}> {m.kind} ({m.status}, {m.attempts} attempt(s))"
                    for m in list_due(rt.db, at))
        if dry_run or not due:
            return CaseMailReport(due, 0, 0, 0)
        sent = rt.send_outbox(at=at)
        return CaseMailReport(due, sent.sent, sent.deferred, sent.failed)


CASE_TIMER_JOBS: tuple[ClockJob, ...] = (FollowUpsJob(), SlaJob(), EscalationsJob())
NOTICE_JOBS: tuple[ClockJob, ...] = (IncidentFollowUpsJob(), RcaRemindersJob(),
                                     CaseReportsJob(), NoticeDeliveriesJob())
JOBS: tuple[ClockJob, ...] = (*CASE_TIMER_JOBS, PurgeJob(), *NOTICE_JOBS, CaseMailJob())
