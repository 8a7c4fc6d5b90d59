"""Console pages shared by every section: the page helper, login, logout and ``/``.

Place in the flow: the browser's entry. Signing in checks the password and the rate limit
(``accounts.log_in``: per account and per client address, counted in the database) and opens a
session; every other page needs that session (``auth.page_user``).
"""

from __future__ import annotations

import logging
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from gateway.http.accounts import (
    HOME,
    LoginOutcome,
    Permission,
    Principal,
    log_in,
    log_out,
)
from gateway.http.auth import (
    PageForbidden,
    clear_flash,
    clear_session_cookie,
    client_ip,
    csrf_token,
    flash,
    form_permission,
    login_form_token,
    login_token_valid,
    page_user,
    read_flash,
    runtime,
    session_principal,
    set_login_cookie,
    set_session_cookie,
)
from gateway.http.render import render_page
from workflows.cases.assignment import unread_count

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)
ANY = Permission.DIRECTORY_READ  # every role has it: "signed in" is enough


def page(request: Request, principal: Principal, template: str, *, status: int = 200,
         **context: Any) -> HTMLResponse:
    """Render a console page with what the layout needs (user, nav, CSRF token, flash)."""
    message = read_flash(request)
    response = HTMLResponse(render_page(template, {
        "user": principal, "csrf": csrf_token(runtime(request), principal), "flash": message,
        "P": Permission, "now": runtime(request).now(),
        "desk_zone": runtime(request).settings.desk_timezone,
        "my_unread": _my_unread(request, principal), **context}), status_code=status)
    if message is not None:
        clear_flash(response)
    return response


def _my_unread(request: Request, principal: Principal) -> int:
    """The count beside "My cases": the user's cases with a customer reply not yet opened."""
    if not principal.can(Permission.CASES_WRITE):
        return 0
    with runtime(request).db.transaction() as s:
        return unread_count(s, principal.user_id)


def redirect(url: str) -> RedirectResponse:
    # 303: the browser follows a form post with a GET (RFC 9110 15.4.4)
    return RedirectResponse(url, status_code=303)


def done(request: Request, url: str, message: str) -> RedirectResponse:
    response = redirect(url)
    flash(request, response, message)
    return response


def _safe_next(value: str | None) -> str:
    """Only paths on this site: ``//evil.example`` or ``https://...`` would be an open
    redirect."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


def _login_page(request: Request, *, error: str | None = None, next_url: str = "/",
                email: str = "", status: int = 200) -> HTMLResponse:
    nonce, token = login_form_token(request)
    response = HTMLResponse(render_page("login.html", {
        "error": error, "next": _safe_next(next_url), "email": email, "login_csrf": token,
        "user": None, "flash": None}), status_code=status)
    set_login_cookie(request, response, nonce)
    return response


@router.get("/login")
def login_form(request: Request, next: str = "/") -> Response:
    if session_principal(request) is not None:
        return redirect(_safe_next(next))
    return _login_page(request, next_url=next)


@router.post("/login")
def login_submit(
    request: Request,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    csrf_token_field: Annotated[str, Form(alias="csrf_token", max_length=200)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    if not login_token_valid(request, csrf_token_field):
        return _login_page(request, error="The sign-in form expired or did not come from this "
                           "console. Try again.", next_url=next, email=email, status=403)
    rt = runtime(request)
    with rt.db.transaction() as session:
        result = log_in(session, email=email, password=password, ip=client_ip(request),
                        now=rt.now())
    if result.outcome is LoginOutcome.THROTTLED:
        response = _login_page(request, error=f"Too many failed sign-ins. Try again in "
                               f"{result.retry_after // 60 + 1} min.", next_url=next,
                               email=email, status=429)
        response.headers["Retry-After"] = str(result.retry_after)
        return response
    if result.outcome is LoginOutcome.REFUSED or result.session_token is None:
        return _login_page(request, error="Wrong email or password.", next_url=next,
                           email=email, status=401)
    assert result.principal is not None
    target = _safe_next(next)
    signed_in = redirect(HOME[result.principal.role] if target == "/" else target)
    set_session_cookie(request, signed_in, result.session_token)
    return signed_in


@router.post("/logout")
def logout(request: Request,
           principal: Annotated[Principal, Depends(form_permission(ANY))]) -> Response:
    rt = runtime(request)
    with rt.db.transaction() as session:
        log_out(session, principal, rt.now())
    response = redirect("/login")
    clear_session_cookie(response)
    return response


@router.get("/")
def index(principal: Annotated[Principal, Depends(page_user)]) -> Response:
    return redirect(HOME[principal.role])


def forbidden_page(request: Request, exc: PageForbidden) -> HTMLResponse:
    principal = session_principal(request)
    if principal is None:
        return HTMLResponse(render_page("error.html", {"user": None, "title": "Forbidden",
                                                       "message": exc.message}), 403)
    return page(request, principal, "error.html", status=403, title="Forbidden",
                message=exc.message)


def login_redirect(next_url: str) -> RedirectResponse:
    return redirect(f"/login?next={quote(next_url, safe='/')}")
