"""``/api/v1/saved-replies``: the desk's saved replies over HTTP, and one filled in for a case.

Place in the flow: the HTTP edge of ``workflows.cases.saved_replies`` (the service of ``ticketgate
reply …`` and the case page's picker). Reading needs ``cases:read``; saving and removing,
``cases:write`` (admins and analysts), audited as the token's or session's user.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, ConfigDict, Field

from gateway.http.accounts import Permission, Principal
from gateway.http.api import ERRORS
from gateway.http.api_models import NO_NUL
from gateway.http.auth import api_permission, runtime
from gateway.http.ids import CaseNumber
from workflows.cases import saved_replies

READ = Depends(api_permission(Permission.CASES_READ))
WRITE = Depends(api_permission(Permission.CASES_WRITE))
router = APIRouter(prefix="/api/v1", responses=ERRORS)
ReplyName = Annotated[str, Path(min_length=1, max_length=saved_replies.MAX_NAME,
                                pattern=NO_NUL)]


class SavedReplyOut(BaseModel):
    name: str
    body: str
    updated_by: str
    updated_at: dt.datetime


class SavedReplyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    body: Annotated[str, Field(min_length=1, max_length=saved_replies.MAX_BODY,
                               pattern=NO_NUL, description="placeholders: " + ", ".join(
                                   f"{{{p}}}" for p in saved_replies.PLACEHOLDERS))]


class FilledReplyOut(BaseModel):
    name: str
    case: str
    body: str


def _out(r: saved_replies.SavedReplyView) -> SavedReplyOut:
    return SavedReplyOut(name=r.name, body=r.body, updated_by=r.updated_by,
                         updated_at=r.updated_at)


@router.get("/saved-replies", response_model=list[SavedReplyOut], tags=["cases"])
def list_saved_replies(request: Request, _p: Annotated[Principal, READ]
                       ) -> list[SavedReplyOut]:
    rt = runtime(request)
    with rt.db.transaction() as s:
        return [_out(r) for r in saved_replies.list_replies(s)]


@router.put("/saved-replies/{name}", response_model=SavedReplyOut, tags=["cases"])
def put_saved_reply(request: Request, name: ReplyName, body: SavedReplyIn,
                    principal: Annotated[Principal, WRITE]) -> SavedReplyOut:
    """Save or replace a reply; an unknown placeholder is 409 with the ones there are."""
    rt = runtime(request)
    with rt.db.transaction() as s:
        return _out(saved_replies.set_reply(s, name=name, body=body.body,
                                            actor=principal.email, now=rt.now()))


@router.delete("/saved-replies/{name}", status_code=204, tags=["cases"])
def delete_saved_reply(request: Request, name: ReplyName,
                       principal: Annotated[Principal, WRITE]) -> None:
    rt = runtime(request)
    with rt.db.transaction() as s:
        saved_replies.remove_reply(s, name=name, actor=principal.email, now=rt.now())


@router.get("/cases/{number}/saved-replies/{name}", response_model=FilledReplyOut,
            tags=["cases"])
def filled_reply(request: Request, number: CaseNumber, name: ReplyName,
                 _p: Annotated[Principal, READ]) -> FilledReplyOut:
    """The reply filled in for the case: post it with ``POST /cases/{number}/updates``."""
    rt = runtime(request)
    with rt.db.transaction() as s:
        text = saved_replies.render_reply(s, name=name, number=number)
    return FilledReplyOut(name=name, case=number.upper(), body=text)
