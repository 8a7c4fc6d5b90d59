"""Who is asking, and may they: sessions and CSRF for the console, bearer tokens for the API.

Place in the flow: the first thing every console page and API route runs (as a FastAPI
dependency), before any domain service. Pages without a session are sent to ``/login``; API
calls without a valid token get a 401 JSON error; a missing permission is a 403.

Cookies: the session cookie is HttpOnly (no script reads it), SameSite=Lax (RFC 6265bis 8.8: not
sent on cross-site POSTs) and Secure when the console is served over https. CSRF: every form
carries a token that is an HMAC of the session (synchronizer token bound to the session); the
login form, which has no session yet, uses a signed double-submit cookie instead (OWASP CSRF
cheat sheet). The API takes no cookies at all, so it needs no CSRF token.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from typing import Annotated
from urllib.parse import quote, unquote

from fastapi import Depends, Form, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from gateway.http.accounts import (
    SESSION_LIFETIME,
    Permission,
    Principal,
    principal_for_session,
    principal_for_token,
)
from workflows.runtime import Runtime

SESSION_COOKIE = "tg_session"
LOGIN_COOKIE = "tg_login"
FLASH_COOKIE = "tg_flash"
BEARER = HTTPBearer(auto_error=False, description="A token from `ticketgate token create`")


class LoginRequired(Exception):
    """A page was asked for without a valid session: go to /login, then come back."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


class PageForbidden(Exception):
    """Signed in, but this role may not do that (or the form's CSRF token is wrong)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ApiError(Exception):
    """An API error answered as JSON: ``{"error": {"status": ..., "message": ...}}``."""

    def __init__(self, status: int, message: str,
                 headers: tuple[tuple[str, str], ...] = ()) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers


def runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.rt
    return rt


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def secure_cookies(request: Request) -> bool:
    return (request.url.scheme == "https"
            or runtime(request).settings.public_url.startswith("https://"))


# --- CSRF --------------------------------------------------------------------------------------


def _csrf_mac(rt: Runtime, purpose: str, value: str) -> str:
    key = hmac.new(rt.key, b"ticketgate console csrf", hashlib.sha256).digest()
    return hmac.new(key, f"{purpose}|{value}".encode(), hashlib.sha256).hexdigest()


def csrf_token(rt: Runtime, principal: Principal) -> str:
    return _csrf_mac(rt, "session", principal.session_hash or "")


def login_form_token(request: Request) -> tuple[str, str]:
    """The login form's (cookie nonce, form token) pair: the token is an HMAC of the nonce."""
    nonce = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(24)
    return nonce, _csrf_mac(runtime(request), "login", nonce[:100])


def set_login_cookie(request: Request, response: Response, nonce: str) -> None:
    response.set_cookie(LOGIN_COOKIE, nonce, max_age=3600, httponly=True, samesite="lax",
                        secure=secure_cookies(request), path="/login")


def login_token_valid(request: Request, token: str) -> bool:
    nonce = request.cookies.get(LOGIN_COOKIE)
    return bool(nonce) and same_token(_csrf_mac(runtime(request), "login", (nonce or "")[:100]),
                                      token)


def same_token(expected: str, given: str) -> bool:
    """``given`` (from a form or a cookie: anything a client sends) is ``expected``, in
    constant time. As bytes: ``hmac.compare_digest`` raises ``TypeError`` on a non-ASCII
    ``str``, and a form posted with ``csrf_token=é`` answered 500 (OWASP ASVS 7.4.1: no
    error page from input)."""
    return hmac.compare_digest(expected.encode(), given.encode("utf-8", "surrogateescape"))


# --- sessions (pages) --------------------------------------------------------------------------


def session_principal(request: Request) -> Principal | None:
    if hasattr(request.state, "principal"):  # looked up once a request (None included)
        cached: Principal | None = request.state.principal
        return cached
    token = request.cookies.get(SESSION_COOKIE, "")
    principal = None
    if token:
        rt = runtime(request)
        with rt.db.transaction() as session:
            principal = principal_for_session(session, token, rt.now())
    request.state.principal = principal
    return principal


def _next_url(request: Request) -> str:
    query = f"?{request.url.query}" if request.url.query else ""
    return f"{request.url.path}{query}" if request.method == "GET" else "/"


def page_user(request: Request) -> Principal:
    principal = session_principal(request)
    if principal is None:
        raise LoginRequired(_next_url(request))
    return principal


def page_permission(permission: Permission) -> Callable[..., Principal]:
    """A page (GET) that needs ``permission``."""

    def dependency(principal: Annotated[Principal, Depends(page_user)]) -> Principal:
        if not principal.can(permission):
            raise PageForbidden(f"your role ({principal.role.value}) may not see this page")
        return principal

    return dependency


def form_permission(permission: Permission) -> Callable[..., Principal]:
    """A form post that needs ``permission`` and the session's CSRF token."""

    def dependency(request: Request, principal: Annotated[Principal, Depends(page_user)],
                   csrf_token_field: Annotated[str, Form(alias="csrf_token")] = "",
                   ) -> Principal:
        if not same_token(csrf_token(runtime(request), principal), csrf_token_field[:200]):
            raise PageForbidden("this form is out of date or did not come from the console "
                                "(CSRF token missing or wrong): reload the page and try again")
        if not principal.can(permission):
            raise PageForbidden(f"your role ({principal.role.value}) may not do this")
        return principal

    return dependency


def set_session_cookie(request: Request, response: Response, token: str) -> None:
    response.set_cookie(SESSION_COOKIE, token, max_age=int(SESSION_LIFETIME.total_seconds()),
                        httponly=True, samesite="lax", secure=secure_cookies(request), path="/")
    response.delete_cookie(LOGIN_COOKIE, path="/login")


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")


def flash(request: Request, response: Response, message: str) -> None:
    """A one-line message shown on the next page (post/redirect/get)."""
    response.set_cookie(FLASH_COOKIE, quote(message[:300]), max_age=60, httponly=True,
                        samesite="lax", secure=secure_cookies(request), path="/")


def read_flash(request: Request) -> str | None:
    value = request.cookies.get(FLASH_COOKIE)
    return unquote(value)[:300] if value is not None else None


def clear_flash(response: Response) -> None:
    response.delete_cookie(FLASH_COOKIE, path="/")


# --- tokens (API) ------------------------------------------------------------------------------


def api_user(request: Request,
             credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)],
             ) -> Principal:
    challenge = (("WWW-Authenticate", "Bearer"),)
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise ApiError(401, "authentication required: send 'Authorization: Bearer <token>' "
                       "(ticketgate token create)", challenge)
    rt = runtime(request)
    with rt.db.transaction() as session:
        principal = principal_for_token(session, credentials.credentials, rt.now())
    if principal is None:
        raise ApiError(401, "the API token is not valid (unknown, revoked, or its user is "
                       "disabled)", challenge)
    return principal


def api_permission(permission: Permission) -> Callable[..., Principal]:
    def dependency(principal: Annotated[Principal, Depends(api_user)]) -> Principal:
        if not principal.can(permission):
            raise ApiError(403, f"the role {principal.role.value} may not use this endpoint "
                           f"(needs {permission.value})")
        return principal

    return dependency
