"""Re-arm an organization's pending timers after its business calendar changed.

Place in the flow: beside the clock, called by ``workflows.cases.organizations.update_organization``
(and, for one case whose severity changed, by ``workflows.cases.fields.set_case_fields``)
in the transaction that stores the new calendar (time zone, country, hours, workdays, closed
days). The scheduler computed each armed row's ``due_at`` on the calendar of the moment it
armed it; a desk that changes its calendar expects its open cases to follow, so every armed,
not-yet-fired row of the organization's cases whose clock still runs gets its due time computed
again with the very rules the scheduler arms with (``kinds.due_of``: 2/5/10 business days from
the request, SLA deadlines with the business time already used re-measured on the new calendar).

What this deliberately leaves alone:

- unarmed rows (``due_at IS NULL``): the next pass arms them, reading the new calendar;
- rows whose clock has stopped: they fire as ``stale`` whatever their due time;
- rows that ``due_of`` says will never fall due again (an SLA notice already sent): they close
  themselves when their old due time comes, as before.

A due time that lands in the past (a closed day removed, a zone moved east) is stored as it
is: the next scheduler pass finds the row due and fires it, the same way a pass that was down
for a while catches up (only the last due step of a chain acts). Nothing fires from here.

Concurrency: each row is written with ``... WHERE id = ? AND fired_at IS NULL``, so a row a
scheduler claimed meanwhile is not touched (it fired, on the old calendar). A scheduler pass
running at the same moment that read the organization before this transaction committed may
still arm a new row or leave a chain's next step on the old calendar; that window is one
pass's chunk.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import cast

from sqlalchemy import ColumnElement, bindparam, select, update
from sqlalchemy.orm import Session

from workflows.clock.kinds import due_of, is_live
from workflows.clock.store import RESOLUTION_KINDS, ClaimedTimer, TimerKind, load_facts
from workflows.settings import Settings
from workflows.storage.base import table_of
from workflows.storage.models import Case, DueTimer

CHUNK = 2000  # pending rows recomputed per round trip (like the scheduler's arming chunk)
_RESOLUTION = frozenset(k.value for k in RESOLUTION_KINDS)


@dataclass(frozen=True, slots=True)
class Rescheduled:
    """What re-arming did: rows looked at, rows whose due time moved, and of those the rows
    now already due (they fire on the next scheduler pass)."""

    examined: int
    moved: int
    now_due: int


def _pending(session: Session, which: ColumnElement[bool]
             ) -> Iterator[list[tuple[int, int, str, dt.datetime, dt.datetime]]]:
    """The armed, unfired rows of the cases ``which`` selects, a chunk at a time (by id, so a
    chunk boundary never splits or repeats a row)."""
    after = 0
    while True:
        # due_at IS NOT NULL in the query: the rows' last element is a datetime.
        rows = [cast(tuple[int, int, str, dt.datetime, dt.datetime], tuple(r))
                for r in session.execute(
            select(DueTimer.id, DueTimer.case_id, DueTimer.kind, DueTimer.started_at,
                   DueTimer.due_at)
            .join(Case, Case.id == DueTimer.case_id)
            .where(which, DueTimer.fired_at.is_(None),
                   DueTimer.due_at.is_not(None), DueTimer.id > after)
            .order_by(DueTimer.id).limit(CHUNK))]
        if not rows:
            return
        yield rows
        after = rows[-1][0]


def _recomputed(session: Session, settings: Settings,
                rows: Sequence[tuple[int, int, str, dt.datetime, dt.datetime]]
                ) -> list[tuple[int, dt.datetime]]:
    """(row id, new due time) for each live row whose due time changes."""
    # Only resolution steps depend on the case's history (business time of earlier runs).
    history = sorted({case_id for _, case_id, kind, _, _ in rows if kind in _RESOLUTION})
    facts = load_facts(session, [r[1] for r in rows], lock=False, history=history)
    moved = []
    for timer_id, case_id, kind, started_at, due_at in rows:
        case_facts = facts[case_id]
        timer = ClaimedTimer(timer_id, case_id, TimerKind(kind), started_at, due_at)
        if not is_live(timer, case_facts):
            continue
        due = due_of(timer.kind, started_at, case_facts, settings)
        if isinstance(due, dt.datetime) and due != due_at:
            moved.append((timer_id, due))
    return moved


def reschedule_organization(session: Session, settings: Settings, organization_id: int,
                            now: dt.datetime) -> Rescheduled:
    """Recompute the due times of the organization's armed, pending timers on its calendar
    as it now stands in ``session`` (call after the organization row is changed)."""
    return _reschedule(session, settings, Case.organization_id == organization_id, now)


def reschedule_case(session: Session, settings: Settings, case_id: int, now: dt.datetime
                    ) -> Rescheduled:
    """The same for one case whose severity changed (``workflows.cases.fields``): its SLA
    deadlines follow the new severity's targets, the business time already used kept."""
    return _reschedule(session, settings, Case.id == case_id, now)


def _reschedule(session: Session, settings: Settings, which: ColumnElement[bool],
                now: dt.datetime) -> Rescheduled:
    session.flush()  # load_facts reads the organization through this session
    table = table_of(DueTimer)
    set_due = (update(table)
               .where(table.c.id == bindparam("tid"), table.c.fired_at.is_(None))
               .values(due_at=bindparam("due")))
    examined = moved = now_due = 0
    for rows in _pending(session, which):
        examined += len(rows)
        changes = _recomputed(session, settings, rows)
        if changes:
            session.connection().execute(set_due, [{"tid": i, "due": d} for i, d in changes])
        moved += len(changes)
        now_due += sum(1 for _, due in changes if due <= now)
    return Rescheduled(examined, moved, now_due)
