"""The case list's sort orders and its derived columns: who the case waits on and its next
SLA deadline.

Place in the flow: outside the message flow; ``gateway.http.queries.case_page`` (the list of
the console, ``GET /api/v1/cases`` and ``ticketgate case list``) orders by ``order_by`` and
fills the columns of a page's rows with ``next_deadline`` and ``waiting_on``.

"Waiting on" follows the status (DOMAIN: Statuses): Open waits on us, Awaiting Info and
Solution Proposed on the customer (their resolution clock is paused), Closed on nobody.
The next SLA deadline is the earlier due time of the case's running response and resolution
clocks, computed as the case page computes them (``workflows.clock.report.case_clocks``), for
the rows of one page only. Sorting by deadline happens in SQL, before a page exists: it orders
by the earliest armed, pending SLA timer of each case (the scheduler's own view of the next SLA
step), cases without one last.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnExpressionArgument, SQLColumnExpression, case, func, select
from sqlalchemy.orm import Session

from workflows.clock.report import case_clocks
from workflows.domain import CaseStatus, Severity
from workflows.settings import Settings
from workflows.storage.models import Case, ConsoleUser, DueTimer

SLA_KINDS = ("response_warning", "response_breach", "resolution_warning", "resolution_breach")
WAITING_ON = {CaseStatus.OPEN.value: "us", CaseStatus.AWAITING_INFO.value: "customer",
              CaseStatus.SOLUTION_PROPOSED.value: "customer"}


class CaseSort(StrEnum):
    """The case list's orders: ``-`` in front of a query value reverses one."""

    UPDATED = "updated"
    NUMBER = "number"
    STATUS = "status"
    SEVERITY = "severity"
    OWNER = "owner"
    DEADLINE = "deadline"


def parse_sort(value: str) -> tuple[CaseSort, bool]:
    """``"severity"`` or ``"-severity"`` -> (sort, descending); unknown: updated, newest
    first (the list's default)."""
    descending = value.startswith("-")
    try:
        return CaseSort(value.lstrip("-")), descending
    except ValueError:
        return CaseSort.UPDATED, True


def order_by(sort: CaseSort, descending: bool) -> list[ColumnExpressionArgument[Any]]:
    """ORDER BY terms; the case id last, so pages never overlap."""
    rank = {s.value: i for i, s in enumerate(Severity)}  # incident first
    key: SQLColumnExpression[Any]  # a column, mapped attribute or expression alike
    if sort is CaseSort.NUMBER:
        key = Case.id  # numbers grow with ids within a family
    elif sort is CaseSort.STATUS:
        key = Case.status
    elif sort is CaseSort.SEVERITY:
        key = case(rank, value=Case.severity, else_=len(rank))
    elif sort is CaseSort.OWNER:
        key = func.coalesce(ConsoleUser.email, "~")  # unowned last
    elif sort is CaseSort.DEADLINE:
        key = (select(func.min(DueTimer.due_at)).where(
            DueTimer.case_id == Case.id, DueTimer.fired_at.is_(None),
            DueTimer.due_at.is_not(None), DueTimer.kind.in_(SLA_KINDS))
            .correlate(Case).scalar_subquery())
        first = key.is_(None)  # no deadline: last, whichever the direction
        return [first, key.desc() if descending else key.asc(), Case.id]
    else:
        key = Case.updated_at
    return [key.desc() if descending else key.asc(),
            Case.id.desc() if descending else Case.id.asc()]


def waiting_on(status: str) -> str | None:
    return WAITING_ON.get(status)


def next_deadline(session: Session, settings: Settings, case_row: Case, now: dt.datetime
                  ) -> dt.datetime | None:
    """The earlier due time of the case's running SLA clocks (None: none runs)."""
    if case_row.status == CaseStatus.CLOSED.value:
        return None
    dues = [dt.datetime.fromisoformat(c.due_at) for c in
            case_clocks(session, settings, case_row, now) if c.due_at and c.state == "running"]
    return min(dues, default=None)
