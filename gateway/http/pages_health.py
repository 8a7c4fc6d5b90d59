"""Health: the operator's page, the liveness probe and the Prometheus scrape.

Place in the flow: outside the message flow. ``/health`` shows intake rates, triage age, failed
messages (with retry: ``workflows.inbound.queue.retry_failed``, as ``ticketgate failed retry``),
bounces, loops suppressed, and outbound mail waiting for a retry or failed
(``workflows.outbound.health``, as ``ticketgate health``). ``/healthz`` answers a load balancer or
orchestrator without a session (liveness, database, broker; no detail an outsider could use).
``/metrics`` needs a session or an API token: the figures say how much mail a desk gets.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials

from gateway.http import queries
from gateway.http.accounts import Permission, Principal
from gateway.http.actions import retry_failed_messages
from gateway.http.auth import (
    BEARER,
    ApiError,
    api_user,
    form_permission,
    page_permission,
    runtime,
    session_principal,
)
from gateway.http.ids import RowId
from gateway.http.metrics import CONTENT_TYPE, check_broker, check_database, render_metrics
from gateway.http.pages import done, page
from gateway.http.render import age_text
from workflows.cases import views
from workflows.outbound.health import mail_health
from workflows.outbound.htmltext import counted

router = APIRouter(include_in_schema=False)
READ = Depends(page_permission(Permission.HEALTH_READ))
RETRY = Depends(form_permission(Permission.FAILED_RETRY))


@router.get("/health")
def health_page(request: Request, principal: Annotated[Principal, READ]) -> HTMLResponse:
    rt = runtime(request)
    now = rt.now()
    with rt.db.transaction() as s:
        figures = queries.health(s, now)
        failed = views.failed_lines(s)
        counts = queries.triage_counts(s)
        mail = mail_health(s)
    checks = [check_database(rt), check_broker(rt)]
    return page(request, principal, "health.html", title="Health", h=figures, failed=failed,
                counts=counts, checks=checks, oldest_age=age_text(figures.triage_oldest, now),
                mail=mail)


@router.post("/health/failed/{inbound_id}/retry")
def retry_one(request: Request, inbound_id: RowId, principal: Annotated[Principal, RETRY]
              ) -> Response:
    results = retry_failed_messages(runtime(request), principal, [inbound_id])
    if not results:
        return done(request, "/health", f"No failed message #{inbound_id}.")
    r = results[0]
    return done(request, "/health", f"Message #{r.inbound_id}: {r.status.value}"
                + (f" ({r.outcome}/{r.reason})" if r.outcome else f": {r.error}"))


@router.post("/health/failed/retry-all")
def retry_all(request: Request, principal: Annotated[Principal, RETRY]) -> Response:
    results = retry_failed_messages(runtime(request), principal, None)
    still = sum(1 for r in results if r.error)
    return done(request, "/health",
                f"Retried {counted(len(results), 'message')}; {still} failed again.")


@router.get("/healthz")
def healthz(request: Request) -> JSONResponse:
    """Liveness plus the two things the gateway cannot work without."""
    rt = runtime(request)
    checks = [check_database(rt), check_broker(rt)]
    ok = all(c.ok for c in checks)
    return JSONResponse({"status": "ok" if ok else "unavailable",
                         "checks": {c.name: "ok" if c.ok else "unreachable" for c in checks}},
                        status_code=200 if ok else 503)


def _metrics_reader(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)],
) -> Principal:
    principal = session_principal(request) or api_user(request, credentials)
    if not principal.can(Permission.HEALTH_READ):
        raise ApiError(403, f"the role {principal.role.value} may not read metrics")
    return principal


@router.get("/metrics")
def metrics(request: Request, principal: Annotated[Principal, Depends(_metrics_reader)]
            ) -> Response:
    return Response(render_metrics(runtime(request)), media_type=CONTENT_TYPE)
