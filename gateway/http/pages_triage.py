"""The triage queue in the browser: filter, read the mail safely, and act on it.

Place in the flow: where an analyst or an admin resolves what ``workflows.inbound.apply`` queued for
triage. Reading is ``queries`` and ``mailview``; every action goes through
``actions.act_on_triage`` (the same ``workflows.inbound.triage`` services as ``ticketgate triage
...``, audited with the user's email). Blocking a sender is for admins only.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, Response

from gateway.http import queries
from gateway.http.accounts import Permission, Principal
from gateway.http.actions import TriageAction, act_on_triage
from gateway.http.auth import PageForbidden, form_permission, page_permission, runtime
from gateway.http.ids import PartIndex, RowId
from gateway.http.mailview import (
    MAIL_FRAME_CSP,
    MAIL_FRAME_CSP_IMAGES,
    content_disposition,
    frame_document,
    is_inline_image,
    mail_view,
    safe_filename,
)
from gateway.http.pages import done, page
from gateway.http.render import age_text
from parsing import parse
from workflows.domain import CaseStatus, TriageState
from workflows.errors import DomainError, NotFound
from workflows.outbound.compose import BadAddress

router = APIRouter(include_in_schema=False)
READ = Depends(page_permission(Permission.TRIAGE_READ))
ACT = Depends(form_permission(Permission.TRIAGE_ACT))
# The statuses a customer's reply flips back to Open.
_WAITING = (CaseStatus.AWAITING_INFO.value, CaseStatus.SOLUTION_PROPOSED.value)


@router.get("/triage")
def triage_list(
    request: Request,
    principal: Annotated[Principal, READ],
    reason: Annotated[str, Query(max_length=40)] = "",
    mailbox: Annotated[str, Query(max_length=320)] = "",
    organization: Annotated[str, Query(max_length=200)] = "",
    age: queries.Age = queries.Age.ANY,
    state: Annotated[str, Query(max_length=16)] = TriageState.PENDING.value,
    page_number: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    rt = runtime(request)
    now = rt.now()
    flt = queries.TriageFilter(reason or None, mailbox or None, organization or None, age,
                               None if state == "all" else state)
    with rt.db.transaction() as s:
        listing = queries.triage_page(s, flt, now, page=page_number)
        counts = queries.triage_counts(s)
        mailboxes = queries.mailboxes_seen(s)
        organizations = queries.organization_names(s)
        raws = {row.id: queries.triage_raw(s, row.id) for row in listing.items}
    excerpts = {}
    for item_id, raw in raws.items():
        text = parse(raw, key=rt.key).visible_reply.strip()
        excerpts[item_id] = text[:280] + ("…" if len(text) > 280 else "")
    return page(request, principal, "triage_list.html", title="Triage", listing=listing,
                counts=counts, flt=flt, state=state, mailboxes=mailboxes,
                organizations=organizations, excerpts=excerpts, ages=list(queries.Age),
                age_of={r.id: age_text(r.created_at, now) for r in listing.items},
                filters={"reason": reason, "mailbox": mailbox, "organization": organization,
                         "age": age.value, "state": state})


@router.get("/triage/{item_id}")
def triage_item(request: Request, item_id: RowId, principal: Annotated[Principal, READ]
                ) -> HTMLResponse:
    rt = runtime(request)
    with rt.db.transaction() as s:
        row = queries.triage_row(s, item_id)
        raw = queries.triage_raw(s, item_id)
    view, _mail = mail_view(raw, rt.key)
    return page(request, principal, "triage_item.html", title=f"Triage #{item_id}", row=row,
                mail=view, age=age_text(row.created_at, rt.now()),
                pending=row.state == TriageState.PENDING.value)


@router.get("/triage/{item_id}/mail")
def triage_mail_frame(request: Request, item_id: RowId, principal: Annotated[Principal, READ],
                      images: bool = False) -> HTMLResponse:
    """The mail's HTML alone, for the sandboxed iframe: its own CSP, framable by us only."""
    rt = runtime(request)
    with rt.db.transaction() as s:
        raw = queries.triage_raw(s, item_id)
    mail = parse(raw, key=rt.key)
    document = frame_document(mail.html or "", mail=mail) if mail.html else frame_document(
        "<pre>" + _escape(mail.text) + "</pre>", already_clean=True)
    return frame_response(document, remote_images=images)


def frame_response(document: str, *, remote_images: bool) -> HTMLResponse:
    response = HTMLResponse(document)
    response.headers["Content-Security-Policy"] = (
        MAIL_FRAME_CSP_IMAGES if remote_images else MAIL_FRAME_CSP)
    # The one route that may be framed, and only by the console itself.
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    return response


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@router.get("/triage/{item_id}/attachments/{index}")
def triage_attachment(request: Request, item_id: RowId, index: PartIndex,
                      principal: Annotated[Principal, READ], inline: bool = False) -> Response:
    rt = runtime(request)
    with rt.db.transaction() as s:
        raw = queries.triage_raw(s, item_id)
    mail = parse(raw, key=rt.key)
    if not 0 <= index < len(mail.attachments):
        raise NotFound(f"triage item {item_id} has no attachment {index}")
    att = mail.attachments[index]
    return attachment_response(att.payload, att.filename, att.content_type, index,
                               inline=inline)


def attachment_response(payload: bytes, filename: str | None, content_type: str, index: int,
                        *, inline: bool) -> Response:
    """A download: never rendered by the browser, unless it is a plain picture asked for
    inline. ``nosniff`` stops the browser from guessing HTML out of a "PDF"."""
    show = inline and is_inline_image(content_type)
    media = content_type.split(";")[0].strip().lower() if show else "application/octet-stream"
    name = safe_filename(filename, content_type, index)
    return Response(payload, media_type=media, headers={
        "Content-Disposition": content_disposition(name, inline=show),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox"})


@router.post("/triage/{item_id}/{action}")
def triage_act(
    request: Request,
    item_id: RowId,
    action: TriageAction,
    principal: Annotated[Principal, ACT],
    case: Annotated[str, Form(max_length=32)] = "",
    flip_status: Annotated[str, Form(max_length=8)] = "",
    body: Annotated[str, Form(max_length=100_000)] = "",
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    if action is TriageAction.BLOCK and not principal.can(Permission.SENDERS_BLOCK):
        raise PageForbidden(f"your role ({principal.role.value}) may not block a sender")
    rt = runtime(request)
    try:
        result = act_on_triage(rt, principal, item_id, action, case=case,
                               flip_status=flip_status == "on", body=body, reason=reason)
    except (DomainError, BadAddress) as exc:
        return done(request, f"/triage/{item_id}", f"Not done: {exc}")
    if result.case:
        said = f"Triage #{item_id}: {action.value} — {result.case} is {result.status}."
        if action is TriageAction.LINK and flip_status == "on" and result.status in _WAITING:
            # The box was ticked and nothing flipped: only a sender allowed on the case flips
            # it (as their reply with a reference would); say so rather than leave the analyst
            # wondering whether the box did anything.
            said += (" Status kept: the sender may not update this case; change the status"
                     " on the case page if they should.")
        return done(request, f"/cases/{result.case}", said)
    if action is TriageAction.REPLY:
        return done(request, f"/triage/{item_id}", "Reply queued to the sender"
                    + (" and sent." if result.sent else "; it will be retried."))
    verb = "sender blocked and message discarded" if action is TriageAction.BLOCK \
        else "discarded"
    return done(request, "/triage", f"Triage #{item_id}: {verb}.")
