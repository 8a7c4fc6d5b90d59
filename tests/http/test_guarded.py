"""Every route refuses a caller without a session or token, and every form refuses a post
without its CSRF token. The routes are read from the app itself, so a new route is covered
the day it is added."""

from __future__ import annotations

import re

import pytest

from gateway.http.app import all_routes
from tests.http.conftest import csrf_of

# Reachable without signing in: the login form and the liveness probe (nothing else).
PUBLIC = {("GET", "/login"), ("POST", "/login"), ("GET", "/healthz"), ("GET", "/docs"),
          ("GET", "/api/openapi.json")}
# Answered as JSON (scripts and scrapers), so refused with 401 rather than sent to /login.
JSON_ROUTES = re.compile(r"^/(api/|metrics$)")
SAMPLE = {"item_id": "1", "number": "CASE-1001", "index": "0", "attachment_id": "1",
          "update_id": "1", "inbound_id": "1", "action": "discard", "reference": "N-1"}


def _routes(rt):
    """(method, concrete path) for every route of the app, path parameters filled in."""
    found = []
    for route in all_routes():  # the /static mount is left out: a public stylesheet
        path = re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: SAMPLE.get(m.group(1), "1"), route.path)
        found += [(method, path) for method in sorted(route.methods - {"HEAD"})]
    return found


def test_the_route_list_is_not_empty(desk):
    """Guard the guard: an enumeration that found nothing would pass every check below."""
    routes = _routes(desk.rt)
    assert len(routes) > 30 and ("POST", "/triage/1/discard") in routes


def test_every_route_without_a_session_is_refused(desk, client):
    """No page, form or API call does anything for an anonymous caller."""
    wrong = []
    for method, path in _routes(desk.rt):
        if (method, path) in PUBLIC:
            continue
        response = client.request(method, path)
        if JSON_ROUTES.match(path):
            ok = response.status_code == 401 and "error" in response.json()
        else:
            ok = (response.status_code == 303
                  and response.headers["location"].startswith("/login"))
        if not ok:
            wrong.append((method, path, response.status_code))
    assert wrong == []


def test_a_bad_api_token_is_refused_everywhere(desk, client):
    """A made-up bearer token is no better than none."""
    wrong = [(m, p, r.status_code) for m, p in _routes(desk.rt)
             if JSON_ROUTES.match(p) and (m, p) not in PUBLIC
             for r in [client.request(m, p, headers={"Authorization": "Bearer tg_madeup"})]
             if r.status_code != 401]
    assert wrong == []


def test_every_form_post_without_the_csrf_token_is_refused(desk, admin):
    """A signed-in admin's browser must not act on a form another site made it post."""
    posts = [p for m, p in _routes(desk.rt)
             if m == "POST" and not JSON_ROUTES.match(p) and ("POST", p) not in PUBLIC]
    assert posts
    codes = {p: admin.post(p, data={"body": "x", "case": "CASE-1001"}).status_code
             for p in posts}
    assert set(codes.values()) == {403}, codes


def test_a_form_token_from_another_session_is_refused(desk, admin, client):
    """The token is bound to its session: one stolen from another user's page fails."""
    token = csrf_of(admin.get("/triage").text)
    admin.cookies.clear()
    from tests.http.conftest import sign_in

    sign_in(admin)
    assert admin.post("/triage/1/discard", data={"csrf_token": token}).status_code == 403


@pytest.mark.parametrize("path", ["/triage", "/cases", "/health", "/notices", "/login"])
def test_pages_carry_the_security_headers(admin, path):
    """No inline script may run, no site may frame us, no URL leaks in a Referer."""
    headers = admin.get(path).headers
    csp = headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("style-src")[0]
    assert "frame-ancestors 'none'" in csp
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["x-content-type-options"] == "nosniff"
