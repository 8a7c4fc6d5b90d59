"""`ticketgate user add` and `ticketgate token create`: the accounts the console checks."""

from __future__ import annotations

import io

import pytest


@pytest.fixture
def console_user(cli, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("a long passphrase\n"))
    return cli("user", "add", "Ops@Desk.example", "--role", "analyst", "--password-stdin")


def test_user_add_stores_a_hash_never_the_password(console_user, database_url):
    """The password read from stdin is kept only as an argon2id hash."""
    from sqlalchemy import create_engine, text

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
