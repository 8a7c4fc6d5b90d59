"""The console's "new case" form: the same service as `ticketgate case open`, audited as the
analyst, refused clearly for a stranger."""

from __future__ import annotations

from gateway.http.accounts import Role
from tests.http.conftest import csrf_of, sign_in


def _open(client, **data: str):
    token = csrf_of(client.get("/cases/new").text)
    return client.post("/cases/new", data={"csrf_token": token, **data})


def test_an_analyst_opens_a_case_from_the_form(desk, client):
    sign_in(client, Role.ANALYST)
    response = _open(client, organization="Acme", contact="alice@acme.example",
                     subject="Router reboots nightly", severity="high")
    assert response.status_code == 303 and response.headers["location"] == "/cases/CASE-1001"
    page = client.get("/cases/CASE-1001").text
    assert "Router reboots nightly" in page and "high" in page


def test_a_contact_not_in_the_directory_is_refused_with_the_reason(desk, admin):
    response = _open(admin, organization="Acme", contact="mallory@evil.example",
                     subject="Let me in")
    assert response.headers["location"] == "/cases/new"
    assert "Not opened" in admin.get("/cases/new").text


def test_a_scheduler_may_not_open_cases(desk, client):
    sign_in(client, Role.SCHEDULER)
    assert client.get("/cases/new").status_code == 403
