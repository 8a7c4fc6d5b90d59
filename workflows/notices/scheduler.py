"""Everything notices owe the clock at one moment: ``run_due(rt, at)``.

Place in the flow: called by ``workflows.scheduler.run_pass`` (the same pass as the case
timers: ``ticketgate timers run``, the embedded scheduler thread, Celery beat). One pass

1. queues the incident follow-up due for each active incident (``incident``), one transaction
   per incident with its row locked, so an all-clear and a follow-up never cross;
2. queues RCA reminders (``rca``) and scheduled case reports (``reports``);
3. prunes the automated-mail log (``ratelimit``);
4. sends every delivery due (``delivery``): the ones just queued, deferred retries whose time
   has come, and whatever a crashed command left queued; marks stale claims ``uncertain``.

Idempotent: running it twice at the same ``at`` queues nothing new (unique mailing keys and
compare-and-set claims). A failure in one incident, or in one stage, is logged and named in the
report's ``errors``, and the pass goes on: the case timers that share the pass are not held up
by a notice, and whatever failed is still due on the next pass.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from sqlalchemy import select

from workflows.notices import ratelimit
from workflows.notices.delivery import SendReport, send_pending
from workflows.notices.incident import queue_due_follow_up
from workflows.notices.model import NoticeKind, NoticeState
from workflows.notices.rca import queue_rca_reminders
from workflows.notices.reports import queue_due_reports
from workflows.runtime import Runtime
from workflows.storage.models import Notice

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DueReport:
    follow_ups: tuple[str, ...]  # "INC-2026-0007#3": the slots mailed
    superseded: tuple[str, ...]  # slots overtaken by a later one (a late pass)
    rca_reminders: tuple[str, ...]  # "INC-2026-0007:overdue"
    case_reports: int
    sent: SendReport  # every delivery due: new mailings, retries; stale claims -> uncertain
    errors: tuple[str, ...]


def run_due(rt: Runtime, at: dt.datetime) -> DueReport:
    follow_ups: list[str] = []
    superseded: list[str] = []
    errors: list[str] = []
    with rt.db.transaction() as session:
        incidents = list(session.scalars(select(Notice.id).where(
            Notice.kind == NoticeKind.INCIDENT.value, Notice.state == NoticeState.ACTIVE.value,
            Notice.sent_at.is_not(None)).order_by(Notice.id)))
    for notice_id in incidents:
        try:
            with rt.db.transaction() as session:
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
    reminders: list[str] = []
    reports: list[int] = []
    sent = SendReport()
    for stage in ("rca reminders", "case reports", "send"):
        try:  # a pass boundary: log, name it in the report, go on
            if stage == "rca reminders":
                with rt.db.transaction() as session:
                    reminders = queue_rca_reminders(session, rt.settings, at)
            elif stage == "case reports":
                with rt.db.transaction() as session:
                    reports = queue_due_reports(session, rt.settings, at)
                    ratelimit.prune(session, at)
            else:
                sent = send_pending(rt, at=at)
        except Exception as exc:
            log.exception("notices: %s at %s failed", stage, at.isoformat())
            errors.append(f"{stage}: {exc}")
    return DueReport(tuple(follow_ups), tuple(superseded), tuple(reminders), len(reports),
                     sent, tuple(errors))
