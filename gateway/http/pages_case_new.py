"""The console's "new case" form: an analyst opens a case for a contact, as on the phone.

Place in the flow: outside the message flow; the console edge of ``actions.open_case``, the
service ``ticketgate case open`` and ``POST /api/v1/cases`` call too: the same checks (a known
organization and contact, a subject), the same audit as the signed-in user, and the
acknowledgement when the mailbox asks for one. Admins and analysts (``cases:write``), with the
form's CSRF token. Registered before ``pages_cases`` so ``/cases/new`` is not read as a case
number.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from gateway.http import actions
from gateway.http.accounts import Permission, Principal
from gateway.http.auth import form_permission, page_permission, runtime
from gateway.http.ids import NO_NUL
from gateway.http.pages import done, page
from workflows.domain import Family, Severity
from workflows.errors import DomainError
from workflows.storage.models import Contact, Organization

router = APIRouter(include_in_schema=False)
READ = Depends(page_permission(Permission.CASES_WRITE))
WRITE = Depends(form_permission(Permission.CASES_WRITE))
Line = Annotated[str, Form(min_length=1, max_length=320, pattern=NO_NUL)]


@router.get("/cases/new")
def new_case_form(request: Request, principal: Annotated[Principal, READ]) -> HTMLResponse:
    rt = runtime(request)
    with rt.db.transaction() as s:
        organizations = list(s.scalars(select(Organization.name).order_by(Organization.name)))
        people = [(email, org) for email, org in s.execute(
            select(Contact.email, Organization.name)
            .join(Organization, Organization.id == Contact.organization_id)
            .where(Contact.removed_at.is_(None)).order_by(Organization.name, Contact.email))]
    return page(request, principal, "case_new.html", title="New case",
                organizations=organizations, people=people,
                severities=[s.value for s in Severity], families=[f.value for f in Family])


@router.post("/cases/new")
def new_case(request: Request, principal: Annotated[Principal, WRITE],
             organization: Line, contact: Line,
             subject: Annotated[str, Form(min_length=1, max_length=2000, pattern=NO_NUL)],
             severity: Annotated[Severity, Form()] = Severity.MEDIUM,
             family: Annotated[Family, Form()] = Family.CASE,
             case_type: Annotated[str, Form(min_length=1, max_length=64,
                                            pattern=r"^[a-z0-9_-]+$")] = "support",
             ) -> Response:
    try:
        result = actions.open_case(runtime(request), principal, organization=organization,
                                   contact=contact, subject=subject, family=family,
                                   severity=severity, case_type=case_type)
    except DomainError as exc:
        return done(request, "/cases/new", f"Not opened: {exc}")
    return done(request, f"/cases/{result.number}", f"{result.number} opened for {contact}.")
