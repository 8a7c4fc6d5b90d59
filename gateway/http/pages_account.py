"""The signed-in user's own account: who they are, and changing their password.

Place in the flow: a console page like the others (``auth.page_user`` for the page,
``auth.form_permission`` — session plus CSRF token — for the form), outside the message flow.
The checks themselves live in ``accounts.change_password`` (current password checked like a
sign-in and rate-limited with it, the length rule shared with ``ticketgate user add``); this
module only reads the form, renders the page and swaps the session cookie: a successful change
ends every session of the user and issues a new one for this browser.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from gateway.http.accounts import (
    MIN_PASSWORD,
    LoginOutcome,
    Principal,
    change_password,
    password_problem,
)
from gateway.http.auth import client_ip, form_permission, page_user, runtime, set_session_cookie
from gateway.http.pages import ANY, done, page
from workflows.errors import Refused

router = APIRouter(include_in_schema=False)
CHANGE = Depends(form_permission(ANY))
# The login form's own bound: a longer value is no password anyone types, and argon2 would
# still have to hash it.
MAX_PASSWORD = 1000


def _account_page(request: Request, principal: Principal, *, error: str | None = None,
                  status: int = 200) -> HTMLResponse:
    return page(request, principal, "account.html", status=status, title="Account",
                error=error, min_password=MIN_PASSWORD)


@router.get("/account")
def account(request: Request, principal: Annotated[Principal, Depends(page_user)]
            ) -> HTMLResponse:
    return _account_page(request, principal)


@router.post("/account/password")
def account_password(
    request: Request,
    principal: Annotated[Principal, CHANGE],
    current_password: Annotated[str, Form(max_length=MAX_PASSWORD)] = "",
    new_password: Annotated[str, Form(max_length=MAX_PASSWORD)] = "",
    new_password_again: Annotated[str, Form(max_length=MAX_PASSWORD)] = "",
) -> Response:
    # Typing mistakes first: they cost no argon2 hash and are no failed sign-in.
    if new_password != new_password_again:
        return _account_page(request, principal, status=422,
                             error="The two new passwords differ.")
    problem = password_problem(new_password)
    if problem:
        return _account_page(request, principal, status=422, error=f"{problem.capitalize()}.")
    rt = runtime(request)
    try:
        with rt.db.transaction() as session:
            result = change_password(session, principal, current=current_password,
                                     new=new_password, ip=client_ip(request), now=rt.now())
    except Refused as exc:
        return _account_page(request, principal, status=422, error=f"{str(exc).capitalize()}.")
    if result.outcome is LoginOutcome.THROTTLED:
        response = _account_page(request, principal, status=429, error=(
            f"Too many wrong passwords. Try again in {result.retry_after // 60 + 1} min."))
        response.headers["Retry-After"] = str(result.retry_after)
        return response
    if result.outcome is LoginOutcome.REFUSED or result.session_token is None:
        return _account_page(request, principal, status=403,
                             error="The current password is wrong.")
    changed = done(request, "/account", "Password changed. Your other sessions were signed "
                   "out; API tokens still work.")
    set_session_cookie(request, changed, result.session_token)
    return changed
