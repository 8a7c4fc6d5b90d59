"""``/api/v1``: cases, updates, triage, notices, organizations and contacts as JSON.

Place in the flow: the scripts' edge, beside the console, on the same ``actions`` and read
models. Authentication is a per-user bearer token (``ticketgate token create``) and the token's
user's role scopes what it may call; cookies are ignored here, so no browser session can be
ridden into an API write (no CSRF surface). Lists are paginated (``page``, ``per_page`` up to
200) and say where the next page is. Errors are ``{"error": {"status", "message"}}``.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gateway.http import queries
from gateway.http.accounts import ROLE_PERMISSIONS, Permission, Principal
from gateway.http.actions import (
    TriageAction,
    act_on_triage,
    close_case,
    open_case,
    post_to_case,
    reopen_case,
)
from gateway.http.api_models import (
    NO_NUL,
    AttachmentOut,
    BlockBody,
    CaseItem,
    CaseList,
    CaseResultOut,
    CloseBody,
    ContactList,
    ContactOut,
    ErrorOut,
    LinkBody,
    Me,
    NewCase,
    NewUpdate,
    NoticeList,
    NoticeOut,
    OrganizationList,
    OrganizationOut,
    PageNo,
    Pagination,
    PerPage,
    PostResultOut,
    ReopenBody,
    ReplyBody,
    SentFileOut,
    TriageDetailOut,
    TriageItemOut,
    TriageList,
    TriageResultOut,
    UpdateOut,
)
from gateway.http.auth import api_permission, api_user, runtime
from gateway.http.case_columns import CaseSort
from gateway.http.ids import CaseNumber, RowId
from gateway.http.mailview import mail_view
from gateway.http.reasons import REASON_TEXT
from workflows.cases import directory, views
from workflows.cases.assignment import find_user
from workflows.domain import CaseStatus
from workflows.errors import NotFound
from workflows.outbound.files import Upload
from workflows.storage.models import (
    Contact,
    Notice,
    NoticeAudience,
    NoticeDelivery,
    NoticeMailing,
    Organization,
)

ERRORS: dict[int | str, dict[str, object]] = {
    code: {"model": ErrorOut, "description": text} for code, text in (
        (401, "no valid bearer token"), (403, "the token's role may not do this"),
        (404, "not found"), (409, "refused by the domain (the message says why)"),
        (422, "the request is malformed"))}
router = APIRouter(prefix="/api/v1", responses=ERRORS)
schema_router = APIRouter(include_in_schema=False)
ItemId = RowId  # gateway.http.ids: one bound for every id in a path, console and API alike
Filter = Annotated[str, Query(max_length=200, pattern=NO_NUL)]
# A status or order the list does not know is a 422 naming the choices, not an empty list or
# the default order that looks like an answer.
StatusFilter = Annotated[str, Query(
    pattern=f"^({'|'.join(s.value for s in CaseStatus)})?$",
    description="one of " + ", ".join(s.value for s in CaseStatus))]
ReasonFilter = Annotated[str, Query(
    pattern=f"^({'|'.join(sorted(REASON_TEXT))})?$",
    description="one of " + ", ".join(sorted(REASON_TEXT)))]
SortOrder = Annotated[str, Query(
    pattern=f"^(-?({'|'.join(s.value for s in CaseSort)}))?$",
    description=", ".join(s.value for s in CaseSort) + "; '-' reverses")]


def _pagination(request: Request, page: queries.Page[object]) -> Pagination:
    nxt = str(request.url.include_query_params(page=page.page + 1)) if page.has_next else None
    return Pagination(page=page.page, per_page=page.per_page, total=page.total,
                      pages=page.pages, next=nxt)


@schema_router.get("/api/openapi.json")
def openapi_document(request: Request) -> JSONResponse:
    """The OpenAPI 3.1 description of ``/api/v1``: public, as it holds no data (the endpoints
    it describes still need a bearer token); ``/docs`` shows it."""
    return JSONResponse(request.app.openapi())


@router.get("/me", response_model=Me, tags=["account"])
def me(principal: Annotated[Principal, Depends(api_user)]) -> Me:
    return Me(email=principal.email, role=principal.role.value,
              permissions=sorted(p.value for p in ROLE_PERMISSIONS[principal.role]))


# --- cases -------------------------------------------------------------------------------------

CASES_READ = Depends(api_permission(Permission.CASES_READ))
CASES_WRITE = Depends(api_permission(Permission.CASES_WRITE))


@router.get("/cases", response_model=CaseList, tags=["cases"])
def list_cases(request: Request, _p: Annotated[Principal, CASES_READ], q: Filter = "",
               status: StatusFilter = "", organization: Filter = "", page: PageNo = 1,
               per_page: PerPage = 25, assignee: Filter = "", unassigned: bool = False,
               sort: SortOrder = "") -> CaseList:
    """Cases, newest activity first (or as ``sort`` says); ``assignee`` (an email) or
    ``unassigned=true`` filter by owner."""
    rt = runtime(request)
    with rt.db.transaction() as s:
        if assignee and not unassigned:
            find_user(s, assignee)  # an unknown owner is a 404, not an empty list
        if organization:
            directory.find_organization(s, organization)  # so is an unknown organization
        listing = queries.case_page(s, q=q, status=status or None,
                                    organization=organization or None, page=page,
                                    per_page=per_page, assignee=assignee or None,
                                    unassigned=unassigned, sort=sort, settings=rt.settings,
                                    now=rt.now())
    return CaseList(items=[CaseItem(number=c.number, subject=c.subject,
                                    organization=c.organization, status=c.status,
                                    severity=c.severity, escalated=c.escalated,
                                    updated_at=c.updated_at, owner=c.owner,
                                    unread=c.owner_unread, waiting_on=c.waiting_on,
                                    next_deadline=c.next_deadline)
                            for c in listing.items],
                    pagination=_pagination(request, listing))


@router.post("/cases", response_model=CaseResultOut, status_code=201, tags=["cases"])
def create_case(request: Request, body: NewCase,
                principal: Annotated[Principal, CASES_WRITE]) -> CaseResultOut:
    result = open_case(runtime(request), principal, organization=body.organization,
                       contact=body.contact, subject=body.subject, family=body.family,
                       severity=body.severity, case_type=body.type)
    return CaseResultOut(number=result.number, status=result.status)


@router.get("/cases/{number}", response_model=views.CaseDetail, tags=["cases"])
def get_case(request: Request, number: CaseNumber,
             _p: Annotated[Principal, CASES_READ]) -> views.CaseDetail:
    rt = runtime(request)
    with rt.db.transaction() as s:
        return views.case_detail(s, number, settings=rt.settings, now=rt.now())


@router.get("/cases/{number}/updates", response_model=list[UpdateOut], tags=["cases"])
def case_updates(request: Request, number: CaseNumber,
                 _p: Annotated[Principal, CASES_READ]) -> list[UpdateOut]:
    rt = runtime(request)
    with rt.db.transaction() as s:
        detail = views.case_detail(s, number)
    return [UpdateOut(id=u.id, kind=u.kind, direction=u.direction, author=u.author,
                      visible_text=u.visible_text, created_at=u.created_at)
            for u in detail.updates]


@router.post("/cases/{number}/updates", response_model=PostResultOut, status_code=201,
             tags=["cases"])
def add_update(request: Request, number: CaseNumber, body: NewUpdate,
               principal: Annotated[Principal, CASES_WRITE]) -> PostResultOut:
    """Post an update to the case contact (``post``), or request info / propose a solution,
    which also moves the status per the state machine. ``attachments`` (base64) go out with
    the mail as files and are kept on the case; the type is decided from the bytes and the
    name, never from ``content_type`` alone."""
    uploads = [Upload(a.filename, a.data(), a.content_type) for a in body.attachments]
    r = post_to_case(runtime(request), principal, number, body.body, body.action, uploads,
                     body.cc)
    return PostResultOut(number=r.number, status=r.status, message_id=r.message_id,
                         sent=r.sent, attachments=[SentFileOut(**asdict(f))
                                                   for f in r.attachments])


@router.post("/cases/{number}/close", response_model=CaseResultOut, tags=["cases"])
def close(request: Request, number: CaseNumber, body: CloseBody,
          principal: Annotated[Principal, CASES_WRITE]) -> CaseResultOut:
    r = close_case(runtime(request), principal, number, cancelled=body.cancelled)
    return CaseResultOut(number=r.number, status=r.status)


@router.post("/cases/{number}/reopen", response_model=CaseResultOut, tags=["cases"])
def reopen(request: Request, number: CaseNumber,
           principal: Annotated[Principal, CASES_WRITE]) -> CaseResultOut:
    """Reopen a case closed at most ``reopen_days`` (30) days ago."""
    r = reopen_case(runtime(request), principal, number)
    return CaseResultOut(number=r.number, status=r.status)


# --- triage ------------------------------------------------------------------------------------

TRIAGE_READ = Depends(api_permission(Permission.TRIAGE_READ))
TRIAGE_ACT = Depends(api_permission(Permission.TRIAGE_ACT))
SENDERS_BLOCK = Depends(api_permission(Permission.SENDERS_BLOCK))


def _triage_out(row: queries.TriageRow) -> TriageItemOut:
    return TriageItemOut(id=row.id, reason=row.reason, why=REASON_TEXT.get(row.reason, ""),
                         state=row.state, sender=row.sender, subject=row.subject,
                         mailbox=row.mailbox, message_id=row.message_id,
                         suggested_case=row.suggested_case, organization=row.organization,
                         created_at=row.created_at, trace=list(row.trace), notice=row.notice)


@router.get("/triage", response_model=TriageList, tags=["triage"])
def list_triage(request: Request, _p: Annotated[Principal, TRIAGE_READ],
                reason: ReasonFilter = "",
                mailbox: Filter = "", organization: Filter = "",
                age: queries.Age = queries.Age.ANY,
                state: Annotated[str, Query(pattern=r"^(pending|linked|opened|reopened|"
                                                   r"discarded|all)$")] = "pending",
                page: PageNo = 1, per_page: PerPage = 25) -> TriageList:
    rt = runtime(request)
    flt = queries.TriageFilter(reason or None, mailbox or None, organization or None, age,
                               None if state == "all" else state)
    with rt.db.transaction() as s:
        listing = queries.triage_page(s, flt, rt.now(), page=page, per_page=per_page)
        counts = queries.triage_counts(s)
    return TriageList(items=[_triage_out(r) for r in listing.items], counts=counts,
                      pagination=_pagination(request, listing))


@router.get("/triage/{item_id}", response_model=TriageDetailOut, tags=["triage"])
def get_triage(request: Request, item_id: ItemId,
               _p: Annotated[Principal, TRIAGE_READ]) -> TriageDetailOut:
    rt = runtime(request)
    with rt.db.transaction() as s:
        row = queries.triage_row(s, item_id)
        raw = queries.triage_raw(s, item_id)
    view, _mail = mail_view(raw, rt.key)
    return TriageDetailOut(
        **_triage_out(row).model_dump(), visible_reply=view.visible_reply, text=view.text,
        headers=list(view.headers),
        attachments=[AttachmentOut(index=a.index, filename=a.filename,
                                   content_type=a.content_type, size=a.size)
                     for a in view.attachments])


def _triage(request: Request, principal: Principal, item_id: int, action: TriageAction, *,
            case: str | None = None, flip_status: bool = True, body: str = "",
            reason: str = "") -> TriageResultOut:
    r = act_on_triage(runtime(request), principal, item_id, action, case=case,
                      flip_status=flip_status, body=body, reason=reason)
    return TriageResultOut(item_id=r.item_id, action=r.action, case=r.case, status=r.status,
                           message_id=r.message_id, sent=r.sent)


@router.post("/triage/{item_id}/link", response_model=TriageResultOut, tags=["triage"])
def triage_link(request: Request, item_id: ItemId, body: LinkBody,
                principal: Annotated[Principal, TRIAGE_ACT]) -> TriageResultOut:
    """Add the mail to an open case; ``flip_status`` applies the customer-reply rule."""
    return _triage(request, principal, item_id, TriageAction.LINK, case=body.case,
                   flip_status=body.flip_status)


@router.post("/triage/{item_id}/open", response_model=TriageResultOut, tags=["triage"])
def triage_open(request: Request, item_id: ItemId,
                principal: Annotated[Principal, TRIAGE_ACT]) -> TriageResultOut:
    """Open a new case for the sender (a known contact)."""
    return _triage(request, principal, item_id, TriageAction.OPEN)


@router.post("/triage/{item_id}/reopen", response_model=TriageResultOut, tags=["triage"])
def triage_reopen(request: Request, item_id: ItemId, body: ReopenBody,
                  principal: Annotated[Principal, TRIAGE_ACT]) -> TriageResultOut:
    """Reopen the suggested (or named) case, closed at most ``reopen_days`` ago."""
    return _triage(request, principal, item_id, TriageAction.REOPEN, case=body.case)


@router.post("/triage/{item_id}/discard", response_model=TriageResultOut, tags=["triage"])
def triage_discard(request: Request, item_id: ItemId,
                   principal: Annotated[Principal, TRIAGE_ACT]) -> TriageResultOut:
    return _triage(request, principal, item_id, TriageAction.DISCARD)


@router.post("/triage/{item_id}/block", response_model=TriageResultOut, tags=["triage"])
def triage_block(request: Request, item_id: ItemId, body: BlockBody,
                 principal: Annotated[Principal, SENDERS_BLOCK]) -> TriageResultOut:
    """Block the sender (their new mail is discarded on arrival) and discard this item.
    Admins only: analysts work triage, but blocking an address is for good."""
    return _triage(request, principal, item_id, TriageAction.BLOCK, reason=body.reason)


@router.post("/triage/{item_id}/reply", response_model=TriageResultOut, tags=["triage"])
def triage_reply(request: Request, item_id: ItemId, body: ReplyBody,
                 principal: Annotated[Principal, TRIAGE_ACT]) -> TriageResultOut:
    """Answer the sender through the outbox; the item stays pending."""
    return _triage(request, principal, item_id, TriageAction.REPLY, body=body.body)


# --- directory and notices (read) ------------------------------------------------------------

DIRECTORY = Depends(api_permission(Permission.DIRECTORY_READ))
NOTICES_READ = Depends(api_permission(Permission.NOTICES_READ))


@router.get("/organizations", response_model=OrganizationList, tags=["directory"])
def organizations(request: Request, _p: Annotated[Principal, DIRECTORY], page: PageNo = 1,
                  per_page: PerPage = 50) -> OrganizationList:
    rt = runtime(request)
    with rt.db.transaction() as s:
        total = s.scalar(select(func.count()).select_from(Organization)) or 0
        rows = s.scalars(select(Organization).order_by(Organization.name)
                         .limit(per_page).offset((page - 1) * per_page)).all()
        items = [OrganizationOut(name=o.name, domains=list(o.domains or []),
                                 timezone=o.timezone, country=o.country,
                                 notify=list(o.notify or [])) for o in rows]
    listing = queries.Page(tuple(items), page, per_page, total)
    return OrganizationList(items=items, pagination=_pagination(request, listing))


@router.get("/contacts", response_model=ContactList, tags=["directory"])
def contacts(request: Request, _p: Annotated[Principal, DIRECTORY], organization: Filter = "",
             page: PageNo = 1, per_page: PerPage = 50) -> ContactList:
    rt = runtime(request)
    query = (select(Contact, Organization.name)
             .join(Organization, Organization.id == Contact.organization_id)
             .where(Contact.removed_at.is_(None))  # removed: see /organizations/{n}/contacts
             .order_by(Contact.email))
    if organization:
        query = query.where(Organization.name == organization)
    with rt.db.transaction() as s:
        total = s.scalar(select(func.count()).select_from(query.subquery())) or 0
        items = [ContactOut(email=c.email, name=c.name, organization=name,
                            designated=c.designated)
                 for c, name in s.execute(query.limit(per_page)
                                          .offset((page - 1) * per_page))]
    listing = queries.Page(tuple(items), page, per_page, total)
    return ContactList(items=items, pagination=_pagination(request, listing))


def _notice_out(session: Session, notice: Notice) -> NoticeOut:
    orgs = list(session.scalars(
        select(Organization.name).join(NoticeAudience,
                                       NoticeAudience.organization_id == Organization.id)
        .where(NoticeAudience.notice_id == notice.id).order_by(Organization.name)))
    deliveries = dict(session.execute(
        select(NoticeDelivery.status, func.count())
        .join(NoticeMailing, NoticeMailing.id == NoticeDelivery.mailing_id)
        .where(NoticeMailing.notice_id == notice.id).group_by(NoticeDelivery.status)).all())
    return NoticeOut(reference=notice.reference, kind=notice.kind, state=notice.state,
                     title=notice.title, starts_at=notice.starts_at, ends_at=notice.ends_at,
                     organizations=orgs, deliveries={str(k): int(v) for k, v in
                                                     deliveries.items()},
                     created_at=notice.created_at, sent_at=notice.sent_at,
                     cancelled_at=notice.cancelled_at, resolved_at=notice.resolved_at)


@router.get("/notices", response_model=NoticeList, tags=["notices"])
def notices(request: Request, _p: Annotated[Principal, NOTICES_READ], state: Filter = "",
            page: PageNo = 1, per_page: PerPage = 25) -> NoticeList:
    rt = runtime(request)
    query = select(Notice).order_by(Notice.created_at.desc(), Notice.id.desc())
    if state:
        query = query.where(Notice.state == state)
    with rt.db.transaction() as s:
        total = s.scalar(select(func.count()).select_from(query.subquery())) or 0
        items = [_notice_out(s, n) for n in s.scalars(query.limit(per_page)
                                                       .offset((page - 1) * per_page))]
    listing = queries.Page(tuple(items), page, per_page, total)
    return NoticeList(items=items, pagination=_pagination(request, listing))


@router.get("/notices/{reference}", response_model=NoticeOut, tags=["notices"])
def notice(request: Request, reference: Annotated[str, Path(max_length=32, pattern=NO_NUL)],
           _p: Annotated[Principal, NOTICES_READ]) -> NoticeOut:
    rt = runtime(request)
    with rt.db.transaction() as s:
        row = s.scalars(select(Notice).where(Notice.reference == reference.upper())).first()
        if row is None:
            raise NotFound(f"no notice {reference}")
        return _notice_out(s, row)
