"""Console pages for organizations and their contacts: see them, and (admins) edit contacts.

Place in the flow: outside the message flow; the console edge of ``workflows.cases.contacts``, the
service ``ticketgate contact list|set|remove`` and ``/api/v1/contacts`` call too, so every edge
validates, audits and warns alike. ``/organizations`` lists every organization with its
designated count (those below the guides' two are marked); ``/organizations/{name}`` shows its
contacts, removed ones included, with the warnings (a contact whose domain is not the
organization's, too few designated contacts) and, for admins (``directory:write``), the forms.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from gateway.http.accounts import Permission, Principal
from gateway.http.auth import form_permission, page_permission, runtime
from gateway.http.ids import NO_NUL
from gateway.http.pages import done, page
from workflows.cases import contacts
from workflows.errors import DomainError
from workflows.storage.models import Organization

router = APIRouter(include_in_schema=False)
READ = Depends(page_permission(Permission.DIRECTORY_READ))
WRITE = Depends(form_permission(Permission.DIRECTORY_WRITE))
OrgName = Annotated[str, Path(min_length=1, max_length=200, pattern=NO_NUL)]
Address = Annotated[str, Form(min_length=1, max_length=320, pattern=NO_NUL)]


@dataclass(frozen=True, slots=True)
class OrganizationRow:
    name: str
    domains: tuple[str, ...]
    timezone: str
    designated: int

    @property
    def below_minimum(self) -> bool:
        return self.designated < contacts.MIN_DESIGNATED


def _org_url(name: str) -> str:
    return f"/organizations/{quote(name, safe='')}"


@router.get("/organizations")
def organization_list(request: Request, principal: Annotated[Principal, READ]
                      ) -> HTMLResponse:
    rt = runtime(request)
    with rt.db.transaction() as s:
        counts = contacts.designated_counts(s)
        rows = [OrganizationRow(o.name, tuple(sorted(o.domains or ())), o.timezone or "UTC",
                                counts.get(o.id, 0))
                for o in s.scalars(select(Organization).order_by(Organization.name))]
    return page(request, principal, "organization_list.html", title="Organizations",
                rows=rows, minimum=contacts.MIN_DESIGNATED)


@router.get("/organizations/{name}")
def organization_page(request: Request, name: OrgName, principal: Annotated[Principal, READ]
                      ) -> HTMLResponse:
    rt = runtime(request)
    with rt.db.transaction() as s:
        listing = contacts.list_contacts(s, name, include_removed=True)
    return page(request, principal, "organization.html", title=listing.organization,
                org=listing, minimum=contacts.MIN_DESIGNATED,
                can_edit=principal.can(Permission.DIRECTORY_WRITE),
                url=_org_url(listing.organization))


def _after(request: Request, org: str, done_: contacts.ContactResult, what: str) -> Response:
    warned = f" Warning: {'; '.join(done_.warnings)}." if done_.warnings else ""
    return done(request, _org_url(done_.contact.organization or org), f"{what}{warned}")


@router.post("/organizations/{name}/contacts")
def organization_contact_set(
    request: Request, name: OrgName, principal: Annotated[Principal, WRITE],
    email: Address, contact_name: Annotated[str | None, Form(max_length=200,
                                                             pattern=NO_NUL)] = None,
    designated: Annotated[str, Form(pattern=r"^(|yes|no)$")] = "",
) -> Response:
    """Add a contact to this organization, or change one (name, designation): one form for
    the "add" row and each contact's buttons; an empty field leaves it as it is."""
    change = contacts.ContactChange(
        organization=name, name=contact_name or None,
        designated=None if not designated else designated == "yes")
    rt = runtime(request)
    try:
        with rt.db.transaction() as s:
            result = contacts.set_contact(s, email=email, change=change,
                                          actor=principal.email, now=rt.now())
    except (DomainError, contacts.InvalidContact) as exc:
        return done(request, _org_url(name), f"Not done: {exc}")
    if result.created:
        what = f"{result.contact.email} added."
    elif result.changes:
        what = f"{result.contact.email}: " + ", ".join(
            f"{c.field.value} {c.old} → {c.new}" for c in result.changes) + "."
    else:
        what = f"{result.contact.email}: nothing changed."
    return _after(request, name, result, what)


@router.post("/organizations/{name}/contacts/remove")
def organization_contact_remove(request: Request, name: OrgName,
                                principal: Annotated[Principal, WRITE], email: Address
                                ) -> Response:
    rt = runtime(request)
    try:
        with rt.db.transaction() as s:
            result = contacts.remove_contact(s, email=email, actor=principal.email,
                                             now=rt.now())
    except (DomainError, contacts.InvalidContact) as exc:
        return done(request, _org_url(name), f"Not done: {exc}")
    return _after(request, name, result,
                  f"{result.contact.email} removed (history kept; its mail now goes to "
                  "triage).")
