"""`ticketgate user …` and `ticketgate token …`: the accounts and tokens the console and the
API check, and what a reset, a disable or a revoke does to them."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import create_engine, text

from gateway.http.accounts import Role, password_matches
from tests.http.conftest import USERS, sign_in


@pytest.fixture
def console_user(cli, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("a long passphrase\n"))
    return cli("user", "add", "Ops@Desk.example", "--role", "analyst", "--password-stdin")


def test_user_add_stores_a_hash_never_the_password(console_user, database_url):
    """The password read from stdin is kept only as an argon2id hash."""
    engine = create_engine(database_url)
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT password_hash FROM console_users")).scalar_one()
    engine.dispose()
    assert console_user.out == [{"email": "ops@desk.example", "role": "analyst",
                                 "password": True}]
    assert stored.startswith("$argon2id$") and "a long passphrase" not in stored


def test_user_add_refuses_a_duplicate(console_user, cli, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("another passphrase\n"))
    again = cli("user", "add", "ops@desk.example", "--role", "admin", "--password-stdin")
    assert again.code == 1 and "already exists" in again.err


def test_token_create_prints_a_token_once(console_user, cli):
    made = cli("token", "create", "ops@desk.example", "--name", "grafana")
    assert made.code == 0 and made.out[0]["token"].startswith("tg_")


def test_a_short_password_is_refused(cli, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    made = cli("user", "add", "x@desk.example", "--role", "admin", "--password-stdin")
    assert made.code == 1 and "at least 10 characters" in made.err


# --- user passwd, list, disable/enable; token list/revoke --------------------------------------

NEW = "a reset passphrase"


def _stdin(monkeypatch, value: str) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(value))


def _stored_hash(database_url: str, email: str) -> str:
    engine = create_engine(database_url)
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT password_hash FROM console_users WHERE email = :e"),
                              {"e": email}).scalar_one()
    engine.dispose()
    return stored


def test_user_passwd_sets_the_password_read_from_stdin(console_user, cli, monkeypatch,
                                                       database_url):
    _stdin(monkeypatch, NEW + "\n")
    done = cli("user", "passwd", "OPS@desk.example", "--password-stdin")
    assert done.code == 0 and done.out[0]["email"] == "ops@desk.example"
    stored = _stored_hash(database_url, "ops@desk.example")
    assert password_matches(stored, NEW) and not password_matches(stored, "a long passphrase")


def test_user_passwd_signs_the_user_out_everywhere(cli, admin, monkeypatch):
    """A reset ends every session of that user: whoever held one is out."""
    _stdin(monkeypatch, NEW + "\n")
    done = cli("user", "passwd", USERS[Role.ADMIN], "--password-stdin")
    assert done.code == 0 and done.out[0]["sessions_ended"] == 1
    assert admin.get("/triage").headers["location"].startswith("/login")


def test_user_passwd_leaves_api_tokens_working(cli, desk, client, monkeypatch):
    _stdin(monkeypatch, NEW + "\n")
    assert cli("user", "passwd", USERS[Role.ADMIN], "--password-stdin").code == 0
    assert client.get("/api/v1/cases", headers=desk.bearer()).status_code == 200


def test_user_passwd_is_audited(console_user, cli, monkeypatch, database_url):
    _stdin(monkeypatch, NEW + "\n")
    cli("user", "passwd", "ops@desk.example", "--password-stdin")
    engine = create_engine(database_url)
    with engine.connect() as conn:
        actors = conn.execute(text("SELECT actor FROM audit_events WHERE action = 'user.passwd'")
                              ).scalars().all()
    engine.dispose()
    assert len(actors) == 1 and actors[0].startswith("cli:")


def test_user_passwd_for_an_unknown_user_says_so(cli, monkeypatch):
    _stdin(monkeypatch, NEW + "\n")
    done = cli("user", "passwd", "nobody@desk.example", "--password-stdin")
    assert done.code == 1 and "no user nobody@desk.example" in done.err


def test_user_passwd_refuses_a_short_password(console_user, cli, monkeypatch, database_url):
    before = _stored_hash(database_url, "ops@desk.example")
    _stdin(monkeypatch, "short\n")
    done = cli("user", "passwd", "ops@desk.example", "--password-stdin")
    assert done.code == 1 and "at least 10 characters" in done.err
    assert _stored_hash(database_url, "ops@desk.example") == before


def test_user_passwd_without_a_terminal_asks_for_password_stdin(console_user, cli,
                                                                monkeypatch):
    """No prompt can be shown to a pipe: say which option to use instead of hanging."""
    _stdin(monkeypatch, NEW + "\n")
    done = cli("user", "passwd", "ops@desk.example")
    assert done.code == 1 and "--password-stdin" in done.err


def test_user_passwd_without_an_email_is_a_usage_error(cli):
    done = cli("user", "passwd", "--password-stdin")
    assert done.code == 2 and "email" in done.err


def test_user_list_shows_each_user_without_secrets(console_user, cli):
    listed = cli("user", "list")
    assert listed.code == 0 and len(listed.out) == 1
    line = listed.out[0]
    assert {k: line[k] for k in ("email", "role", "disabled", "password", "last_login")} == {
        "email": "ops@desk.example", "role": "analyst", "disabled": False, "password": True,
        "last_login": None}
    assert line["created"] and "argon2" not in str(listed.out)


def test_user_list_shows_the_last_sign_in(cli, admin):
    lines = {line["email"]: line for line in cli("user", "list").out}
    assert lines[USERS[Role.ADMIN]]["last_login"] is not None
    assert lines[USERS[Role.ANALYST]]["last_login"] is None


def test_a_disabled_user_cannot_sign_in(cli, desk, client):
    done = cli("user", "disable", USERS[Role.ADMIN])
    assert done.code == 0 and done.out[0]["disabled"] is True
    assert sign_in(client).status_code == 401


def test_disabling_ends_the_users_sessions(cli, admin):
    assert cli("user", "disable", USERS[Role.ADMIN]).out[0]["sessions_ended"] == 1
    assert admin.get("/triage").headers["location"].startswith("/login")


def test_a_disabled_users_api_tokens_stop_working(cli, desk, client):
    cli("user", "disable", USERS[Role.ADMIN])
    assert client.get("/api/v1/cases", headers=desk.bearer()).status_code == 401


def test_an_enabled_user_signs_in_again(cli, desk, client):
    cli("user", "disable", USERS[Role.ADMIN])
    done = cli("user", "enable", USERS[Role.ADMIN])
    assert done.code == 0 and done.out[0]["disabled"] is False
    assert sign_in(client).status_code == 303


def test_user_list_shows_who_is_disabled(console_user, cli):
    cli("user", "disable", "ops@desk.example")
    assert cli("user", "list").out[0]["disabled"] is True


def test_disabling_an_unknown_user_says_so(cli):
    done = cli("user", "disable", "nobody@desk.example")
    assert done.code == 1 and "no user nobody@desk.example" in done.err


def test_token_create_prints_the_id_that_token_list_shows(console_user, cli):
    made = cli("token", "create", "ops@desk.example", "--name", "grafana").out[0]
    listed = cli("token", "list", "ops@desk.example").out
    assert [(t["id"], t["name"], t["revoked"]) for t in listed] == [(made["id"], "grafana",
                                                                      None)]
    assert made["token"] not in str(listed)


def test_token_list_for_an_unknown_user_says_so(cli):
    done = cli("token", "list", "nobody@desk.example")
    assert done.code == 1 and "no user" in done.err


def test_a_revoked_token_is_refused_by_the_api(cli, desk, client):
    token_id = cli("token", "list", USERS[Role.ADMIN]).out[0]["id"]
    done = cli("token", "revoke", str(token_id))
    assert done.code == 0 and done.out[0]["revoked"] is not None
    assert client.get("/api/v1/cases", headers=desk.bearer()).status_code == 401


def test_revoking_an_unknown_token_revokes_none_of_the_others(console_user, cli):
    """All or nothing: a typo in one id leaves every token as it was."""
    made = cli("token", "create", "ops@desk.example").out[0]
    done = cli("token", "revoke", str(made["id"]), "999")
    assert done.code == 1 and "no API token 999" in done.err and done.out == []
    assert cli("token", "list").out[0]["revoked"] is None


def test_token_revoke_needs_a_numeric_id(cli):
    done = cli("token", "revoke", "grafana")
    assert done.code == 2 and "invalid int value" in done.err
