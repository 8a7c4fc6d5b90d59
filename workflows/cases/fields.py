"""Change a case's severity, type or subject after it was opened (``case set``).

Place in the flow: outside the message flow, beside ``workflows.cases.service``. ``set_case_fields``
is the one service that changes these fields: the CLI (``ticketgate case set``), the API
(``PATCH /api/v1/cases/{number}``) and the console's case page call it. In the caller's
transaction it locks the case, stores the new values, writes one ``case.set`` audit event
with every change, keeps the search index current (a new subject is searchable at once) and,
when the severity changed, recomputes the case's pending SLA deadlines on the new severity's
targets (``workflows.clock.reschedule.reschedule_case``; the business time already used is
kept, PureEngage 5.1). Timers not armed yet are armed by the next scheduler pass, which reads
the new severity anyway.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.cases.service import audit
from workflows.clock.reschedule import Rescheduled, reschedule_case
from workflows.domain import Severity
from workflows.errors import NotFound, Refused
from workflows.search.index import index_case
from workflows.settings import Settings
from workflows.storage.models import Case

MAX_TYPE = 64  # cases.case_type
MAX_SUBJECT = 998  # one header line (RFC 5322 2.1.1): the subject goes out in every mail


class CaseField(StrEnum):
    SEVERITY = "severity"
    TYPE = "type"
    SUBJECT = "subject"


@dataclass(frozen=True, slots=True)
class CaseFieldsChange:
    """What to change; None leaves a field as it is."""

    severity: Severity | None = None
    case_type: str | None = None
    subject: str | None = None

    @property
    def empty(self) -> bool:
        return self == CaseFieldsChange()


@dataclass(frozen=True, slots=True)
class CaseFieldChange:
    field: CaseField
    old: str
    new: str


@dataclass(frozen=True, slots=True)
class CaseFieldsUpdate:
    """The case's number, what changed, and (severity changed) what its timers did."""

    number: str
    changes: tuple[CaseFieldChange, ...]
    timers: Rescheduled | None


def _type(value: str) -> str:
    cleaned = value.strip().lower()
    if not cleaned or len(cleaned) > MAX_TYPE:
        raise Refused(f"a case type is 1 to {MAX_TYPE} characters")
    return cleaned


def _subject(value: str) -> str:
    cleaned = " ".join(value.split())  # one line: it becomes the Subject of every case mail
    if not cleaned or len(cleaned) > MAX_SUBJECT:
        raise Refused(f"a subject is 1 to {MAX_SUBJECT} characters on one line")
    return cleaned


def set_case_fields(session: Session, settings: Settings, *, number: str,
                    change: CaseFieldsChange, actor: str, now: dt.datetime) -> CaseFieldsUpdate:
    """Change case ``number`` as ``change`` says; audit it and follow a new severity with
    its SLA timers. A change to the values already set is a no-op (no audit event).

    Raises ``NotFound`` (no such case) or ``Refused`` (an empty type or subject).
    """
    case = session.scalars(select(Case).where(Case.number == number.strip().upper())
                           .with_for_update()).first()
    if case is None:
        raise NotFound(f"no case {number}")
    wanted = {
        CaseField.SEVERITY: change.severity.value if change.severity else None,
        CaseField.TYPE: _type(change.case_type) if change.case_type is not None else None,
        CaseField.SUBJECT: _subject(change.subject) if change.subject is not None else None,
    }
    current = {CaseField.SEVERITY: case.severity, CaseField.TYPE: case.case_type,
               CaseField.SUBJECT: case.subject}
    changes = tuple(CaseFieldChange(f, current[f], new) for f, new in wanted.items()
                    if new is not None and new != current[f])
    if not changes:
        return CaseFieldsUpdate(case.number, (), None)
    for c in changes:
        if c.field is CaseField.SEVERITY:
            case.severity = c.new
        elif c.field is CaseField.TYPE:
            case.case_type = c.new
        else:
            case.subject = c.new
    case.updated_at = now
    timers = (reschedule_case(session, settings, case.id, now)
              if any(c.field is CaseField.SEVERITY for c in changes) else None)
    index_case(session, case)
    detail: dict[str, Any] = {
        "number": case.number,
        "changes": {c.field.value: {"from": c.old, "to": c.new} for c in changes}}
    if timers is not None:
        detail["timers_moved"] = timers.moved
        detail["timers_now_due"] = timers.now_due
    audit(session, actor=actor, action="case.set", now=now, case_id=case.id, **detail)
    return CaseFieldsUpdate(case.number, changes, timers)
