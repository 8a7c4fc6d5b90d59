"""Cases in the browser: list and search, the timeline, and the analyst's actions.

Place in the flow: where analysts work what ``workflows.inbound.apply`` and triage put on cases. The
page reads ``workflows.cases.views.case_detail`` (with its timers and SLA clocks) and the case's
audit events; posting an update, requesting info, proposing a solution, closing and reopening go
through ``actions`` to ``workflows.cases.service`` (state machine, audit, outbox), as the CLI does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile as ReceivedFile

from gateway.http import queries, timeline_mail
from gateway.http.accounts import Permission, Principal
from gateway.http.actions import (
    PostAction,
    add_note,
    assign_case,
    close_case,
    escalate_case,
    post_to_case,
    reopen_case,
)
from gateway.http.auth import form_permission, page_permission, runtime
from gateway.http.ids import CaseNumber, RowId
from gateway.http.mailview import frame_document
from gateway.http.pages import done, page
from gateway.http.pages_triage import attachment_response, frame_response
from workflows.cases import assignment, saved_replies, views
from workflows.cases.service import find_case
from workflows.domain import CaseStatus, Direction, Family, UpdateKind
from workflows.errors import DomainError, NotFound
from workflows.notices.timefmt import zone_of
from workflows.outbound.compose import BadAddress
from workflows.outbound.files import Limits, Upload, check_sizes, clean_filename
from workflows.outbound.htmltext import counted
from workflows.storage.blobs import read_blob
from workflows.storage.models import (
    Attachment,
    AuditEvent,
    CaseUpdate,
    ConsoleUser,
    Organization,
)

router = APIRouter(include_in_schema=False)
READ = Depends(page_permission(Permission.CASES_READ))
WRITE = Depends(form_permission(Permission.CASES_WRITE))


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    at: str | None
    kind: str  # update, status, audit
    title: str
    text: str
    update_id: int | None = None
    has_html: bool = False
    full_text: str = ""
    files: tuple[views.AttachmentView, ...] = ()  # what the update's mail carried
    note: bool = False  # an internal note: staff only, never mailed


def _files_by_update(detail: views.CaseDetail) -> dict[int, tuple[views.AttachmentView, ...]]:
    """Each update's files: found through the mail both name (an analyst's update and its
    files name the outbound message; a customer's, the inbound one)."""
    by_mail: dict[tuple[str, int], list[views.AttachmentView]] = {}
    for a in detail.attachments:
        if a.note_id is not None:
            by_mail.setdefault(("note", a.note_id), []).append(a)
        elif a.outbound_message_id is not None:
            by_mail.setdefault(("out", a.outbound_message_id), []).append(a)
        elif a.inbound_message_id is not None:
            by_mail.setdefault(("in", a.inbound_message_id), []).append(a)
    files = {}
    for u in detail.updates:
        key = (("out", u.outbound_message_id) if u.outbound_message_id is not None
               else ("in", u.inbound_message_id) if u.inbound_message_id is not None
               else ("note", u.id))
        if key in by_mail:
            files[u.id] = tuple(by_mail[key])
    return files


def _speaker(update: views.UpdateView) -> str:
    """Who speaks in a conversation entry: the customer, us, or the system."""
    if _is_note(update):
        return f"internal note — {update.author}"
    if update.direction == Direction.INBOUND.value:
        kind = "" if update.kind == UpdateKind.REPLY.value else f" ({update.kind})"
        return f"customer wrote{kind} — {update.author}"
    if update.direction == Direction.OUTBOUND.value:
        return f"we wrote — {update.author}"
    return f"{update.direction} {update.kind} — {update.author}"


def _timeline(detail: views.CaseDetail, events: list[AuditEvent],
              html_ids: set[int], full: dict[int, str],
              automated: Sequence[timeline_mail.AutomatedMail] = ()) -> list[TimelineEntry]:
    files = _files_by_update(detail)
    entries = [TimelineEntry(u.created_at, "update", _speaker(u),
                             u.visible_text, u.id, u.id in html_ids, full.get(u.id, ""),
                             files.get(u.id, ()), _is_note(u))
               for u in detail.updates]
    entries += [TimelineEntry(c["at"], "status", f"status {c['from'] or '—'} → {c['to']}",
                              f"event: {c['event']}") for c in detail.status_changes]
    entries += [TimelineEntry(m.at.isoformat(), "mail",
                              f"automated mail ({m.kind.replace('_', ' ')}) to "
                              f"{', '.join(m.recipients)} — {m.status}", m.text)
                for m in automated]
    entries += [TimelineEntry(e.at.isoformat(), "audit", f"{e.action} by {e.actor}",
                              ", ".join(f"{k}={v}" for k, v in sorted(e.detail.items())
                                        if v not in (None, "", [])))
                for e in events]
    return sorted(entries, key=lambda e: (e.at or "", {"status": 0, "update": 1, "mail": 2,
                                                          "audit": 3}[e.kind]))


def _is_note(update: views.UpdateView) -> bool:
    return update.kind == UpdateKind.NOTE.value and update.direction == Direction.INTERNAL.value


# The owner filter of the case list: "My cases" and "Unassigned" are views of it.
OWNER_VIEWS = {"": "Cases", "me": "My cases", "none": "Unassigned"}


@router.get("/cases")
def case_list(
    request: Request,
    principal: Annotated[Principal, READ],
    q: Annotated[str, Query(max_length=200)] = "",
    status: Annotated[str, Query(max_length=24)] = "",
    organization: Annotated[str, Query(max_length=200)] = "",
    owner: Annotated[str, Query(pattern="^(|me|none)$")] = "",
    page_number: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
    sort: Annotated[str, Query(max_length=20)] = "",
) -> HTMLResponse:
    rt = runtime(request)
    with rt.db.transaction() as s:
        listing = queries.case_page(s, q=q, status=status or None,
                                    organization=organization or None, page=page_number,
                                    assignee=principal.email if owner == "me" else None,
                                    unassigned=owner == "none", sort=sort,
                                    settings=rt.settings, now=rt.now())
        organizations = queries.organization_names(s)
    return page(request, principal, "case_list.html", title=OWNER_VIEWS[owner],
                listing=listing, statuses=[c.value for c in CaseStatus],
                organizations=organizations,
                filters={"q": q, "status": status, "organization": organization,
                         "owner": owner, "sort": sort})


@router.get("/cases/{number}")
def case_page(request: Request, number: CaseNumber, principal: Annotated[Principal, READ],
              reply: Annotated[str, Query(max_length=100)] = "") -> HTMLResponse:
    """The case; ``?reply=NAME`` (the saved-reply picker) fills the update form with that
    saved reply, its placeholders filled in for this case (``workflows.cases.saved_replies``)."""
    rt = runtime(request)
    with rt.db.transaction() as s:
        picker = saved_replies.picker(s, reply, number)
        detail = views.case_detail(s, number, settings=rt.settings, now=rt.now())
        case = find_case(s, number)
        assignment.mark_read(s, case, principal.user_id)  # the owner has seen the replies
        owners = owner_choices(s)
        events = list(s.scalars(select(AuditEvent).where(AuditEvent.case_id == case.id)
                                .order_by(AuditEvent.at, AuditEvent.id)))
        rows = list(s.scalars(select(CaseUpdate).where(CaseUpdate.case_id == case.id)))
        # Times on the page read in the case's organization's zone (UTC on hover).
        owner = s.get(Organization, case.organization_id)
        zone = zone_of(owner.timezone if owner else None).key
        automated = timeline_mail.automated_mails(s, case.id)
    html_ids = {u.id for u in rows if u.html}
    full = {u.id: u.full_text for u in rows if u.full_text and u.full_text != u.visible_text}
    escalations = [e for e in events if "escalat" in e.action or e.action.startswith("sla.")]
    return page(request, principal, "case.html", title=detail.number, case=detail,
                timeline=_timeline(detail, events, html_ids, full, automated),
                escalations=escalations,
                post_actions=list(PostAction), closed=detail.status == CaseStatus.CLOSED.value,
                post_limits=Limits.of(rt.settings), zone=zone, owners=owners, picker=picker)


def owner_choices(session: Session) -> list[str]:
    """Who the owner picker offers: every enabled admin and analyst."""
    return list(session.scalars(select(ConsoleUser.email).where(
        ConsoleUser.role.in_(assignment.OWNER_ROLES), ConsoleUser.disabled.is_(False))
        .order_by(ConsoleUser.email)))


def _update(request: Request, number: str, update_id: int) -> CaseUpdate:
    rt = runtime(request)
    with rt.db.transaction() as s:
        case = find_case(s, number)
        row = s.get(CaseUpdate, update_id)
        if row is None or row.case_id != case.id:
            raise NotFound(f"case {case.number} has no update {update_id}")
        return row


@router.get("/cases/{number}/updates/{update_id}/mail")
def case_update_frame(request: Request, number: CaseNumber, update_id: RowId,
                      principal: Annotated[Principal, READ], images: bool = False
                      ) -> HTMLResponse:
    row = _update(request, number, update_id)
    # Stored as the mail carried it (workflows.inbound.apply.html_to_keep; rows from before
    # hold a cleaned copy): frame_document cleans it with nh3 on its way out.
    return frame_response(frame_document(row.html or ""), remote_images=images)


@router.get("/cases/{number}/attachments/{attachment_id}")
def case_attachment(request: Request, number: CaseNumber, attachment_id: RowId,
                    principal: Annotated[Principal, READ], inline: bool = False) -> Response:
    rt = runtime(request)
    with rt.db.transaction() as s:
        case = find_case(s, number)
        att = s.get(Attachment, attachment_id)
        if att is None or att.case_id != case.id:
            raise NotFound(f"case {case.number} has no attachment {attachment_id}")
        if att.purged_at is not None:
            raise NotFound(f"attachment {attachment_id} was purged on "
                           f"{att.purged_at:%Y-%m-%d}")
        sha, filename, content_type = att.sha256, att.filename, att.content_type
    try:
        payload = read_blob(rt.settings.blob_dir, sha)
    except FileNotFoundError:
        raise NotFound(f"attachment {attachment_id} is no longer stored") from None
    return attachment_response(payload, filename, content_type, attachment_id, inline=inline)


def _uploads(files: Sequence[ReceivedFile | str], limits: Limits) -> list[Upload]:
    """The form's files, sizes checked before reading (the parser spooled them to disk). A
    file input left empty still sends a part with an empty name and no bytes, which the
    parser hands over as the text "": that is no file."""
    # Starlette's class: what the parser made (FastAPI's UploadFile only subclasses it).
    chosen = [f for f in files if isinstance(f, ReceivedFile) and (f.filename or f.size)]
    check_sizes([(clean_filename(f.filename or "", i), f.size) for i, f in enumerate(chosen)
                 if f.size is not None], limits)
    # The client's type is a hint for the MIME header only (workflows.outbound.files).
    return [Upload(f.filename or "", f.file.read(limits.per_file + 1), f.content_type)
            for f in chosen]


@router.post("/cases/{number}/post")
def case_post(request: Request, number: CaseNumber, principal: Annotated[Principal, WRITE],
              body: Annotated[str, Form(max_length=100_000)] = "",
              action: Annotated[PostAction, Form()] = PostAction.POST,
              files: Annotated[list[UploadFile | str] | None, File()] = None,
              cc: Annotated[str, Form(max_length=2000)] = "") -> Response:
    # The CSRF token comes from the same parsed form, urlencoded or multipart (WRITE).
    rt = runtime(request)
    copied = [a.strip() for a in cc.replace(";", ",").split(",") if a.strip()]
    try:
        uploads = _uploads(files or [], Limits.of(rt.settings))
        result = post_to_case(rt, principal, number, body, action, uploads, copied)
    except (DomainError, BadAddress) as exc:
        return done(request, f"/cases/{number}", f"Not done: {exc}")
    with_files = f" with {counted(len(result.attachments), 'file')}" if result.attachments else ""
    return done(request, f"/cases/{result.number}",
                f"Update{with_files} sent to the contact; {result.number} is {result.status}."
                if result.sent else
                f"Update{with_files} queued; {result.number} is {result.status}.")


@router.post("/cases/{number}/close")
def case_close(request: Request, number: CaseNumber, principal: Annotated[Principal, WRITE],
               resolution: Annotated[str, Form(max_length=16)] = "resolved") -> Response:
    try:
        result = close_case(runtime(request), principal, number,
                            cancelled=resolution == "cancelled")
    except DomainError as exc:
        return done(request, f"/cases/{number}", f"Not done: {exc}")
    return done(request, f"/cases/{result.number}", f"{result.number} closed ({resolution}).")


@router.post("/cases/{number}/escalate")
def case_escalate(request: Request, number: CaseNumber, principal: Annotated[Principal, WRITE],
                  to: Annotated[str, Form(max_length=8)] = "tsup") -> Response:
    try:
        result = escalate_case(runtime(request), principal, number, Family(to))
    except (DomainError, ValueError) as exc:
        return done(request, f"/cases/{number}", f"Not done: {exc}")
    return done(request, f"/cases/{result.number}",
                f"{number} escalated: {result.number} opened and linked.")


@router.post("/cases/{number}/reopen")
def case_reopen(request: Request, number: CaseNumber, principal: Annotated[Principal, WRITE]
                ) -> Response:
    try:
        result = reopen_case(runtime(request), principal, number)
    except DomainError as exc:
        return done(request, f"/cases/{number}", f"Not done: {exc}")
    return done(request, f"/cases/{result.number}", f"{result.number} reopened.")


@router.post("/cases/{number}/owner")
def case_owner(request: Request, number: CaseNumber, principal: Annotated[Principal, WRITE],
               owner: Annotated[str, Form(max_length=320)] = "") -> Response:
    """The owner picker: an email, or "" for nobody."""
    try:
        result = assign_case(runtime(request), principal, number, owner.strip() or None)
    except DomainError as exc:
        return done(request, f"/cases/{number}", f"Not done: {exc}")
    return done(request, f"/cases/{result.number}",
                f"{result.number} is now owned by {result.owner}." if result.owner
                else f"{result.number} is unassigned.")


@router.post("/cases/{number}/note")
def case_note(request: Request, number: CaseNumber, principal: Annotated[Principal, WRITE],
              body: Annotated[str, Form(max_length=100_000)] = "",
              files: Annotated[list[UploadFile | str] | None, File()] = None) -> Response:
    """The note tab: staff only, nothing is mailed."""
    rt = runtime(request)
    try:
        result = add_note(rt, principal, number, body, _uploads(files or [], Limits.of(
            rt.settings)))
    except DomainError as exc:
        return done(request, f"/cases/{number}", f"Not done: {exc}")
    with_files = f" with {counted(len(result.attachments), 'file')}" if result.attachments else ""
    return done(request, f"/cases/{result.number}",
                f"Internal note{with_files} added (not mailed).")
