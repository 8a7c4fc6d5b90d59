"""``create_app(rt)``: the console and the API as one ASGI application.

Place in the flow: built once per process by ``server.start_http_server`` (``ticketgate
serve``) or by a test; it holds the ``Runtime`` and nothing else, so every request reaches the
database through the same ``Database`` the gateway uses.

Every response carries the security headers (``SecurityHeaders``): a CSP that allows only this
site's own scripts and styles (no inline script, CSP Level 3), ``X-Frame-Options: DENY`` (the
mail frame's own route relaxes it to SAMEORIGIN), ``Referrer-Policy: no-referrer`` so a link in
a mail never learns our URLs, ``nosniff``, and ``Cache-Control: no-store`` because pages hold
customers' mail. Errors are JSON under ``/api`` and pages elsewhere.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DataError
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.http import (
    api,
    api_case_fields,
    api_desk,
    api_directory,
    api_notices,
    api_saved_replies,
    docs,
    pages,
    pages_account,
    pages_case_fields,
    pages_case_new,
    pages_cases,
    pages_directory,
    pages_health,
    pages_notices,
    pages_search,
    pages_triage,
)
from gateway.http.accounts import dummy_hash
from gateway.http.auth import ApiError, LoginRequired, PageForbidden, session_principal
from gateway.http.render import STATIC, render_page
from workflows.errors import DomainError, NotFound
from workflows.outbound.compose import BadAddress
from workflows.outbound.headers import UnsafeValue
from workflows.runtime import Runtime
from workflows.storage.db import DatabaseUnavailable

log = logging.getLogger(__name__)

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "frame-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; "
       "object-src 'none'")
SECURITY_HEADERS = (
    ("content-security-policy", CSP),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "no-referrer"),
    ("x-content-type-options", "nosniff"),
    ("cross-origin-opener-policy", "same-origin"),
    ("permissions-policy", "camera=(), microphone=(), geolocation=()"),
)


class SecurityHeaders:
    """Adds the headers a route did not set itself (pure ASGI: no body buffering)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope["path"].startswith("/static/")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS:
                    if name not in headers:
                        headers[name] = value
                if "cache-control" not in headers:
                    headers["cache-control"] = "max-age=3600" if static else "no-store"
                if scope.get("scheme") == "https":
                    headers["strict-transport-security"] = "max-age=31536000"
            await send(message)

        await self.app(scope, receive, with_headers)


class BodyLimit:
    """Refuses a request body over ``limit`` bytes with 413, before it is held in memory.

    The largest legitimate body is an analyst's update with its files (the settings' limit,
    a third more as base64 in the API). Without a cap, a client could make the form parser
    spool gigabytes before the file-size check ever runs. A declared Content-Length is refused
    at once; a chunked body is counted as it arrives (RFC 9110 15.5.14)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    def _message(self) -> str:
        return f"request body too large: at most {self.limit // (1024 * 1024)} MB"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.limit:
            response = _error(Request(scope), 413, self._message(), {"connection": "close"})
            await response(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:  # raised inside the route: the error handlers answer
                    raise StarletteHTTPException(413, self._message())
            return message

        await self.app(scope, counted, send)


def body_limit(rt: Runtime) -> int:
    """An update's files as base64 (4/3) plus a megabyte for the text and the form."""
    return rt.settings.post_files_max_bytes * 4 // 3 + 1024 * 1024


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _error(request: Request, status: int, message: str,
           headers: dict[str, str] | None = None) -> Response:
    if _is_api(request) or request.url.path in ("/metrics", "/healthz"):
        return JSONResponse({"error": {"status": status, "message": message}}, status, headers)
    # A 503 is the database down: the session and the layout's counts live there, so the page
    # says it without them (looking the session up would fail again, into a bare 500).
    principal = session_principal(request) if status not in (401, 503) else None
    if principal is not None:
        return pages.page(request, principal, "error.html", status=status,
                          title=f"Error {status}", message=message)
    return HTMLResponse(render_page("error.html", {"user": None, "flash": None,
                                                   "title": f"Error {status}",
                                                   "message": message}), status, headers)


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        loc = list(err.get("loc", ()))
        if loc[:1] == ["body"] and len(loc) > 1:
            loc = loc[1:]  # "body.case" says less than "case"
        where = ".".join(str(p) for p in loc) or "request"
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return "invalid request: " + "; ".join(parts)


def _install_handlers(app: FastAPI) -> None:
    async def login_required(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, LoginRequired)
        return pages.login_redirect(exc.next_url)

    async def forbidden(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, PageForbidden)
        return _error(request, 403, exc.message)

    async def api_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return _error(request, exc.status, exc.message, dict(exc.headers))

    async def domain_error(request: Request, exc: Exception) -> Response:
        return _error(request, 404 if isinstance(exc, NotFound) else 409, str(exc))

    async def bad_address(request: Request, exc: Exception) -> Response:
        return _error(request, 422, str(exc))

    async def unsafe_value(request: Request, exc: Exception) -> Response:
        # a name that cannot be made safe for mail (workflows.outbound.headers): the client's value
        return _error(request, 422, str(exc))

    async def unavailable(request: Request, exc: Exception) -> Response:
        log.error("database unavailable: %s", exc)
        return _error(request, 503, "the database is unavailable; try again shortly")

    async def bad_value(request: Request, exc: Exception) -> Response:
        # e.g. a lone surrogate or a NUL that reached the database driver: the client's
        # value is wrong, not the server
        return _error(request, 422, "invalid request: a value cannot be stored as text")

    async def invalid(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        if any(list(err.get("loc", ()))[:1] == ["path"] for err in exc.errors()):
            # A path whose id no row can have (gateway.http.ids) names nothing: 404 on the
            # console and the API alike, as for an id that could exist but does not.
            return _error(request, 404, "not found")
        return _error(request, 422, _validation_message(exc))

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        message = {404: "not found", 405: "method not allowed"}.get(exc.status_code,
                                                                     str(exc.detail))
        return _error(request, exc.status_code, message, dict(exc.headers or {}))

    async def crashed(request: Request, exc: Exception) -> Response:
        # process boundary: log with the traceback, answer without it
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return _error(request, 500, "internal error (logged)")

    handlers: dict[Any, Any] = {
        LoginRequired: login_required, PageForbidden: forbidden, ApiError: api_error,
        DomainError: domain_error, BadAddress: bad_address, DatabaseUnavailable: unavailable,
        UnicodeEncodeError: bad_value, DataError: bad_value,
        RequestValidationError: invalid, StarletteHTTPException: http_error,
        Exception: crashed,
        UnsafeValue: unsafe_value,
    }
    for exc_class, handler in handlers.items():
        app.add_exception_handler(exc_class, handler)


ROUTERS: tuple[APIRouter, ...] = (
    pages.router, pages_triage.router, pages_case_new.router, pages_cases.router,
    pages_notices.router, pages_health.router, pages_account.router, api.router,
    api_notices.router, api_directory.router, api.schema_router, docs.router, api_desk.router,
    pages_search.router, pages_directory.router, api_case_fields.router,
    pages_case_fields.router, api_saved_replies.router)


def all_routes() -> list[APIRoute]:
    """Every route the app serves (its routers are included without a prefix), for tests that
    must cover each one."""
    return [r for router in ROUTERS for r in router.routes if isinstance(r, APIRoute)]


def create_app(rt: Runtime) -> FastAPI:
    app = FastAPI(
        title="ticketgate",
        version="1",
        description="Cases, triage, notices and the directory of an email-driven support desk. "
                    "Authenticate with `Authorization: Bearer <token>` "
                    "(`ticketgate token create EMAIL`).",
        openapi_url=None,  # served by ``api.openapi_document``
        docs_url=None,  # FastAPI's page loads a CDN and inline script: ``docs`` serves its own
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
    )
    app.state.rt = rt
    dummy_hash()  # the first unknown-email sign-in must not pay the hash (a timing tell)
    app.add_middleware(BodyLimit, limit=body_limit(rt))
    app.add_middleware(SecurityHeaders)
    _install_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.mount(docs.ASSETS, docs.assets(), name="docs-assets")
    return app
