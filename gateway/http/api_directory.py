"""``PATCH /api/v1/organizations/{name}`` and the contacts: the directory over HTTP.

Place in the flow: the HTTP edge of ``workflows.cases.organizations.update_organization``, the
service ``ticketgate org set`` calls too, so both validate alike, audit alike (the actor is
the token's or session's user) and move the organization's pending timers when its business
calendar changes. Admins only (``directory:write``).

``GET /api/v1/organizations/{name}/contacts``, ``PUT`` and ``DELETE /api/v1/contacts/{email}``:
the edges of ``workflows.cases.contacts``, which ``ticketgate contact list|set|remove`` and the
console's organization pages call too.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, ConfigDict, Field

from gateway.http.accounts import Permission, Principal
from gateway.http.api import ERRORS
from gateway.http.api_models import NO_NUL
from gateway.http.auth import ApiError, api_permission, runtime
from workflows.cases import contacts, organizations
from workflows.cases.contacts import MIN_DESIGNATED

DIRECTORY_WRITE = Depends(api_permission(Permission.DIRECTORY_WRITE))
router = APIRouter(prefix="/api/v1", responses=ERRORS)
OrgName = Annotated[str, Path(min_length=1, max_length=200, pattern=NO_NUL)]
Text = Annotated[str, Field(max_length=200, pattern=NO_NUL)]
Items = Annotated[list[Text], Field(max_length=500)]


class OrganizationPatch(BaseModel):
    """What to change; what is left out stays as it is. ``notify`` replaces the list;
    ``add_*``/``remove_*`` edit a set. Values are checked as ``org set`` checks them."""

    model_config = ConfigDict(extra="forbid")
    rename: Text | None = None
    timezone: Text | None = Field(None, description="IANA zone, e.g. Europe/Paris")
    country: Text | None = Field(None, description="public holidays; empty string for none")
    hours: Text | None = Field(None, description="business hours, local time: 08:00-18:00")
    workdays: Text | None = Field(None, description="mon-fri, sun-thu, mon,wed,fri")
    add_closed_days: Items = []
    remove_closed_days: Items = []
    add_domains: Items = []
    remove_domains: Items = []
    notify: Items | None = None
    add_notify: Items = []
    remove_notify: Items = []


class OrganizationSettingsOut(BaseModel):
    name: str
    domains: list[str]
    notify: list[str]
    timezone: str
    country: str | None
    hours: str
    workdays: str
    closed_days: list[str]


class FieldChangeOut(BaseModel):
    field: str
    old: str | list[str] | None
    new: str | list[str] | None


class OrganizationUpdateOut(BaseModel):
    organization: OrganizationSettingsOut
    changes: list[FieldChangeOut]
    timers_moved: int = Field(description="pending timers recomputed on the new calendar")
    timers_now_due: int = Field(description="of those, due already: next scheduler pass")


def _settings_out(org: organizations.OrganizationSettings) -> OrganizationSettingsOut:
    return OrganizationSettingsOut(
        name=org.name, domains=list(org.domains), notify=list(org.notify),
        timezone=org.timezone, country=org.country, hours=org.hours, workdays=org.workdays,
        closed_days=list(org.closed_days))


@router.patch("/organizations/{name}", response_model=OrganizationUpdateOut,
              tags=["directory"])
def update_organization(request: Request, name: OrgName, body: OrganizationPatch,
                        principal: Annotated[Principal, DIRECTORY_WRITE]
                        ) -> OrganizationUpdateOut:
    """Change an organization; its cases' pending timers follow a new calendar. A bad value
    is 422 and changes nothing; an unknown organization 404; a taken name 409."""
    change = organizations.OrganizationChange(
        rename=body.rename, timezone=body.timezone, country=body.country, hours=body.hours,
        workdays=body.workdays, add_closed_days=tuple(body.add_closed_days),
        remove_closed_days=tuple(body.remove_closed_days),
        add_domains=tuple(body.add_domains), remove_domains=tuple(body.remove_domains),
        notify=tuple(body.notify) if body.notify is not None else None,
        add_notify=tuple(body.add_notify), remove_notify=tuple(body.remove_notify))
    rt = runtime(request)
    try:
        with rt.db.transaction() as s:
            done = organizations.update_organization(s, rt.settings, name=name, change=change,
                                                     actor=principal.email, now=rt.now())
    except organizations.InvalidSetting as exc:
        raise ApiError(422, str(exc)) from None
    return OrganizationUpdateOut(
        organization=_settings_out(done.organization),
        changes=[FieldChangeOut(field=c.field.value, old=organizations.json_value(c.old),
                                new=organizations.json_value(c.new))
                 for c in done.changes],
        timers_moved=done.timers.moved if done.timers else 0,
        timers_now_due=done.timers.now_due if done.timers else 0)


# --- contacts (workflows.cases.contacts: the services of `contact list|set|remove`) ---------------

DIRECTORY_READ = Depends(api_permission(Permission.DIRECTORY_READ))
Address = Annotated[str, Path(min_length=3, max_length=320, pattern=NO_NUL)]


class ContactViewOut(BaseModel):
    email: str
    name: str
    organization: str
    designated: bool
    foreign_domain: bool = Field(description="the address's domain is not one of the "
                                 "organization's mail domains")
    created_at: dt.datetime
    removed_at: dt.datetime | None


class OrganizationContactsOut(BaseModel):
    organization: str
    domains: list[str]
    contacts: list[ContactViewOut]
    designated: int = Field(description="active designated contacts")
    # MIN_DESIGNATED, not contacts.MIN_DESIGNATED: in this class body ``contacts`` reads as
    # the field above to a type checker (at run time it is still the module).
    below_minimum: bool = Field(description=f"fewer than {MIN_DESIGNATED} designated "
                                "contacts (the guides ask for at least two)")
    warnings: list[str]


class ContactSet(BaseModel):
    """What to set; what is left out stays. A new (or removed) address needs
    ``organization``; a new one is designated unless ``designated`` is false."""

    model_config = ConfigDict(extra="forbid")
    organization: Text | None = None
    name: Text | None = None
    designated: bool | None = None


class ContactResultOut(BaseModel):
    contact: ContactViewOut
    created: bool
    changes: list[FieldChangeOut]
    warnings: list[str]


def _contact_out(c: contacts.ContactView) -> ContactViewOut:
    return ContactViewOut(email=c.email, name=c.name, organization=c.organization,
                          designated=c.designated, foreign_domain=c.foreign_domain,
                          created_at=c.created_at, removed_at=c.removed_at)


def _result_out(done: contacts.ContactResult) -> ContactResultOut:
    return ContactResultOut(
        contact=_contact_out(done.contact), created=done.created,
        changes=[FieldChangeOut(field=c.field.value,
                                old=None if c.old is None else str(c.old).lower()
                                if isinstance(c.old, bool) else c.old,
                                new=None if c.new is None else str(c.new).lower()
                                if isinstance(c.new, bool) else c.new)
                 for c in done.changes],
        warnings=list(done.warnings))


@router.get("/organizations/{name}/contacts", response_model=OrganizationContactsOut,
            tags=["directory"])
def organization_contacts(request: Request, name: OrgName,
                          _p: Annotated[Principal, DIRECTORY_READ],
                          removed: bool = False) -> OrganizationContactsOut:
    """An organization's contacts (``removed=true``: with removed ones), its designated
    count and warnings (foreign domains, fewer than two designated). Unknown: 404."""
    rt = runtime(request)
    with rt.db.transaction() as s:
        listing = contacts.list_contacts(s, name, include_removed=removed)
    return OrganizationContactsOut(
        organization=listing.organization, domains=list(listing.domains),
        contacts=[_contact_out(c) for c in listing.contacts], designated=listing.designated,
        below_minimum=listing.below_minimum, warnings=list(listing.warnings))


@router.put("/contacts/{email}", response_model=ContactResultOut, tags=["directory"])
def set_contact(request: Request, email: Address, body: ContactSet,
                principal: Annotated[Principal, DIRECTORY_WRITE]) -> ContactResultOut:
    """Add a contact or change it, as ``contact set`` does (audited). A malformed address
    is 422; an unknown organization, or a new address without one, 404."""
    rt = runtime(request)
    try:
        with rt.db.transaction() as s:
            done = contacts.set_contact(
                s, email=email, change=contacts.ContactChange(
                    organization=body.organization, name=body.name,
                    designated=body.designated),
                actor=principal.email, now=rt.now())
    except contacts.InvalidContact as exc:
        raise ApiError(422, str(exc)) from None
    return _result_out(done)


@router.delete("/contacts/{email}", response_model=ContactResultOut, tags=["directory"])
def remove_contact(request: Request, email: Address,
                   principal: Annotated[Principal, DIRECTORY_WRITE]) -> ContactResultOut:
    """Remove a contact, as ``contact remove`` does: the row and its history stay, its
    mail counts as a stranger's from now on. Unknown (or removed already): 404."""
    rt = runtime(request)
    try:
        with rt.db.transaction() as s:
            done = contacts.remove_contact(s, email=email, actor=principal.email,
                                           now=rt.now())
    except contacts.InvalidContact as exc:
        raise ApiError(422, str(exc)) from None
    return _result_out(done)
