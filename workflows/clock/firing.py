"""Case timers on the clock: arm new ``due_timers`` rows, fire the due ones, list what is due.

Place in the flow: the clock's case-timer jobs (``workflows.clock.jobs``: ``follow-ups``, ``sla``,
``escalations``) call ``run_timers`` for their kinds of timer, in every pass of
``workflows.clock.scheduler.run_pass``. A run

1. arms new timers, of every kind (the first timer job of a pass does it): computes ``due_at``
   from the settings and the organization's business calendar (the case services that leave
   the rows know neither);
2. fires the due ones of its kinds, a chunk per transaction: each row is claimed with a
   compare-and-set UPDATE (``fired_at IS NULL``) in the transaction that queues its mail or
   closes its case, so two schedulers at once (threads or processes on one database) act once
   and skip nothing; the case rows are locked before the checks, so a reply cannot slip in between
   "still waiting on the customer" and closing the case. Firing a step leaves the clock's next
   step, armed; a row whose clock has stopped fires as ``stale`` and ends its chain. The steps
   of one clock are all of one job's kinds, so a chain never crosses jobs.

Running again for the same ``at`` finds nothing new to do. Mail is sent after each chunk's
commit (``Runtime.send_outbox``); a crash before sending leaves queued rows that the clock's
``case-mail`` job sends.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from workflows.clock.kinds import acting_step, due_of, fire, first_step, is_live
from workflows.clock.store import (
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
from workflows.runtime import Runtime
from workflows.storage.base import table_of
from workflows.storage.models import DueTimer

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
class TimerReport:
    """What one run did for its kinds of timer (in a dry run: ``fired`` lists what is due)."""

    armed: int
    fired: tuple[FiredTimer, ...]
    outcomes: dict[str, int]
    mails_queued: int
    mails_sent: int

    def lines(self) -> tuple[str, ...]:
        return tuple(f"{f.case} {f.kind}: {f.outcome}" for f in self.fired)


def run_timers(rt: Runtime, at: dt.datetime, kinds: Collection[TimerKind], *,
               dry_run: bool = False, send: bool = True) -> TimerReport:
    """Arm every new timer, then fire the timers of ``kinds`` due at ``at``; ``dry_run``:
    change nothing, list what is due (of ``kinds``). ``send=False`` leaves the queued mail to
    the case-mail job (benchmarks)."""
    if dry_run:
        armed, fired, queued, sent = 0, _list_due(rt, at, kinds), 0, 0
    else:
        # Arming only computes due times, for every kind at once: filtered by kind, each job
        # would walk past the other kinds' new rows in every chunk (quadratic in a burst).
        # Whichever timer job runs first arms them all; the others find nothing left.
        armed = arm_timers(rt, at)
        fired, queued, sent = _fire_due(rt, at, kinds, send=send)
    return TimerReport(armed, tuple(fired), dict(Counter(f.outcome for f in fired)), queued,
                       sent)


# -- 1. arming ------------------------------------------------------------------------------------
def _values(kinds: Collection[TimerKind]) -> list[str]:
    return sorted(k.value for k in kinds)


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
    table = table_of(DueTimer)
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
            dues: list[dict[str, object]] = []
            closed: list[dict[str, object]] = []
            for timer_id, case_id, kind, started_at in rows:
                timer = ClaimedTimer(timer_id, case_id, TimerKind(kind), started_at, None)
                due: dt.datetime | TimerOutcome
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


def _fire_due(rt: Runtime, at: dt.datetime, kinds: Collection[TimerKind], *, send: bool
              ) -> tuple[list[FiredTimer], int, int]:
    fired: list[FiredTimer] = []
    queued = sent = 0
    while True:
        try:
            with rt.db.transaction() as session:
                chunk = _fire_chunk(rt, session, at, kinds, isolate=False)
        except _ChunkFailed as failed:
            with rt.db.transaction() as session:
                chunk = _fire_chunk(rt, session, at, kinds, isolate=True,
                                    ids=failed.ids)
        if chunk is None:
            return fired, queued, sent
        lines, outbound = chunk
        fired.extend(lines)
        queued += len(outbound)
        if send and outbound:
            sent += rt.send_outbox(outbound, at=at).sent


def _lock_due(session: Session, at: dt.datetime, kinds: Collection[TimerKind],
              ids: list[int] | None) -> list[int]:
    """The next due rows, locked for this transaction. ``SKIP LOCKED`` (PostgreSQL): rows
    another scheduler is firing right now are left to it, so two schedulers never wait on
    each other's rows in different orders (no deadlock), and a row it rolls back is due again
    for the next pass. SQLite has no row locks: its writers take turns (BEGIN IMMEDIATE)."""
    query = select(DueTimer.id).where(DueTimer.fired_at.is_(None), DueTimer.due_at <= at,
                                      DueTimer.kind.in_(_values(kinds)))
    if ids is not None:
        query = query.where(DueTimer.id.in_(ids))
    else:
        query = query.order_by(DueTimer.due_at, DueTimer.id).limit(FIRE_CHUNK)
    return list(session.scalars(query.with_for_update(skip_locked=True)))


def _fire_chunk(rt: Runtime, session: Session, at: dt.datetime, kinds: Collection[TimerKind],
                *, isolate: bool, ids: list[int] | None = None
                ) -> tuple[list[FiredTimer], list[int]] | None:
    """Fire a chunk of due rows in the caller's transaction; None when nothing is left."""
    locked = _lock_due(session, at, kinds, ids)
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
                                following_due, following, acting.due_at))
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


def _list_due(rt: Runtime, at: dt.datetime, kinds: Collection[TimerKind]) -> list[FiredTimer]:
    """What a pass at ``at`` would do (live timers only), computing unarmed ones in memory."""
    lines: list[FiredTimer] = []
    with rt.db.transaction() as session:
        rows = session.execute(
            select(DueTimer.id, DueTimer.case_id, DueTimer.kind, DueTimer.started_at,
                   DueTimer.due_at)
            .where(DueTimer.fired_at.is_(None), DueTimer.kind.in_(_values(kinds)),
                   (DueTimer.due_at <= at) | DueTimer.due_at.is_(None))
            .order_by(DueTimer.due_at, DueTimer.id)).all()
        facts = load_facts(session, [r[1] for r in rows], lock=False, history=True)
        for timer_id, case_id, kind, started_at, due in rows:
            case_facts = facts[case_id]
            step = TimerKind(kind)
            planned: dt.datetime | TimerOutcome | None = due
            if planned is None:
                step, planned = first_step(step, started_at, case_facts, rt.settings)
            if not isinstance(planned, dt.datetime) or planned > at:
                continue
            timer = ClaimedTimer(timer_id, case_id, step, started_at, planned)
            if not is_live(timer, case_facts):
                continue
            acting, _skipped = acting_step(timer, case_facts, rt.settings, at)
            lines.append(_line(case_facts.case.number, acting, TimerOutcome.DUE))
    return lines
