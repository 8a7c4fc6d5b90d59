"""``/api/v1``: case owners, internal notes and full-text search.

Place in the flow: the scripts' edge of the same services as ``ticketgate case assign|note|
search`` and the console (``actions.assign_case``, ``actions.add_note``,
``workflows.search.query.search``). Bearer tokens and role scopes as in ``api``; the case list
with its ``assignee`` / ``unassigned`` filters is ``GET /api/v1/cases`` there.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from gateway.http.accounts import Permission, Principal
from gateway.http.actions import add_note, assign_case
from gateway.http.api import ERRORS, CaseNumber, _pagination
from gateway.http.api_models import NO_NUL, Body, Line, NewAttachment, PageNo, Pagination, Strict
from gateway.http.auth import api_permission, runtime
from gateway.http.queries import Page
from workflows.outbound.files import MAX_FILES, Upload
from workflows.search.query import MAX_PER_PAGE, search

router = APIRouter(prefix="/api/v1", responses=ERRORS)
CASES_READ = Depends(api_permission(Permission.CASES_READ))
CASES_WRITE = Depends(api_permission(Permission.CASES_WRITE))


class OwnerBody(Strict):
    owner: Line | None = Field(description="the new owner's email (an admin or analyst), or "
                                           "null to unassign")


class OwnerOut(BaseModel):
    number: str
    owner: str | None


class NewNote(Strict):
    body: Body
    attachments: list[NewAttachment] = Field(
        default_factory=list, max_length=MAX_FILES,
        description="files kept with the note on the case (never mailed)")


class NoteOut(BaseModel):
    number: str
    note_id: int
    attachments: list[str]


class FragmentOut(BaseModel):
    text: str
    hit: bool = Field(description="this piece matched the query (the console marks it)")


class SearchHitOut(BaseModel):
    number: str
    subject: str
    status: str
    organization: str
    source: str = Field(description="case (number, subject, contact, organization), inbound, "
                                    "outbound or note")
    author: str | None
    at: dt.datetime
    score: float
    snippet: list[FragmentOut]


class SearchOut(BaseModel):
    query: str
    items: list[SearchHitOut]
    pagination: Pagination
    more: bool = Field(description="more matched than were counted: only the newest 10,000 "
                                   "matches are ranked; add a word to narrow the query")


@router.post("/cases/{number}/owner", response_model=OwnerOut, tags=["cases"])
def set_owner(request: Request, number: CaseNumber, body: OwnerBody,
              principal: Annotated[Principal, CASES_WRITE]) -> OwnerOut:
    """Give the case to a user, or to nobody (``null``); audited."""
    result = assign_case(runtime(request), principal, number, body.owner)
    return OwnerOut(number=result.number, owner=result.owner)


@router.post("/cases/{number}/notes", response_model=NoteOut, status_code=201, tags=["cases"])
def create_note(request: Request, number: CaseNumber, body: NewNote,
                principal: Annotated[Principal, CASES_WRITE]) -> NoteOut:
    """An internal note: staff only, never mailed, marked ``note`` in the case's updates."""
    uploads = [Upload(a.filename, a.data(), a.content_type) for a in body.attachments]
    result = add_note(runtime(request), principal, number, body.body, uploads)
    return NoteOut(number=result.number, note_id=result.note_id,
                   attachments=list(result.attachments))


@router.get("/search", response_model=SearchOut, tags=["cases"])
def search_cases(request: Request, _p: Annotated[Principal, CASES_READ],
                 q: Annotated[str, Query(max_length=500, pattern=NO_NUL)] = "",
                 page: PageNo = 1,
                 per_page: Annotated[int, Query(ge=1, le=MAX_PER_PAGE)] = 25) -> SearchOut:
    """Full-text search over case numbers, subjects, every mail body and note, senders and
    organizations; best first, with highlighted snippets."""
    rt = runtime(request)
    with rt.db.transaction() as s:
        found = search(s, q, page=page, per_page=per_page)
    items = [SearchHitOut(number=h.number, subject=h.subject, status=h.status,
                          organization=h.organization, source=h.source, author=h.author,
                          at=h.at, score=h.score,
                          snippet=[FragmentOut(text=f.text, hit=f.hit) for f in h.snippet])
             for h in found.items]
    listing = Page(tuple(items), found.page, found.per_page, found.total)
    return SearchOut(query=q, items=items, more=found.more,
                     pagination=_pagination(request, listing))
