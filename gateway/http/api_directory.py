"""``PATCH /api/v1/organizations/{name}``: change an organization's settings over HTTP.

Place in the flow: the HTTP edge of ``workflows.organizations.update_organization``, the
service ``ticketgate org set`` calls too, so both validate alike, audit alike (the actor is
the token's or session's user) and move the organization's pending timers when its business
calendar changes. Admins only (``directory:write``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, ConfigDict, Field

from gateway.http.accounts import Permission, Principal
from gateway.http.api import ERRORS
from gateway.http.api_models import NO_NUL
from gateway.http.auth import ApiError, api_permission, runtime
from workflows import organizations

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
