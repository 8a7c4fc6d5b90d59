"""What notices owe the clock at one moment, as the stages the clock's jobs run.

Place in the flow: the notice jobs of the clock registry (``workflows.clock.jobs``:
``incident-follow-ups``, ``rca-reminders``, ``case-reports``, ``notice-deliveries``), run in
every pass of ``workflows.clock.scheduler.run_pass`` (``ticketgate timers run``, the embedded
scheduler thread of ``serve``, Celery beat's ``run_timers``). The stages:

1. ``queue_incident_follow_ups``: the follow-up due for each active incident (``incident``), one
   transaction per incident with its row locked, so an all-clear and a follow-up never cross;
2. ``queue_rca`` and ``queue_case_reports``: RCA reminders (``rca``) and scheduled case reports
   (``reports``), the latter with the automated-mail log pruned (``ratelimit``);
3. ``send_due_deliveries``: every delivery due (``delivery``): the ones just queued, deferred
   retries whose time has come, and whatever a crashed command left queued; stale claims become
   ``uncertain``.

Each stage takes ``dry_run``: the queueing stages then run in a transaction that is rolled back
(what would be queued is listed, nothing is kept), and the sending stage only counts what is due.
Idempotent: running a stage twice at the same ``at`` queues nothing new (unique mailing keys and
compare-and-set claims). A failure in one incident is logged and named in the report's
``errors``, and the others go on; whatever failed is still due on the next pass.
``run_due`` runs the four notice jobs through the one pass (tests and tools that want only them).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflows.notices import ratelimit
from workflows.notices.delivery import SendReport, due_deliveries, send_pending
from workflows.notices.incident import queue_due_follow_up
from workflows.notices.model import NoticeKind, NoticeState
from workflows.notices.rca import queue_rca_reminders
from workflows.notices.reports import queue_due_reports
from workflows.runtime import Runtime
from workflows.storage.db import Database
from workflows.storage.models import Notice, NoticeDelivery

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class IncidentFollowUps:
    follow_ups: tuple[str, ...]  # "INC-2026-0007#3": the slots mailed (or due, in a dry run)
    superseded: tuple[str, ...]  # slots overtaken by a later one (a late pass)
    errors: tuple[str, ...]  # incidents whose follow-up failed; due again next pass

    def lines(self) -> tuple[str, ...]:
        return (*(f"{s} follow-up" for s in self.follow_ups),
                *(f"{s} superseded" for s in self.superseded),
                *(f"error: {e}" for e in self.errors))


@dataclass(frozen=True, slots=True)
class RcaReminders:
    reminders: tuple[str, ...]  # "INC-2026-0007:overdue"

    def lines(self) -> tuple[str, ...]:
        return self.reminders


@dataclass(frozen=True, slots=True)
class CaseReports:
    mailings: tuple[int, ...]  # the report mailings queued (empty in a dry run)
    due: int  # reports due (queued, or that would be in a dry run)

    def lines(self) -> tuple[str, ...]:
        return tuple(f"case report #{n + 1}" for n in range(self.due))


@dataclass(frozen=True, slots=True)
class NoticeDeliveries:
    due: int  # deliveries due at the pass's time, before it sent any
    sent: SendReport  # zero in a dry run

    def lines(self) -> tuple[str, ...]:
        s = self.sent
        if s == SendReport():
            return (f"{self.due} delivery(ies) due",) if self.due else ()
        return (f"{s.sent} sent, {s.deferred} deferred, {s.failed} failed, {s.skipped} skipped, "
                f"{s.uncertain} uncertain",)


@contextmanager
def _scratch(db: Database) -> Iterator[Session]:
    """A transaction that is always rolled back: a dry run's stage sees what it would do."""
    session = db.session()
    try:
        session.begin()
        yield session
    finally:
        session.rollback()
        session.close()


def queue_incident_follow_ups(rt: Runtime, at: dt.datetime, *, dry_run: bool = False
                              ) -> IncidentFollowUps:
    follow_ups: list[str] = []
    superseded: list[str] = []
    errors: list[str] = []
    with rt.db.transaction() as session:
        incidents = list(session.scalars(select(Notice.id).where(
            Notice.kind == NoticeKind.INCIDENT.value, Notice.state == NoticeState.ACTIVE.value,
            Notice.sent_at.is_not(None)).order_by(Notice.id)))
    for notice_id in incidents:
        try:
            with _scratch(rt.db) if dry_run else rt.db.transaction() as session:
                notice = session.scalars(select(Notice).where(Notice.id == notice_id)
                                         .with_for_update()).one()
                if notice.state != NoticeState.ACTIVE.value:
                    continue  # the all-clear came between the two transactions
                done = queue_due_follow_up(session, rt.settings, notice, at)
                if done.slot is not None:
                    follow_ups.append(f"{notice.reference}#{done.slot}")
                superseded.extend(f"{notice.reference}#{s}" for s in done.superseded)
        except Exception as exc:  # a pass boundary: one bad incident must not stop the others
            log.exception("notice #%s: follow-up at %s failed", notice_id, at.isoformat())
            errors.append(f"notice #{notice_id}: {exc}")
    return IncidentFollowUps(tuple(follow_ups), tuple(superseded), tuple(errors))


def queue_rca(rt: Runtime, at: dt.datetime, *, dry_run: bool = False) -> RcaReminders:
    with _scratch(rt.db) if dry_run else rt.db.transaction() as session:
        return RcaReminders(tuple(queue_rca_reminders(session, rt.settings, at)))


def queue_case_reports(rt: Runtime, at: dt.datetime, *, dry_run: bool = False) -> CaseReports:
    with _scratch(rt.db) if dry_run else rt.db.transaction() as session:
        mailings = queue_due_reports(session, rt.settings, at)
        ratelimit.prune(session, at)
    return CaseReports(() if dry_run else tuple(mailings), len(mailings))


def send_due_deliveries(rt: Runtime, at: dt.datetime, *, dry_run: bool = False
                        ) -> NoticeDeliveries:
    with rt.db.transaction() as session:
        due = int(session.scalar(select(func.count()).select_from(NoticeDelivery)
                                 .where(due_deliveries(at))) or 0)
    if dry_run:
        return NoticeDeliveries(due, SendReport())
    return NoticeDeliveries(due, send_pending(rt, at=at))


@dataclass(frozen=True, slots=True)
class DueReport:
    """The notice jobs' reports of one pass, side by side."""

    follow_ups: tuple[str, ...]
    superseded: tuple[str, ...]
    rca_reminders: tuple[str, ...]
    case_reports: int
    sent: SendReport
    errors: tuple[str, ...]


def run_due(rt: Runtime, at: dt.datetime) -> DueReport:
    """Run the notice jobs of the clock registry through ``run_pass`` (the other jobs not)."""
    from workflows.clock.jobs import NOTICE_JOBS  # the registry imports this module
    from workflows.clock.scheduler import run_pass

    report = run_pass(rt, at, jobs=NOTICE_JOBS)

    def of(name: str, kind: type, empty: object) -> Any:
        found = report.job(name).report  # None when the job raised (named in its error)
        return found if isinstance(found, kind) else empty

    follow = of("incident-follow-ups", IncidentFollowUps, IncidentFollowUps((), (), ()))
    rca = of("rca-reminders", RcaReminders, RcaReminders(()))
    reports = of("case-reports", CaseReports, CaseReports((), 0))
    deliveries = of("notice-deliveries", NoticeDeliveries, NoticeDeliveries(0, SendReport()))
    errors = (*follow.errors, *(f"{j.name}: {j.error}" for j in report.jobs if j.error))
    return DueReport(follow.follow_ups, follow.superseded, rca.reminders, len(reports.mailings),
                     deliveries.sent, errors)
