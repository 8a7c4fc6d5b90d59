"""One thread per IMAP account: connect, drain, wait for mail (IDLE or a timed poll), repeat.

Place in the flow: an edge that feeds ``intake.accept_many`` like the SMTP listener does;
``gateway.imap.start_pollers`` starts one ``ImapPoller`` per ``[[imap]]`` account for
``ticketgate serve``. The work on the folder itself is ``gateway.imap.drain.FolderDrain``.

Whatever goes wrong with one account (wrong password, server down, connection cut, a folder
deleted under us) is caught at this thread's boundary, logged, and retried after an exponential,
capped, jittered backoff: the other accounts never notice, and the mail stays on the server.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

from gateway.imap.connection import close_quietly, connect
from gateway.imap.drain import FolderDrain
from gateway.oauth2 import OAuth2TokenError
from workflows.inbound.dispatch import Dispatcher
from workflows.runtime import Runtime
from workflows.settings import ImapAccount
from workflows.storage.db import DatabaseUnavailable

log = logging.getLogger(__name__)

# RFC 2177: servers may drop a client idle for 30 minutes, so IDLE must be re-issued well before
# 29; five minutes also survives NAT boxes and proxies that forget quiet connections sooner.
IDLE_RENEW = 300.0
IDLE_CHECK = 1.0  # how long one wait inside IDLE lasts: the bound on noticing ``stop``
# Failures the log explains in one line; anything else is logged with its traceback.
EXPECTED_ERRORS = (IMAPClientError, OSError, OAuth2TokenError, DatabaseUnavailable)

DrainFactory = Callable[[Runtime, Dispatcher, ImapAccount, IMAPClient, threading.Event],
                        FolderDrain]


@dataclass(frozen=True, slots=True)
class Backoff:
    """Delay before reconnect attempt n: doubling from ``initial`` up to ``cap``, jittered."""

    initial: float = 1.0
    cap: float = 120.0

    def delay(self, failures: int, rng: random.Random) -> float:
        ceiling = min(self.cap, self.initial * 2 ** min(max(failures - 1, 0), 30))
        # "Equal jitter": at least half the ceiling, so a down server is not hammered, and
        # spread, so many pollers do not reconnect in lockstep after an outage.
        return rng.uniform(ceiling / 2, ceiling)


class ImapPoller:
    """Keeps one account drained until ``stop`` is set; ``run`` is the thread's target."""

    def __init__(self, rt: Runtime, dispatcher: Dispatcher, account: ImapAccount,
                 stop: threading.Event, *, backoff: Backoff | None = None,
                 idle_renew: float = IDLE_RENEW,
                 drain_factory: DrainFactory = FolderDrain) -> None:
        self.rt = rt
        self.dispatcher = dispatcher
        self.account = account
        self.stop = stop
        self.backoff = backoff or Backoff()
        self.idle_renew = idle_renew
        self.drain_factory = drain_factory
        self.failures = 0  # consecutive failed connections; 0 once a folder is selected
        self._rng = random.Random()

    def run(self) -> None:
        name = self.account.name
        while not self.stop.is_set():
            try:
                self.serve_connection()
            except Exception as exc:  # thread boundary: log, keep the mail on the server, retry
                self.failures += 1
                delay = self.backoff.delay(self.failures, self._rng)
                if isinstance(exc, EXPECTED_ERRORS):
                    log.warning("imap %s: %s: %s; retrying in %.1fs", name,
                                type(exc).__name__, exc, delay)
                else:
                    log.exception("imap %s: unexpected failure; retrying in %.1fs", name, delay)
                self.stop.wait(delay)
        log.info("imap %s: stopped", name)

    def serve_connection(self) -> None:
        """One connection's life: drain, wait for mail, drain again, until stop or an error."""
        client = connect(self.account)
        try:
            drain = self.drain_factory(self.rt, self.dispatcher, self.account, client, self.stop)
            drain.open()
            self.failures = 0
            can_idle = self.account.idle and b"IDLE" in client.capabilities()
            log.info("imap %s: watching %s (UIDVALIDITY %s, after UID %s, %s, %s)",
                     self.account.name, drain.folder, drain.uidvalidity, drain.last_uid,
                     drain.disposal.value, "IDLE" if can_idle else "polling")
            while not self.stop.is_set():
                drain.drain()
                if self.stop.is_set():
                    break
                announced = False
                if can_idle:
                    announced = self.wait_in_idle(client)
                else:
                    self.stop.wait(self.account.poll_interval)
                if not announced and not self.stop.is_set():
                    # The fallback poll selects the folder again: a session that keeps a folder
                    # selected is never told it was deleted and re-created under a new
                    # UIDVALIDITY (Dovecot just shows the old, empty view), a new SELECT is.
                    drain.open()
        finally:
            close_quietly(client)

    def wait_in_idle(self, client: IMAPClient) -> bool:
        """IDLE until the server announces mail (True), the fallback poll is due, or ``stop``.

        The fallback poll (``poll_interval``) bounds the delay when an IDLE silently stops
        delivering (a known imapclient/NAT failure mode) and for mail that arrived between the
        last SEARCH and the IDLE command: Dovecot 2.3 announces that only at its next periodic
        check (``mailbox_idle_check_interval``, 30 s), not when IDLE starts. Ending IDLE also
        tests the connection: ``idle_done`` waits for the answer under the socket timeout.
        """
        limit = max(IDLE_CHECK, min(self.idle_renew, self.account.poll_interval))
        deadline = time.monotonic() + limit
        client.idle()
        try:
            while not self.stop.is_set():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                wait = min(IDLE_CHECK, remaining)
                began = time.monotonic()
                responses = client.idle_check(timeout=wait)
                if any(_announces_mail(r) for r in responses):
                    return True
                if not responses and time.monotonic() - began < wait / 2:
                    # Readable but no response line: imapclient swallows EOF here, so the
                    # server has most likely gone; leaving IDLE makes that an error.
                    break
        finally:
            client.idle_done()
        return False


def _announces_mail(response: tuple[object, ...]) -> bool:
    """``* n EXISTS`` (RFC 3501 7.3.1): the folder holds new messages."""
    return len(response) >= 2 and response[1] == b"EXISTS"


def start_pollers(rt: Runtime, dispatcher: Dispatcher, stop: threading.Event, *,
                  backoff: Backoff | None = None) -> list[threading.Thread]:
    """Start one daemon thread per ``settings.imap`` account; they end once ``stop`` is set."""
    accounts = rt.settings.imap
    names = [a.name for a in accounts]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        # The progress of a folder is stored under the account name: two accounts sharing
        # one would overwrite each other's last UID.
        raise ValueError(f"IMAP account names must be unique; repeated: {', '.join(repeated)}")
    threads = []
    for account in accounts:
        poller = ImapPoller(rt, dispatcher, account, stop, backoff=backoff)
        thread = threading.Thread(target=poller.run, name=f"imap-{account.name}", daemon=True)
        thread.start()
        threads.append(thread)
    return threads
