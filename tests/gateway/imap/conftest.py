"""Fixtures for the IMAP poller: a real Dovecot on loopback, a user per test, running pollers.

One Dovecot serves the whole session (each test gets its own user, hence its own Maildir); tests
that kill the server or change its capabilities start their own with ``dovecot_factory``.
Without the ``dovecot`` binary the tests skip, except in CI (TICKETGATE_REQUIRE_SERVICES=1) where
they fail: the issue asks for these tests to run against the real server.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pytest
from imapclient import IMAPClient
from sqlalchemy import func, select

from gateway.imap import Backoff, FolderDrain, ImapPoller
from gateway.imap.poller import DrainFactory
from tests.gateway.imap.dovecot import Dovecot, dovecot_binary
from workflows.domain import MessageStatus
from workflows.inbound.dispatch import EmbeddedWorker
from workflows.runtime import Runtime
from workflows.settings import ImapAccount
from workflows.storage.models import InboundMessage

CARE = "care@desk.example"
WAIT = 30.0  # generous: a loaded 2-core machine may be slow, a correct poller never this slow
FAST_BACKOFF = Backoff(initial=0.1, cap=1.0)


def _binary() -> str:
    binary = dovecot_binary()
    if binary:
        return binary
    if os.environ.get("TICKETGATE_REQUIRE_SERVICES") == "1":
        pytest.fail("dovecot is required (TICKETGATE_REQUIRE_SERVICES=1) but is not installed "
                    "(Debian package dovecot-imapd)")
    pytest.skip("dovecot not installed (Debian package dovecot-imapd)")


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    server = Dovecot(_binary())
    try:
        server.start()
        yield server
    finally:
        server.cleanup()


@pytest.fixture
def dovecot_factory() -> Iterator[Callable[..., Dovecot]]:
    """``dovecot_factory(extra_config="")``: a started server of this test's own."""
    servers: list[Dovecot] = []

    def make(extra_config: str = "") -> Dovecot:
        server = Dovecot(_binary(), extra_config=extra_config)
        servers.append(server)
        server.start()
        return server

    yield make
    for server in servers:
        server.cleanup()


@dataclass(frozen=True)
class ImapUser:
    server: Dovecot
    name: str
    password: str

    def client(self) -> IMAPClient:
        return self.server.client(self.name, self.password)

    def account(self, **overrides: Any) -> ImapAccount:
        values: dict[str, Any] = {
            "name": self.name, "host": self.server.host, "port": self.server.port,
            "user": self.name, "password": self.password, "mailbox": CARE, "tls": False,
            "batch_size": 10, "poll_interval": 2.0, "timeout": 10.0, **overrides}
        return ImapAccount(**values)

    def append(self, *raws: bytes, folder: str = "INBOX") -> None:
        with self.client() as client:
            for raw in raws:
                client.append(folder, raw)

    def count(self, folder: str, *criteria: str) -> int:
        """How many messages in ``folder`` match the IMAP SEARCH ``criteria`` (default: all)."""
        with self.client() as client:
            client.select_folder(folder, readonly=True)
            return len(client.search(list(criteria) or ["ALL"]))

    def message_ids(self, folder: str) -> list[str]:
        """The Message-ID of every message in ``folder`` (an empty list if it is missing)."""
        with self.client() as client:
            if not client.folder_exists(folder):
                return []
            client.select_folder(folder, readonly=True)
            uids = client.search(["ALL"])
            fetched = client.fetch(uids, [b"BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"]) if uids else {}
        # A message the poller moves away between our SEARCH and FETCH comes back without its
        # header (Dovecot answers NIL for it): it has left the folder, so it is not listed.
        return sorted(
            header.decode().split(":", 1)[1].strip()
            for data in fetched.values()
            if (header := data.get(b"BODY[HEADER.FIELDS (MESSAGE-ID)]")) is not None)


def make_user(server: Dovecot) -> ImapUser:
    return ImapUser(server, *server.take_user())


@pytest.fixture
def imap_user(dovecot: Dovecot) -> ImapUser:
    """A fresh user (empty Maildir) on the shared server."""
    return make_user(dovecot)


@pytest.fixture
def worker(rt: Runtime) -> Iterator[EmbeddedWorker]:
    """The embedded dispatcher: processes what the poller submits, on its own thread."""
    embedded = EmbeddedWorker(rt)
    embedded.start()
    yield embedded
    embedded.stop(timeout=WAIT)


@dataclass(frozen=True)
class RunningPoller:
    poller: ImapPoller
    thread: threading.Thread

    def halt(self) -> None:
        self.poller.stop.set()
        self.thread.join(WAIT)
        assert not self.thread.is_alive(), f"{self.thread.name} did not stop"


RunPoller = Callable[..., RunningPoller]


@pytest.fixture
def run_poller(rt: Runtime, worker: EmbeddedWorker) -> Iterator[RunPoller]:
    """``run_poller(account, drain_factory=FolderDrain)``: a poller on a thread of its own,
    reconnecting fast. Every poller is stopped, and must have ended, at teardown."""
    started: list[RunningPoller] = []

    def run(account: ImapAccount, drain_factory: DrainFactory = FolderDrain) -> RunningPoller:
        poller = ImapPoller(rt, worker, account, threading.Event(), backoff=FAST_BACKOFF,
                            drain_factory=drain_factory)
        thread = threading.Thread(target=poller.run, name=f"test-imap-{account.name}")
        thread.start()
        started.append(RunningPoller(poller, thread))
        return started[-1]

    yield run
    for running in started:
        running.poller.stop.set()
    for running in started:
        running.halt()


def counting_fetches(fetched: list[int]) -> type[FolderDrain]:
    """A drain that appends every UID it fetches to ``fetched``."""

    class Counting(FolderDrain):
        def fetch_batch(self, uids: Sequence[int]) -> dict[int, bytes]:
            fetched.extend(uids)
            return super().fetch_batch(uids)

    return Counting


def wait_until(condition: Callable[[], bool], what: str, timeout: float = WAIT) -> None:
    """Poll ``condition`` until it holds; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:g}s: {what}")
        time.sleep(0.05)


def inbound_rows(rt: Runtime) -> list[InboundMessage]:
    with rt.db.transaction() as session:
        return list(session.scalars(select(InboundMessage).order_by(InboundMessage.id)))


def count_unprocessed(rt: Runtime) -> int:
    with rt.db.transaction() as session:
        return session.scalar(select(func.count()).select_from(InboundMessage).where(
            InboundMessage.status.in_((MessageStatus.RECEIVED, MessageStatus.PROCESSING)))) or 0
