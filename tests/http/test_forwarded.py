"""X-Forwarded-For is believed only from configured proxies (issue 12, defect 5).

A client that may name its own address through the header would start every login attempt
from a fresh address and never meet the per-address limit.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import select

from gateway.http.accounts import MAX_IP_FAILURES, Role
from gateway.http.server import start_http_server
from tests.http.conftest import PASSWORD, USERS, csrf_of
from workflows.storage.models import LoginAttempt


def _spray(client: httpx.Client) -> httpx.Response:
    """MAX_IP_FAILURES wrong guesses, each claiming another address, then a right password
    from yet another one."""
    form = client.get("/login")
    token = csrf_of(form.text)
    for i in range(MAX_IP_FAILURES):
        client.post("/login", data={"email": f"u{i}@desk.example", "password": "guess",
                                    "csrf_token": token},
                    headers={"X-Forwarded-For": f"203.0.113.{i + 1}"})
    return client.post("/login", data={"email": USERS[Role.ANALYST], "password": PASSWORD,
                                       "csrf_token": token, "next": "/"},
                       headers={"X-Forwarded-For": "198.51.100.7"})


def _attempt_addresses(desk) -> set[str]:
    with desk.rt.db.transaction() as s:
        return set(s.scalars(select(LoginAttempt.ip)))


@pytest.fixture
def behind_proxy(desk) -> Iterator[httpx.Client]:
    """The console configured to trust a proxy on 127.0.0.1 (where the test client is)."""
    rt = dataclasses.replace(desk.rt, settings=dataclasses.replace(
        desk.rt.settings, trusted_proxies=("127.0.0.0/8",)))
    handle = start_http_server(rt, "127.0.0.1", 0)
    try:
        with httpx.Client(base_url=handle.url, follow_redirects=False, timeout=30) as c:
            yield c
    finally:
        handle.stop()


def test_forwarded_for_from_a_peer_that_is_no_proxy_does_not_void_the_login_limit(desk, client):
    """No proxy configured: the header is ignored, every attempt counts against 127.0.0.1."""
    assert _spray(client).status_code == 429
    assert _attempt_addresses(desk) == {"127.0.0.1"}


def test_forwarded_for_from_a_configured_proxy_names_the_client(desk, behind_proxy):
    """Behind a trusted proxy each forwarded client has a limit of its own."""
    assert _spray(behind_proxy).status_code == 303
    assert "127.0.0.1" not in _attempt_addresses(desk)
    assert "203.0.113.1" in _attempt_addresses(desk)
