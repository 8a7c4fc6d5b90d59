"""The console's search: the box in the header and its results page.

Place in the flow: reads only; ``workflows.search.query.search`` in one transaction, as
``ticketgate case search`` and ``GET /api/v1/search`` call it. Highlights are marked in the
template from typed fragments (``Fragment.hit``), so the mail's text is always escaped and no
markup of ours is ever mixed into it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from gateway.http.accounts import Permission, Principal
from gateway.http.auth import page_permission, runtime
from gateway.http.pages import page
from workflows.search.query import search

router = APIRouter(include_in_schema=False)
READ = Depends(page_permission(Permission.CASES_READ))
PER_PAGE = 20


@router.get("/search")
def search_page(
    request: Request,
    principal: Annotated[Principal, READ],
    q: Annotated[str, Query(max_length=500)] = "",
    page_number: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    with runtime(request).db.transaction() as s:
        found = search(s, q, page=page_number, per_page=PER_PAGE)
    return page(request, principal, "search.html", title="Search", listing=found,
                filters={"q": q})
