"""The case page's "severity, type, subject" form.

Place in the flow: outside the message flow; the console edge of
``workflows.cases.fields.set_case_fields`` (the service of ``ticketgate case set`` and
``PATCH /api/v1/cases/{number}``): audited as the signed-in user, SLA deadlines following a
new severity. Admins and analysts (``cases:write``), with the form's CSRF token.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from gateway.http.accounts import Permission, Principal
from gateway.http.auth import form_permission, runtime
from gateway.http.ids import NO_NUL, CaseNumber
from gateway.http.pages import done
from workflows.cases.fields import CaseFieldsChange, set_case_fields
from workflows.domain import Severity
from workflows.errors import DomainError

router = APIRouter(include_in_schema=False)
WRITE = Depends(form_permission(Permission.CASES_WRITE))


@router.post("/cases/{number}/fields")
def case_fields(request: Request, number: CaseNumber, principal: Annotated[Principal, WRITE],
                severity: Annotated[Severity | None, Form()] = None,
                case_type: Annotated[str | None, Form(max_length=64, pattern=NO_NUL)] = None,
                subject: Annotated[str | None, Form(max_length=998, pattern=NO_NUL)] = None
                ) -> Response:
    rt = runtime(request)
    change = CaseFieldsChange(severity=severity, case_type=case_type, subject=subject)
    try:
        with rt.db.transaction() as s:
            result = set_case_fields(s, rt.settings, number=number, change=change,
                                     actor=principal.email, now=rt.now())
    except DomainError as exc:
        return done(request, f"/cases/{number}", f"Not done: {exc}")
    if not result.changes:
        return done(request, f"/cases/{result.number}", "Nothing changed.")
    moved = (f" {result.timers.moved} SLA deadline(s) recomputed." if result.timers else "")
    return done(request, f"/cases/{result.number}", f"{result.number}: " + ", ".join(
        f"{c.field.value} {c.old} → {c.new}" for c in result.changes) + "." + moved)
