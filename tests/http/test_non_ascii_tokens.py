"""A CSRF token is whatever a client sends: a non-ASCII one is a wrong token (403), never an
error page. ``hmac.compare_digest`` raises on a non-ASCII ``str``; both forms answered 500."""

from __future__ import annotations

from tests.http.conftest import PASSWORD, USERS, Role


def test_the_login_form_with_a_non_ascii_token_is_refused_not_an_error(client):
    client.get("/login")
    response = client.post("/login", data={"email": USERS[Role.ADMIN], "password": PASSWORD,
                                           "csrf_token": "\u00e9"})
    assert response.status_code == 403 and "tg_session" not in response.headers.get(
        "set-cookie", "")


def test_a_console_form_with_a_non_ascii_token_is_refused_not_an_error(admin):
    response = admin.post("/cases/CASE-1001/post", data={"body": "hi", "csrf_token": "\u00e9"})
    assert response.status_code == 403
    assert "CSRF token missing or wrong" in response.text
