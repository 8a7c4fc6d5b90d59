"""Console and API fixtures: the server on the test's runtime, users of each role, a signed-in
client. Real components throughout: the database, argon2, uvicorn on a free loopback port, and
an HTTP client speaking to it over a socket."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from gateway.http.accounts import Role, add_user, create_api_token
from gateway.http.server import HttpServerHandle, start_http_server
from workflows.runtime import Runtime

PASSWORD = "correct horse battery"
USERS = {Role.ADMIN: "admin@desk.example", Role.ANALYST: "analyst@desk.example",
         Role.SCHEDULER: "scheduler@desk.example"}
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass(frozen=True)
class Desk:
    rt: Runtime
    tokens: dict[Role, str]

    def bearer(self, role: Role = Role.ADMIN) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}


@pytest.fixture
def desk(rt: Runtime, people: dict[str, str]) -> Desk:
    """Acme/Globex and their contacts, one user per role with a password and a token."""
    tokens = {}
    with rt.db.transaction() as s:
        for role, email in USERS.items():
            add_user(s, email=email, role=role, password=PASSWORD, now=rt.now(), actor="test")
            tokens[role] = create_api_token(s, email=email, name="test", now=rt.now(),
                                            actor="test")
    return Desk(rt, tokens)


@pytest.fixture
def server(desk: Desk) -> Iterator[HttpServerHandle]:
    handle = start_http_server(desk.rt, "127.0.0.1", 0)
    yield handle
    handle.stop()


@pytest.fixture
def client(server: HttpServerHandle) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, follow_redirects=False, timeout=30) as c:
        yield c


def csrf_of(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def sign_in(client: httpx.Client, role: Role = Role.ADMIN, password: str = PASSWORD):
    form = client.get("/login")
    return client.post("/login", data={"email": USERS[role], "password": password,
                                       "csrf_token": csrf_of(form.text), "next": "/"})


@pytest.fixture
def admin(client: httpx.Client) -> httpx.Client:
    """The client, signed in as the admin."""
    assert sign_in(client).status_code == 303
    return client


# The CLI's fixture (`ticketgate` in-process on a fresh home) for the user and token commands.
from tests.cli.conftest import cli  # noqa: E402, F401
