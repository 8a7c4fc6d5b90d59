"""Notices in the browser: compose with a live per-organization preview, send, follow up.

Place in the flow: beside the inbound flow, where schedulers drive ``workflows.notices``: the
same services as ``ticketgate notice ...`` (create, send, post a status, all-clear, cancel) and
the same read models (``notices.views``: the list, one notice with its deliveries, previews).

The live preview creates the draft inside a transaction, renders what each organization would
get (in its own time zone) with the very code that queues mailings, reads the planned-maintenance
rules' verdicts, and then rolls the transaction back: nothing is stored, and the preview cannot
drift from what sending would do.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from gateway.http.accounts import Permission, Principal
from gateway.http.auth import form_permission, page_permission, runtime
from gateway.http.ids import NoticeReference
from gateway.http.pages import done, page
from gateway.http.render import render_page
from gateway.timeinput import TimeInputError, read_time, zone_choices, zone_named
from workflows.errors import DomainError, Refused
from workflows.notices import service
from workflows.notices import views as notice_views
from workflows.notices.model import NoticeKind, NoticeRequest, Refusal, Window
from workflows.notices.timefmt import local_time, zone_of
from workflows.storage.models import NoticeAudience, Organization

router = APIRouter(include_in_schema=False)
READ = Depends(page_permission(Permission.NOTICES_READ))
WRITE_PAGE = Depends(page_permission(Permission.NOTICES_WRITE))
WRITE = Depends(form_permission(Permission.NOTICES_WRITE))
PREVIEW_WHY = "(console preview: not stored)"


@dataclass(frozen=True, slots=True)
class Draft:
    """The compose form as typed (strings), so it can be shown again as it was."""

    kind: str = NoticeKind.PLANNED.value
    title: str = ""
    impact: str = ""
    details: str = ""
    recommendation: str = ""
    link: str = ""
    window: str = Window.WEEKLY.value
    starts_at: str = ""  # datetime-local: wall-clock time in ``time_zone``
    ends_at: str = ""
    organizations: tuple[str, ...] = ()
    components: str = ""
    force_reason: str = ""
    time_zone: str = ""  # the zone picked for the times; "" the desk's (desk_timezone)


def _when(value: str, label: str, zone: str) -> dt.datetime | None:
    """The typed time read in ``zone`` (``gateway.timeinput``: the CLI's and the API's rule)."""
    if not value.strip():
        return None
    try:
        return read_time(value, zone).at
    except TimeInputError as exc:
        raise Refused(f"{label}: {exc}") from None


def _zone(draft: Draft, desk_zone: str) -> str:
    try:
        return zone_named(draft.time_zone or desk_zone).key
    except TimeInputError as exc:
        raise Refused(f"time zone: {exc}") from None


def _request(draft: Draft, desk_zone: str) -> NoticeRequest:
    zone = _zone(draft, desk_zone)
    try:
        kind = NoticeKind(draft.kind)
        window = Window(draft.window) if draft.window and kind.maintenance else None
    except ValueError as exc:
        raise Refused(str(exc)) from None
    return NoticeRequest(
        kind=kind, title=draft.title, impact=draft.impact, details=draft.details,
        recommendation=draft.recommendation, link=draft.link.strip() or None, window=window,
        starts_at=_when(draft.starts_at, "starts", zone),
        ends_at=_when(draft.ends_at, "ends", zone),
        organizations=tuple(o for o in draft.organizations if o),
        components=tuple(c.strip() for c in draft.components.split(",") if c.strip()),
        force_reason=draft.force_reason.strip() or None)


@dataclass(frozen=True, slots=True)
class LivePreview:
    error: str | None
    refusals: tuple[Refusal, ...] = ()
    warnings: tuple[str, ...] = ()
    zones: dict[str, str] = dataclasses.field(default_factory=dict)
    previews: tuple[notice_views.Preview, ...] = ()
    checked: bool = False  # the rules were run (compose), not just the copies rendered
    read_as: str | None = None  # how the typed times were read: zone named, and in UTC


class _Rollback(Exception):
    def __init__(self, result: LivePreview) -> None:
        super().__init__("preview")
        self.result = result


def preview_draft(request: Request, principal: Principal, draft: Draft) -> LivePreview:
    """Create, render and check the notice in a transaction that is always rolled back."""
    rt = runtime(request)
    now = rt.now()
    try:
        wanted = _request(draft, rt.settings.desk_timezone)
        read_as = _read_as(wanted, _zone(draft, rt.settings.desk_timezone))
        with rt.db.transaction() as s:
            created = service.create_notice(
                s, rt.settings, dataclasses.replace(wanted, force_reason=PREVIEW_WHY),
                now=now, actor=principal.actor)
            notice = service.find_notice(s, created.reference)
            orgs = list(s.scalars(select(Organization).join(
                NoticeAudience, NoticeAudience.organization_id == Organization.id)
                .where(NoticeAudience.notice_id == notice.id)))
            refusals: tuple[Refusal, ...] = ()
            if notice.window and notice.starts_at and notice.ends_at:
                refusals = service.refusals_for(
                    s, rt.settings, window=Window(notice.window), starts_at=notice.starts_at,
                    ends_at=notice.ends_at, org_ids=[o.id for o in orgs], now=now)
            previews = notice_views.preview(s, rt.settings, created.reference, org_name=None,
                                            now=now)
            raise _Rollback(LivePreview(None, refusals, created.warnings,
                                        {o.name: o.timezone for o in orgs}, tuple(previews),
                                        checked=True, read_as=read_as))
    except _Rollback as done_:
        return done_.result
    except DomainError as exc:
        return LivePreview(str(exc))


def _read_as(wanted: NoticeRequest, zone: str) -> str | None:
    """``Starts Tue 10 Mar 2026 23:00 MDT (America/Denver) = 2026-03-11 05:00 UTC``."""
    said = []
    for label, at in (("Starts", wanted.starts_at), ("ends", wanted.ends_at)):
        if at is not None:
            said.append(f"{label} {local_time(at, zone_of(zone))} ({zone}) = "
                        f"{at.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC")
    return "; ".join(said) or None


def _draft_form(kind: str, title: str, impact: str, details: str, recommendation: str,
                link: str, window: str, starts_at: str, ends_at: str,
                organizations: list[str], components: str, force_reason: str,
                time_zone: str = "") -> Draft:
    return Draft(kind, title, impact, details, recommendation, link, window, starts_at,
                 ends_at, tuple(organizations), components, force_reason, time_zone.strip())


Short = Annotated[str, Form(max_length=2000)]
Long = Annotated[str, Form(max_length=20_000)]


def _compose(request: Request, principal: Principal, draft: Draft,
             preview: LivePreview | None) -> HTMLResponse:
    rt = runtime(request)
    with rt.db.transaction() as s:
        orgs = list(s.execute(select(Organization.name, Organization.timezone)
                              .order_by(Organization.name)))
    desk_zone = rt.settings.desk_timezone
    return page(request, principal, "notice_compose.html", title="New notice", draft=draft,
                preview=preview, organizations=[name for name, _ in orgs],
                kinds=list(NoticeKind), windows=list(Window), desk_zone=desk_zone,
                zone=draft.time_zone or desk_zone,
                zones=zone_choices(desk_zone, *sorted({tz for _, tz in orgs if tz})))


@router.get("/notices")
def notice_list(request: Request, principal: Annotated[Principal, READ]) -> HTMLResponse:
    with runtime(request).db.transaction() as s:
        lines = list(reversed(notice_views.notice_lines(s)))
    return page(request, principal, "notice_list.html", title="Notices", notices=lines)


@router.get("/notices/new")
def notice_new(request: Request, principal: Annotated[Principal, WRITE_PAGE]) -> HTMLResponse:
    return _compose(request, principal, Draft(), None)


@router.post("/notices/preview")
def notice_preview(request: Request, principal: Annotated[Principal, WRITE],
                   kind: Short = "planned", title: Short = "", impact: Long = "",
                   details: Long = "", recommendation: Long = "", link: Short = "",
                   window: Short = "", starts_at: Short = "", ends_at: Short = "",
                   organizations: Annotated[list[str], Form(max_length=500)] = [],  # noqa: B006
                   components: Short = "", force_reason: Short = "",
                   time_zone: Short = "") -> HTMLResponse:
    """The preview alone for the page's script (``X-Fragment``), or the whole form again."""
    draft = _draft_form(kind, title, impact, details, recommendation, link, window, starts_at,
                        ends_at, organizations, components, force_reason, time_zone)
    result = preview_draft(request, principal, draft)
    if request.headers.get("x-fragment") == "1":
        return HTMLResponse(render_page("_notice_preview.html", {"preview": result}))
    return _compose(request, principal, draft, result)


@router.post("/notices")
def notice_create(request: Request, principal: Annotated[Principal, WRITE],
                  kind: Short = "planned", title: Short = "", impact: Long = "",
                  details: Long = "", recommendation: Long = "", link: Short = "",
                  window: Short = "", starts_at: Short = "", ends_at: Short = "",
                  organizations: Annotated[list[str], Form(max_length=500)] = [],  # noqa: B006
                  components: Short = "", force_reason: Short = "",
                  time_zone: Short = "") -> Response:
    draft = _draft_form(kind, title, impact, details, recommendation, link, window, starts_at,
                        ends_at, organizations, components, force_reason, time_zone)
    rt = runtime(request)
    try:
        wanted = _request(draft, rt.settings.desk_timezone)
        with rt.db.transaction() as s:
            created = service.create_notice(s, rt.settings, wanted, now=rt.now(),
                                            actor=principal.actor)
    except DomainError as exc:
        return _compose(request, principal, draft, LivePreview(str(exc)))
    return done(request, f"/notices/{created.reference}",
                f"Draft {created.reference} saved for {', '.join(created.organizations)}.")


@router.get("/notices/{reference}")
def notice_page(request: Request, reference: NoticeReference, principal: Annotated[Principal, READ]
                ) -> HTMLResponse:
    rt = runtime(request)
    with rt.db.transaction() as s:
        detail = notice_views.notice_detail(s, reference)
        # a draft's announcement, or an ongoing incident's next follow-up
        upcoming = detail.notice.state == "draft" or (
            detail.notice.state == "active" and detail.notice.kind == NoticeKind.INCIDENT)
        previews = notice_views.preview(s, rt.settings, reference, org_name=None,
                                        now=rt.now()) if upcoming else []
        zones = dict(s.execute(select(Organization.name, Organization.timezone).where(
            Organization.name.in_(detail.organizations))).all())
    return page(request, principal, "notice.html", title=detail.notice.reference,
                n=detail, preview=LivePreview(None, zones=zones, previews=tuple(previews)))


@router.post("/notices/{reference}/{action}")
def notice_act(request: Request, reference: NoticeReference, action: str,
               principal: Annotated[Principal, WRITE], text: Long = "",
               why: Short = "") -> Response:
    rt = runtime(request)
    url = f"/notices/{reference}"
    try:
        if action == "send":
            mailed = service.send_notice(rt, reference, actor=principal.actor,
                                         why=why or None)
        elif action == "all-clear":
            mailed = service.all_clear(rt, reference, text, actor=principal.actor)
        elif action == "cancel":
            mailed = service.cancel(rt, reference, actor=principal.actor)
        elif action == "status":
            with rt.db.transaction() as s:
                service.post_status(s, reference, text, now=rt.now(), actor=principal.actor)
            return done(request, url, "Status posted: the next follow-up carries it.")
        else:
            return done(request, url, f"Unknown action {action!r}.")
    except DomainError as exc:
        return done(request, url, f"Not done: {exc}")
    return done(request, url, f"{mailed.reference} is {mailed.state}: {mailed.deliveries} "
                f"deliveries queued, {mailed.report.sent} sent.")
