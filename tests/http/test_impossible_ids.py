"""Every route with a path parameter, given an id no row can have (issue 12, defect 5).

The routes are enumerated from the app itself, so a route added later is covered without a
word here: integer parameters get 2**64, string ones a value longer than any column. An id past
64 bits once made the console answer 500 (SQLite cannot bind it). The console answers 404 — a
path that names nothing is not found — and so does the API, never a 500.
"""

from __future__ import annotations

import httpx

from gateway.http.app import all_routes
from tests.http.conftest import csrf_of

TOO_BIG = str(2**64)  # past any integer column, past SQLite's and PostgreSQL's BIGINT
TOO_LONG = "9" * 300  # past any name or number column (case numbers and references: 32)


def _cases() -> list[tuple[str, str]]:
    """(method, path) of every route with a path parameter: integers past 64 bits, strings
    longer than their column."""
    found = set()
    for route in all_routes():
        params = route.dependant.path_params
        if not params:
            continue
        path = route.path
        for param in params:
            value = TOO_BIG if param.field_info.annotation is int else TOO_LONG
            path = path.replace("{" + param.name + "}", value)
        for method in route.methods or ():
            found.add((method, path))
    return sorted(found)


CASES = _cases()


def test_the_routes_with_ids_are_all_enumerated():
    """The enumeration finds the console's and the API's routes with ids (it is not empty)."""
    paths = {path for _, path in CASES}
    assert f"/cases/{TOO_LONG}/attachments/{TOO_BIG}" in paths
    assert f"/api/v1/triage/{TOO_BIG}" in paths
    assert len(CASES) >= 30


def test_an_id_no_row_can_have_is_not_found_on_any_route(admin: httpx.Client, desk):
    """Signed in (cookie and CSRF token for the console, bearer for the API): every route
    answers 404, on the console and the API. One sign-in for all routes; the
    failures are listed together."""
    token = csrf_of(admin.get("/account").text)
    wrong = []
    for method, path in CASES:
        if path.startswith("/api/"):
            response = admin.request(method, path, headers=desk.bearer(),
                                     json={} if method != "GET" else None)
        else:
            data = {"csrf_token": token} if method != "GET" else None
            response = admin.request(method, path, data=data)
        # An address in the path is checked as an address: a malformed one is 422.
        expected = (404, 422) if path.startswith("/api/v1/contacts/") else (404,)
        if response.status_code not in expected:
            wrong.append(f"{method} {path[:80]}: {response.status_code}")
    assert wrong == []
