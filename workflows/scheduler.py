"""The scheduler: one idempotent pass that does everything due at a moment.

Place in the flow: beside the message flow, on the clock. ``run_pass(rt, at)`` is the only entry:
the ``EmbeddedScheduler`` thread calls it every ``settings.scheduler_interval`` seconds in the
embedded default, a Celery beat task calls it at scale, and ``ticketgate timers run --at`` calls
it by hand. A pass

1. arms new timers: computes ``due_at`` from the settings and the organization's business
   calendar (the case services that leave the rows know neither);
2. fires the due ones, a chunk per transaction: each row is claimed with a compare-and-set
   UPDATE (``fired_at IS NULL``) in the transaction that queues its mail or closes its case,
   so two schedulers at once (threads or processes on one database) act once and skip
   nothing; the case rows are locked before the checks, so a reply cannot slip in between
   "still waiting on the customer" and closing the case. Firing a step leaves the clock's next
   step, armed; a row whose clock has stopped fires as ``stale`` and ends its chain;
3. purges the attachments of cases closed longer than ``settings.purge_after_days``.

Running a pass again for the same ``at`` finds nothing new to do. Mail is sent after each
chunk's commit (``Runtime.send_outbox``); a crash before sending leaves queued rows that the
outbox pass sends.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from workflows.runtime import Runtime
from workflows.storage.models import DueTimer
from workflows.timers.kinds import acting_step, due_of, fire, first_step, is_live
from workflows.timers.purge import Purged, purge_attachments
from workflows.timers.store import (
    RESOLUTION_KINDS,
    CaseFacts,
    ClaimedTimer,
    FireContext,
    Fired,
    Outcome,
    TimerKind,
    TimerOutcome,
    claim_due,
    load_facts,
    next_step,
    record_outcomes,
)

log = logging.getLogger(__name__)
RESOLUTION_VALUES = frozenset(k.value for k in RESOLUTION_KINDS)
ARM_CHUNK = 2000  # timers armed per transaction
FIRE_CHUNK = 500  # cases whose due timers fire in one transaction


@dataclass(frozen=True, slots=True)
class FiredTimer:
    case: str
    kind: str
    outcome: str  # a TimerOutcome, or "due" in a dry run
    due_at: str | None


@dataclass(frozen=True, slots=True)
class PassReport:
    at: str
    dry_run: bool
    armed: int
    fired: tuple[FiredTimer, ...]
    outcomes: dict[str, int]
    mails_queued: int
    mails_sent: int
    purged: tuple[Purged, ...]
    blobs_deleted: int
    seconds: float
    mails_rewritten: int = 0  # stored raw mail the files were cut out of (timers.purge_raw)


def run_pass(rt: Runtime, at: dt.datetime, *, dry_run: bool = False, send: bool = True
             ) -> PassReport:
    """Do everything due at ``at``. ``dry_run``: change nothing, list what is due.
    ``send=False`` leaves the queued mail to the outbox pass (benchmarks)."""
    if at.tzinfo is None:
        raise ValueError("run_pass needs an aware datetime")
    started = time.perf_counter()
    if dry_run:
        armed, fired, queued, sent = 0, _list_due(rt, at), 0, 0
    else:
        armed = arm_timers(rt, at)
        fired, queued, sent = _fire_due(rt, at, send=send)
    purge = purge_attachments(rt.db, rt.settings.blob_dir, at,
                              after_days=rt.settings.purge_after_days,
                              triage_after_days=rt.settings.triage_attachment_retention_days,
                              dry_run=dry_run)
    report = PassReport(
        at=at.isoformat(), dry_run=dry_run, armed=armed, fired=tuple(fired),
        outcomes=dict(Counter(f.outcome for f in fired)), mails_queued=queued,
        mails_sent=sent, purged=purge.attachments, blobs_deleted=purge.blobs_deleted,
        seconds=round(time.perf_counter() - started, 3), mails_rewritten=purge.mails_rewritten)
    if fired or purge.attachments:
        log.info("timer pass at %s: %s, %d attachment(s) purged", report.at, report.outcomes,
                 len(purge.attachments))
    return report


# -- 1. arming ------------------------------------------------------------------------------------
def _unarmed(session: Session, limit: int) -> list[tuple[int, int, str, dt.datetime]]:
    # No ORDER BY: any order will do, and PostgreSQL then reads the pending index instead of
    # walking the primary key past every row already fired.
    return [tuple(r) for r in session.execute(  # type: ignore[misc]
        select(DueTimer.id, DueTimer.case_id, DueTimer.kind, DueTimer.started_at)
        .where(DueTimer.fired_at.is_(None), DueTimer.due_at.is_(None)).limit(limit))]


def _facts_for_arming(session: Session, rows: Sequence[tuple[int, int, str, dt.datetime]]
                      ) -> dict[int, CaseFacts]:
    facts = load_facts(session, [r[1] for r in rows], lock=False)
    # Only a resumed resolution clock needs the history: what its earlier runs used.
    resumed = [case_id for _, case_id, kind, started_at in rows
               if kind in RESOLUTION_VALUES and started_at != facts[case_id].case.created_at]
    if resumed:
        facts.update(load_facts(session, resumed, lock=False, history=True))
    return facts


def arm_timers(rt: Runtime, at: dt.datetime) -> int:
    """Give every new row its ``due_at`` (and the step it arms as); a row whose clock has
    already stopped, or that can never act, is closed at once."""
    table = DueTimer.__table__
    set_due = (update(table).where(table.c.id == bindparam("tid"), table.c.due_at.is_(None))
               .values(due_at=bindparam("due"), kind=bindparam("step")))
    close = (update(table).where(table.c.id == bindparam("tid"), table.c.fired_at.is_(None))
             .values(fired_at=bindparam("at"), outcome=bindparam("outcome")))
    armed = 0
    while True:
        with rt.db.transaction() as session:
            rows = _unarmed(session, ARM_CHUNK)
            if not rows:
                return armed
            facts = _facts_for_arming(session, rows)
            dues, closed = [], []
            for timer_id, case_id, kind, started_at in rows:
                timer = ClaimedTimer(timer_id, case_id, TimerKind(kind), started_at, None)
                step, due = TimerKind(kind), TimerOutcome.STALE
                if is_live(timer, facts[case_id]):
                    step, due = first_step(timer.kind, started_at, facts[case_id], rt.settings)
                if isinstance(due, dt.datetime):
                    dues.append({"tid": timer_id, "due": due, "step": step.value})
                else:
                    closed.append({"tid": timer_id, "at": at, "outcome": due.value})
            connection = session.connection()
            if dues:
                connection.execute(set_due, dues)
            if closed:
                connection.execute(close, closed)
            armed += len(rows)


# -- 2. firing ------------------------------------------------------------------------------------
class _ChunkFailed(Exception):
    """A timer of a fast-path chunk raised: redo the chunk with a savepoint per timer."""

    def __init__(self, ids: list[int]) -> None:
        super().__init__(f"{len(ids)} timers")
        self.ids = ids


def _fire_due(rt: Runtime, at: dt.datetime, *, send: bool
              ) -> tuple[list[FiredTimer], int, int]:
    fired: list[FiredTimer] = []
    queued = sent = 0
    while True:
        try:
            with rt.db.transaction() as session:
                chunk = _fire_chunk(rt, session, at, isolate=False)
        except _ChunkFailed as failed:
            with rt.db.transaction() as session:
                chunk = _fire_chunk(rt, session, at, isolate=True, ids=failed.ids)
        if chunk is None:
            return fired, queued, sent
        lines, outbound = chunk
        fired.extend(lines)
        queued += len(outbound)
        if send and outbound:
            sent += rt.send_outbox(outbound).sent


def _lock_due(session: Session, at: dt.datetime, ids: list[int] | None) -> list[int]:
    """The next due rows, locked for this transaction. ``SKIP LOCKED`` (PostgreSQL): rows
    another scheduler is firing right now are left to it, so two schedulers never wait on
    each other's rows in different orders (no deadlock), and a row it rolls back is due again
    for the next pass. SQLite has no row locks: its writers take turns (BEGIN IMMEDIATE)."""
    query = select(DueTimer.id).where(DueTimer.fired_at.is_(None), DueTimer.due_at <= at)
    if ids is not None:
        query = query.where(DueTimer.id.in_(ids))
    else:
        query = query.order_by(DueTimer.due_at, DueTimer.id).limit(FIRE_CHUNK)
    return list(session.scalars(query.with_for_update(skip_locked=True)))


def _fire_chunk(rt: Runtime, session: Session, at: dt.datetime, *, isolate: bool,
                ids: list[int] | None = None) -> tuple[list[FiredTimer], list[int]] | None:
    """Fire a chunk of due rows in the caller's transaction; None when nothing is left."""
    locked = _lock_due(session, at, ids)
    if not locked:
        return None
    claimed = claim_due(session, locked, at)
    if not claimed:
        return [], []
    # A resolution step's due time depends on what earlier runs of the clock used.
    history = [t.case_id for t in claimed if t.kind.value in RESOLUTION_VALUES]
    facts = load_facts(session, [t.case_id for t in claimed], lock=True, mail=True,
                       history=history)
    ctx = FireContext(session, rt.settings, rt.key, at)
    outcomes: list[Outcome] = []
    lines: list[FiredTimer] = []
    for timer in claimed:
        case_facts = facts[timer.case_id]
        number = case_facts.case.number
        if not is_live(timer, case_facts):  # its clock stopped: the chain ends here
            outcomes.append(Outcome(timer.id, timer.kind, TimerOutcome.STALE, None, None, None))
            lines.append(_line(number, timer, TimerOutcome.STALE))
            continue
        acting, skipped = acting_step(timer, case_facts, rt.settings, at)
        lines.extend(_line(number, timer, TimerOutcome.SUPERSEDED, kind) for kind in skipped)
        if isolate:
            done = _fire_isolated(ctx, acting, case_facts)
        else:
            try:
                done = fire(ctx, acting, case_facts)
            except Exception as exc:
                raise _ChunkFailed(locked) from exc
        following, following_due = next_step(acting.kind), None
        if following is not None and done.outcome is not TimerOutcome.STALE:
            due = due_of(following, timer.started_at, case_facts, rt.settings)
            following_due = due if isinstance(due, dt.datetime) else None
        outcomes.append(Outcome(timer.id, acting.kind, done.outcome, done.outbound_id,
                                following_due, following))
        lines.append(_line(number, acting, done.outcome))
    record_outcomes(session, outcomes, {t.id: t for t in claimed})
    return lines, [o.outbound_id for o in outcomes if o.outbound_id is not None]


def _line(number: str, timer: ClaimedTimer, outcome: TimerOutcome,
          kind: TimerKind | None = None) -> FiredTimer:
    due = timer.due_at.isoformat() if timer.due_at and kind is None else None
    return FiredTimer(number, (kind or timer.kind).value, outcome.value, due)


def _fire_isolated(ctx: FireContext, timer: ClaimedTimer, facts: CaseFacts) -> Fired:
    try:
        with ctx.session.begin_nested():
            return fire(ctx, timer, facts)
    except Exception:  # process boundary: keep the timer (outcome failed), log why
        log.exception("timer #%s (%s) of %s failed; kept as failed", timer.id,
                      timer.kind.value, facts.case.number)
        return Fired(TimerOutcome.FAILED)


def _list_due(rt: Runtime, at: dt.datetime) -> list[FiredTimer]:
    """What a pass at ``at`` would do (live timers only), computing unarmed ones in memory."""
    lines: list[FiredTimer] = []
    with rt.db.transaction() as session:
        rows = session.execute(
            select(DueTimer.id, DueTimer.case_id, DueTimer.kind, DueTimer.started_at,
                   DueTimer.due_at)
            .where(DueTimer.fired_at.is_(None),
                   (DueTimer.due_at <= at) | DueTimer.due_at.is_(None))
            .order_by(DueTimer.due_at, DueTimer.id)).all()
        facts = load_facts(session, [r[1] for r in rows], lock=False, history=True)
        for timer_id, case_id, kind, started_at, due in rows:
            case_facts = facts[case_id]
            step = TimerKind(kind)
            if due is None:
                step, due = first_step(step, started_at, case_facts, rt.settings)
            timer = ClaimedTimer(timer_id, case_id, step, started_at, due)
            if not isinstance(due, dt.datetime) or due > at or not is_live(timer, case_facts):
                continue
            acting, _skipped = acting_step(timer, case_facts, rt.settings, at)
            lines.append(_line(case_facts.case.number, acting, TimerOutcome.DUE))
    return lines


# -- the embedded scheduler ---------------------------------------------------------------------
class EmbeddedScheduler:
    """A thread that runs ``run_pass(rt, rt.now())`` at start and every ``interval`` s."""

    def __init__(self, rt: Runtime, *, interval: float | None = None) -> None:
        self.rt = rt
        self.interval = rt.settings.scheduler_interval if interval is None else interval
        self.passes = 0
        self.last_report: PassReport | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ticketgate-scheduler",
                                        daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.last_report = run_pass(self.rt, self.rt.now())
            except Exception:  # process boundary: log, try again next interval
                log.exception("timer pass failed; retrying in %.0f s", self.interval)
            self.passes += 1
            self._stop.wait(self.interval)
