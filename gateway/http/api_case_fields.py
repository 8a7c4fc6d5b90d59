"""``PATCH /api/v1/cases/{number}``: change a case's severity, type or subject over HTTP.

Place in the flow: the HTTP edge of ``workflows.cases.fields.set_case_fields``, the service
``ticketgate case set`` and the console's case page call too: audited as the token's or
session's user, SLA deadlines following a new severity. Admins and analysts
(``cases:write``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from gateway.http.accounts import Permission, Principal
from gateway.http.api import ERRORS
from gateway.http.api_models import NO_NUL
from gateway.http.auth import ApiError, api_permission, runtime
from gateway.http.ids import CaseNumber
from workflows.cases.fields import CaseFieldsChange, set_case_fields
from workflows.domain import Severity
from workflows.errors import Refused

CASES_WRITE = Depends(api_permission(Permission.CASES_WRITE))
router = APIRouter(prefix="/api/v1", responses=ERRORS)


class CasePatch(BaseModel):
    """What to change; what is left out stays as it is."""

    model_config = ConfigDict(extra="forbid")
    severity: Severity | None = None
    type: Annotated[str, Field(min_length=1, max_length=64, pattern=NO_NUL)] | None = None
    subject: Annotated[str, Field(min_length=1, max_length=998, pattern=NO_NUL)] | None = None


class CaseFieldChangeOut(BaseModel):
    field: str
    old: str
    new: str


class CasePatchOut(BaseModel):
    number: str
    changes: list[CaseFieldChangeOut]
    timers_moved: int = Field(description="pending SLA timers recomputed on the new severity")


@router.patch("/cases/{number}", response_model=CasePatchOut, tags=["cases"])
def patch_case(request: Request, number: CaseNumber, body: CasePatch,
               principal: Annotated[Principal, CASES_WRITE]) -> CasePatchOut:
    """Change severity, type or subject (audited); an empty subject or type is 422, an
    unknown case 404."""
    rt = runtime(request)
    change = CaseFieldsChange(severity=body.severity, case_type=body.type, subject=body.subject)
    try:
        with rt.db.transaction() as s:
            done = set_case_fields(s, rt.settings, number=number, change=change,
                                   actor=principal.email, now=rt.now())
    except Refused as exc:
        raise ApiError(422, str(exc)) from None
    return CasePatchOut(number=done.number,
                        changes=[CaseFieldChangeOut(field=c.field.value, old=c.old, new=c.new)
                                 for c in done.changes],
                        timers_moved=done.timers.moved if done.timers else 0)
