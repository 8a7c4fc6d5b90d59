"""The account page: a signed-in user changes their own password (current one required, new
one typed twice, the length rule of `user add`), other sessions end, API tokens stay."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import select

from gateway.http.accounts import MAX_ACCOUNT_FAILURES, MIN_PASSWORD, Role
from tests.http.conftest import PASSWORD, USERS, csrf_of, sign_in
from workflows.storage.models import AuditEvent, ConsoleUser

NEW = "a brand new passphrase"


def _change(client: httpx.Client, current: str = PASSWORD, new: str = NEW,
            again: str | None = None) -> httpx.Response:
    token = csrf_of(client.get("/account").text)
    return client.post("/account/password", data={
        "csrf_token": token, "current_password": current, "new_password": new,
        "new_password_again": new if again is None else again})


def _stored_hash(rt, email: str) -> str | None:
    with rt.db.transaction() as s:
        return s.scalars(select(ConsoleUser.password_hash)
                         .where(ConsoleUser.email == email)).one()


@pytest.fixture
def other_browser(server) -> Iterator[httpx.Client]:
    """The admin signed in a second time, elsewhere."""
    with httpx.Client(base_url=server.url, follow_redirects=False, timeout=30) as c:
        assert sign_in(c).status_code == 303
        yield c


def test_the_nav_links_to_the_account_page(admin):
    """Every signed-in page offers the way to the account page."""
    assert 'href="/account"' in admin.get("/triage").text


def test_every_role_may_open_its_account_page(client):
    """Changing one's own password needs no permission beyond being signed in."""
    sign_in(client, Role.SCHEDULER)
    page = client.get("/account")
    assert page.status_code == 200 and USERS[Role.SCHEDULER] in page.text
    assert 'action="/account/password"' in page.text and 'name="csrf_token"' in page.text


def test_a_change_redirects_back_with_a_message(admin):
    """Post/redirect/get: the page says the password changed."""
    response = _change(admin)
    assert (response.status_code, response.headers["location"]) == (303, "/account")
    assert "Password changed." in admin.get("/account").text


def test_after_a_change_the_new_password_signs_in(admin):
    _change(admin)
    admin.cookies.clear()
    assert sign_in(admin, password=NEW).status_code == 303


def test_after_a_change_the_old_password_is_refused(admin):
    _change(admin)
    admin.cookies.clear()
    assert sign_in(admin).status_code == 401


def test_the_new_password_is_stored_as_an_argon2id_hash(desk, admin):
    before = _stored_hash(desk.rt, USERS[Role.ADMIN])
    _change(admin)
    after = _stored_hash(desk.rt, USERS[Role.ADMIN])
    assert after != before and after is not None
    assert after.startswith("$argon2id$") and NEW not in after


def test_this_browser_stays_signed_in_on_a_new_session(admin):
    """The session is re-issued: this browser carries on with a new cookie."""
    old_cookie = admin.cookies["tg_session"]
    response = _change(admin)
    assert "tg_session=" in response.headers["set-cookie"]
    assert admin.cookies["tg_session"] != old_cookie
    assert admin.get("/triage").status_code == 200


def test_the_old_session_cookie_stops_working(admin):
    """A copy of the cookie from before the change signs no one in."""
    old_cookie = admin.cookies["tg_session"]
    _change(admin)
    admin.cookies.set("tg_session", old_cookie)
    assert admin.get("/triage").headers["location"].startswith("/login")


def test_other_sessions_of_the_user_are_signed_out(admin, other_browser):
    """Whoever else holds a session (a forgotten browser, a thief) loses it."""
    _change(admin)
    assert other_browser.get("/triage").headers["location"].startswith("/login")


def test_other_users_sessions_are_left_alone(server, admin):
    with httpx.Client(base_url=server.url, follow_redirects=False, timeout=30) as analyst:
        sign_in(analyst, Role.ANALYST)
        _change(admin)
        assert analyst.get("/cases").status_code == 200


def test_api_tokens_keep_working_after_a_change(desk, admin):
    """Scripts are not broken by a password change; tokens are revoked on their own."""
    _change(admin)
    assert admin.get("/api/v1/cases", headers=desk.bearer(Role.ADMIN)).status_code == 200


def test_a_wrong_current_password_is_refused_and_changes_nothing(desk, admin):
    before = _stored_hash(desk.rt, USERS[Role.ADMIN])
    response = _change(admin, current="not my password")
    assert response.status_code == 403 and "current password is wrong" in response.text
    assert _stored_hash(desk.rt, USERS[Role.ADMIN]) == before


def test_wrong_current_passwords_count_towards_the_login_limit(admin):
    """A signed-in browser left open is no oracle for guessing the password."""
    for _ in range(MAX_ACCOUNT_FAILURES):
        assert _change(admin, current="a guess, wrong").status_code == 403
    throttled = _change(admin)
    assert throttled.status_code == 429 and int(throttled.headers["retry-after"]) > 0


def test_two_different_new_passwords_are_refused(desk, admin):
    before = _stored_hash(desk.rt, USERS[Role.ADMIN])
    response = _change(admin, again=NEW + "!")
    assert response.status_code == 422 and "differ" in response.text
    assert _stored_hash(desk.rt, USERS[Role.ADMIN]) == before


def test_a_short_new_password_is_refused_with_the_rule_of_user_add(admin):
    response = _change(admin, new="x" * (MIN_PASSWORD - 1))
    assert response.status_code == 422
    assert f"at least {MIN_PASSWORD} characters" in response.text


def test_the_same_password_again_is_refused(admin):
    response = _change(admin, new=PASSWORD)
    assert response.status_code == 422 and "same as the current one" in response.text


def test_the_form_without_its_csrf_token_is_refused(desk, admin):
    before = _stored_hash(desk.rt, USERS[Role.ADMIN])
    response = admin.post("/account/password", data={
        "current_password": PASSWORD, "new_password": NEW, "new_password_again": NEW})
    assert response.status_code == 403
    assert _stored_hash(desk.rt, USERS[Role.ADMIN]) == before


def test_a_change_is_audited_without_the_password(desk, admin):
    _change(admin)
    with desk.rt.db.transaction() as s:
        events = list(s.scalars(select(AuditEvent).where(AuditEvent.action == "user.password")))
        found = [(e.actor, e.detail) for e in events]
    assert [actor for actor, _ in found] == [USERS[Role.ADMIN]]
    assert NEW not in str(found) and PASSWORD not in str(found)
