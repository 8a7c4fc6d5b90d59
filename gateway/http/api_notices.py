"""``/api/v1/notices`` writes: create a draft, send it, post an incident status, all-clear,
cancel, and preview per organization.

Place in the flow: the scripts' door to ``workflows.notices.service``, the same services as the
console's notices pages and ``ticketgate notice ...``. Needs a token whose role may write
notices (scheduler, admin). Rule refusals are 409s whose message lists every rule and reason;
``force_reason`` (create) or ``why`` (send) records a justification and goes past them.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, Field, StringConstraints

from gateway.http.accounts import Permission, Principal
from gateway.http.api import ERRORS
from gateway.http.api_models import NO_NUL, Line, Strict, Text
from gateway.http.auth import ApiError, api_permission, runtime
from gateway.timeinput import YEARS, TimeInputError, zone_named
from workflows.notices import service
from workflows.notices import views as notice_views
from workflows.notices.model import NoticeKind, NoticeRequest, Window

router = APIRouter(prefix="/api/v1/notices", responses=ERRORS, tags=["notices"])
WRITE = Depends(api_permission(Permission.NOTICES_WRITE))
READ = Depends(api_permission(Permission.NOTICES_READ))
Reference = Annotated[str, Path(min_length=1, max_length=32, pattern=NO_NUL)]
Title = Annotated[str, StringConstraints(min_length=1, max_length=2000, pattern=NO_NUL)]


_TIME_HELP = ("ISO 8601. With an offset (2026-03-10T23:00+01:00, ...Z) that instant; without "
              "one, wall-clock time in time_zone, or else the desk's zone (desk_timezone), the "
              "same meaning as the CLI and the console")


class NewNotice(Strict):
    kind: NoticeKind
    title: Title
    impact: Text = ""
    details: Text = ""
    recommendation: Text = ""
    link: Line | None = None
    window: Window | None = None
    starts_at: dt.datetime | None = Field(None, description=_TIME_HELP)
    ends_at: dt.datetime | None = Field(None, description=_TIME_HELP)
    organizations: list[Line] = Field(default_factory=list, max_length=500)
    components: list[Line] = Field(default_factory=list, max_length=100)
    force_reason: Line | None = None
    time_zone: Line | None = Field(
        None, description="IANA zone (e.g. Europe/Berlin) that starts_at and ends_at without "
        "an offset are read in; default: the desk's zone (desk_timezone, UTC unless "
        "configured). The answer's times_read_in names the zone used.")


class SendBody(Strict):
    why: Line | None = None


class TextBody(Strict):
    text: Annotated[str, StringConstraints(min_length=1, max_length=20_000, pattern=NO_NUL)]


class CreatedOut(BaseModel):
    reference: str
    kind: str
    state: str
    organizations: list[str]
    without_list: list[str]
    forced: bool
    overridden: list[str]
    warnings: list[str]
    starts_at: dt.datetime | None = Field(None, description="the start as read, in UTC")
    ends_at: dt.datetime | None = Field(None, description="the end as read, in UTC")
    times_read_in: str = Field(description="the zone a time without an offset was read in")


class MailedOut(BaseModel):
    reference: str
    state: str
    deliveries: int
    sent: int
    deferred: int
    failed: int
    without_list: list[str]


def _aware(value: dt.datetime | None, zone: ZoneInfo, field: str) -> dt.datetime | None:
    """A time without an offset is wall-clock time in ``zone`` (``gateway.timeinput``); a year
    outside ``YEARS`` is refused there too (the rules' date arithmetic overflows on year 1)."""
    if value is None:
        return None
    if not YEARS[0] <= value.year <= YEARS[1]:
        raise ApiError(422, f"{field}: a year from {YEARS[0]} to {YEARS[1]}")
    return (value.replace(tzinfo=zone) if value.tzinfo is None else value).astimezone(dt.UTC)


def _zone(rt_zone: str, asked: str | None) -> ZoneInfo:
    try:
        return zone_named(asked or rt_zone)
    except TimeInputError as exc:
        raise ApiError(422, f"time_zone: {exc}") from None


def _mailed(mailed: service.Mailed) -> MailedOut:
    return MailedOut(reference=mailed.reference, state=mailed.state,
                     deliveries=mailed.deliveries, sent=mailed.report.sent,
                     deferred=mailed.report.deferred, failed=mailed.report.failed,
                     without_list=list(mailed.without_list))


@router.post("", response_model=CreatedOut, status_code=201)
def create(request: Request, body: NewNotice,
           principal: Annotated[Principal, WRITE]) -> CreatedOut:
    """A draft (nothing is sent). Times without an offset are read in ``time_zone``, else in
    the desk's zone (``desk_timezone``); the answer echoes them in UTC and names the zone."""
    rt = runtime(request)
    zone = _zone(rt.settings.desk_timezone, body.time_zone)
    wanted = NoticeRequest(
        kind=body.kind, title=body.title, impact=body.impact, details=body.details,
        recommendation=body.recommendation, link=body.link, window=body.window,
        starts_at=_aware(body.starts_at, zone, "starts_at"),
        ends_at=_aware(body.ends_at, zone, "ends_at"),
        organizations=tuple(body.organizations), components=tuple(body.components),
        force_reason=body.force_reason)
    with rt.db.transaction() as s:
        made = service.create_notice(s, rt.settings, wanted, now=rt.now(),
                                     actor=principal.actor)
    return CreatedOut(reference=made.reference, kind=made.kind, state=made.state,
                      organizations=list(made.organizations),
                      without_list=list(made.without_list), forced=made.forced,
                      overridden=list(made.overridden), warnings=list(made.warnings),
                      starts_at=wanted.starts_at, ends_at=wanted.ends_at,
                      times_read_in=zone.key)


@router.post("/{reference}/send", response_model=MailedOut)
def send(request: Request, reference: Reference, body: SendBody,
         principal: Annotated[Principal, WRITE]) -> MailedOut:
    return _mailed(service.send_notice(runtime(request), reference, actor=principal.actor,
                                       why=body.why))


@router.post("/{reference}/status", status_code=201)
def status(request: Request, reference: Reference, body: TextBody,
           principal: Annotated[Principal, WRITE]) -> dict[str, str]:
    """An incident update: the next follow-up carries it."""
    rt = runtime(request)
    with rt.db.transaction() as s:
        service.post_status(s, reference, body.text, now=rt.now(), actor=principal.actor)
    return {"reference": reference.upper(), "status": body.text}


@router.post("/{reference}/all-clear", response_model=MailedOut)
def all_clear(request: Request, reference: Reference, body: TextBody,
              principal: Annotated[Principal, WRITE]) -> MailedOut:
    return _mailed(service.all_clear(runtime(request), reference, body.text,
                                     actor=principal.actor))


@router.post("/{reference}/cancel", response_model=MailedOut)
def cancel(request: Request, reference: Reference,
           principal: Annotated[Principal, WRITE]) -> MailedOut:
    return _mailed(service.cancel(runtime(request), reference, actor=principal.actor))


@router.get("/{reference}/preview", response_model=list[notice_views.Preview])
def preview(request: Request, reference: Reference,
            _p: Annotated[Principal, READ]) -> list[notice_views.Preview]:
    """What each organization gets from the notice's next mailing (its own time zone)."""
    rt = runtime(request)
    with rt.db.transaction() as s:
        return notice_views.preview(s, rt.settings, reference, org_name=None, now=rt.now())


@router.get("/{reference}/deliveries", response_model=list[notice_views.DeliveryLine])
def deliveries(request: Request, reference: Reference,
               _p: Annotated[Principal, READ]) -> list[notice_views.DeliveryLine]:
    """Delivery status, one line per recipient and mailing."""
    with runtime(request).db.transaction() as s:
        return notice_views.notice_detail(s, reference).deliveries
