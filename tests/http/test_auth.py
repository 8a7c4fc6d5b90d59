"""Signing in and out: argon2 passwords, cookie flags, CSRF on the login form, the rate limit,
roles."""

from __future__ import annotations

import dataclasses

import httpx

from gateway.http.accounts import MAX_ACCOUNT_FAILURES, MAX_IP_FAILURES, Role
from gateway.http.server import start_http_server
from tests.http.conftest import PASSWORD, USERS, csrf_of, sign_in


def test_sign_in_sets_a_session_cookie_that_scripts_cannot_read(client):
    """HttpOnly keeps a script injected anywhere from stealing the session; Lax keeps it off
    cross-site posts."""
    response = sign_in(client)
    cookie = response.headers["set-cookie"]
    assert response.status_code == 303 and response.headers["location"] == "/triage"
    assert "tg_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Secure" not in cookie  # plain http on loopback: a Secure cookie would never return


def test_session_cookie_is_secure_when_the_console_is_served_over_https(desk):
    """Behind TLS the cookie must never travel in clear text."""
    rt = dataclasses.replace(desk.rt, settings=dataclasses.replace(
        desk.rt.settings, public_url="https://desk.example"))
    handle = start_http_server(rt, "127.0.0.1", 0)
    try:
        with httpx.Client(base_url=handle.url, follow_redirects=False, timeout=30) as c:
            assert "Secure" in sign_in(c).headers["set-cookie"]
    finally:
        handle.stop()


def test_wrong_password_is_refused_with_the_same_words_as_an_unknown_user(client):
    """Telling the two apart would let anyone list the accounts."""
    wrong = sign_in(client, password="not the password")
    form = client.get("/login")
    unknown = client.post("/login", data={"email": "nobody@desk.example", "password": "x",
                                          "csrf_token": csrf_of(form.text)})
    assert wrong.status_code == unknown.status_code == 401
    assert "Wrong email or password." in wrong.text and "Wrong email or password." in unknown.text


def test_login_form_without_its_csrf_token_is_refused(client):
    """Login CSRF would sign a victim in to the attacker's account."""
    client.get("/login")
    response = client.post("/login", data={"email": USERS[Role.ADMIN], "password": PASSWORD})
    assert response.status_code == 403 and "tg_session" not in response.headers.get(
        "set-cookie", "")


def test_an_account_is_locked_after_repeated_failures_even_with_the_right_password(client):
    """Per-account limit: guessing one password stops after a handful of tries."""
    for _ in range(MAX_ACCOUNT_FAILURES):
        assert sign_in(client, password="guess").status_code == 401
    locked = sign_in(client)
    assert locked.status_code == 429 and int(locked.headers["retry-after"]) > 0


def test_the_lock_lifts_when_the_failures_leave_the_window(client, clock):
    """A locked-out admin is not locked out forever."""
    for _ in range(MAX_ACCOUNT_FAILURES):
        sign_in(client, password="guess")
    clock.advance(minutes=16)
    assert sign_in(client).status_code == 303


def test_one_address_spraying_many_accounts_is_throttled(client):
    """Per-address limit: one password tried against many accounts stops too."""
    form = client.get("/login")
    for i in range(MAX_IP_FAILURES):
        client.post("/login", data={"email": f"u{i}@desk.example", "password": "guess",
                                    "csrf_token": csrf_of(form.text)})
    assert sign_in(client, Role.ANALYST).status_code == 429


def test_sign_out_ends_the_session_on_the_server(admin):
    """A copied cookie must stop working at logout, not just be forgotten by the browser."""
    cookie = admin.cookies["tg_session"]
    page = admin.get("/triage")
    assert admin.post("/logout", data={"csrf_token": csrf_of(page.text)}).status_code == 303
    admin.cookies.set("tg_session", cookie)
    assert admin.get("/triage").headers["location"].startswith("/login")


def test_each_role_lands_on_its_own_work(client):
    """`/` leads an admin to triage, an analyst to cases, a scheduler to notices."""
    homes = {}
    for role in Role:
        client.cookies.clear()
        sign_in(client, role)
        homes[role] = client.get("/").headers["location"]
    assert homes == {Role.ADMIN: "/triage", Role.ANALYST: "/cases",
                     Role.SCHEDULER: "/notices"}


def test_an_analyst_opens_triage(client):
    """Analysts work triage (README "Roles"); blocking senders stays with admins."""
    sign_in(client, Role.ANALYST)
    assert client.get("/triage").status_code == 200


def test_login_never_redirects_off_site(client):
    """`next=//evil.example` would turn the login page into an open redirect."""
    form = client.get("/login?next=//evil.example/x")
    response = client.post("/login", data={"email": USERS[Role.ADMIN], "password": PASSWORD,
                                           "csrf_token": csrf_of(form.text),
                                           "next": "//evil.example/x"})
    assert response.headers["location"] == "/triage"


def test_a_page_asked_for_before_signing_in_is_shown_after(client):
    """The login keeps where the user was going."""
    assert client.get("/cases?q=printer").headers["location"] == "/login?next=/cases%3Fq%3Dprinter"
    form = client.get("/login?next=/cases%3Fq%3Dprinter")
    response = client.post("/login", data={"email": USERS[Role.ADMIN], "password": PASSWORD,
                                           "csrf_token": csrf_of(form.text),
                                           "next": "/cases?q=printer"})
    assert response.headers["location"] == "/cases?q=printer"
