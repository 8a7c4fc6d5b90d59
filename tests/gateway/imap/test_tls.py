"""IMAP over TLS against a real Dovecot: implicit TLS (RFC 8314) and STARTTLS (RFC 3501 6.2.1)
with a private CA, and every way TLS is refused without a credential ever leaving the client.

The server certificate is self-signed, made here with the ``openssl`` CLI, the way a desk with an
internal CA or an appliance certificate would hand it over: ``ca_file`` names it. Refusals are
proven twice: no LOGIN/AUTHENTICATE left the client (a spy on imapclient's login methods) and
Dovecot logged no authentication attempt for the user (its log names every user that tried).
"""

from __future__ import annotations

import dataclasses
import logging
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from imapclient import IMAPClient

from gateway.imap.connection import ImapTlsError, tls_context
from tests.gateway.imap.conftest import (
    ImapUser,
    RunPoller,
    _binary,
    count_unprocessed,
    inbound_rows,
    make_user,
    wait_until,
)
from tests.gateway.imap.dovecot import Dovecot
from tests.support import new_mail
from tests.tls_files import TlsFiles
from workflows.runtime import Runtime
from workflows.settings import ImapAccount, ImapTls

ALICE = "alice@acme.example"


@pytest.fixture(scope="module")
def tls_dovecot(tls_files: TlsFiles) -> Iterator[Dovecot]:
    """``ssl = yes``: STARTTLS on ``port``, implicit TLS on ``imaps_port``."""
    server = Dovecot(_binary(), tls_cert=tls_files.cert, tls_key=tls_files.key)
    try:
        server.start()
        yield server
    finally:
        server.cleanup()


@dataclass(frozen=True)
class Login:
    thread: str  # a poller's is "test-imap-<account>"; the test's own helper logins are not
    user: str
    under_tls: bool


@pytest.fixture
def logins(monkeypatch: pytest.MonkeyPatch) -> list[Login]:
    """Every LOGIN/AUTHENTICATE any IMAPClient attempts during the test, before it is sent."""
    seen: list[Login] = []
    login, oauth2_login = IMAPClient.login, IMAPClient.oauth2_login

    def record(client: IMAPClient, user: str) -> None:
        seen.append(Login(threading.current_thread().name, user,
                          isinstance(client._imap.sock, ssl.SSLSocket)))

    def spy_login(self: IMAPClient, username: str, password: str) -> Any:
        record(self, username)
        return login(self, username, password)

    def spy_oauth2(self: IMAPClient, user: str, access_token: str, *args: Any) -> Any:
        record(self, user)
        return oauth2_login(self, user, access_token, *args)

    monkeypatch.setattr(IMAPClient, "login", spy_login)
    monkeypatch.setattr(IMAPClient, "oauth2_login", spy_oauth2)
    return seen


def poller_logins(logins: list[Login], user: ImapUser) -> list[Login]:
    return [entry for entry in logins if entry.thread == f"test-imap-{user.name}"]


def auth_attempts(server: Dovecot, user: str) -> list[str]:
    """Dovecot's imap-login lines naming ``user``: one per login or failed authentication."""
    text = (server.root / "dovecot.log").read_text(errors="replace")
    return [line for line in text.splitlines()
            if "imap-login:" in line and f"user=<{user}>" in line]


def mail(tag: str) -> bytes:
    return new_mail(sender=ALICE, subject=f"Help {tag}", message_id=f"<{tag}@acme.example>")


def tls_port(server: Dovecot, mode: str) -> int:
    assert server.imaps_port is not None
    return server.imaps_port if mode == "implicit" else server.port


@pytest.mark.parametrize("mode", ["implicit", "starttls"])
def test_mail_is_fetched_over_tls_trusting_ca_file(rt: Runtime, tls_dovecot: Dovecot,
                                                  tls_files: TlsFiles, run_poller: RunPoller,
                                                  logins: list[Login], mode: str):
    """A private CA in ``ca_file`` is enough for both modes; the login happens under TLS."""
    user = make_user(tls_dovecot)
    account = user.account(tls=mode, port=tls_port(tls_dovecot, mode), ca_file=tls_files.cert)
    assert account.tls is ImapTls(mode)
    user.append(mail(f"{mode}0"))
    run_poller(account)
    wait_until(lambda: user.message_ids("Processed") == [f"<{mode}0@acme.example>"],
               f"the mail is fetched over {mode} TLS and moved")
    wait_until(lambda: count_unprocessed(rt) == 0, "the mail is processed")
    assert [row.message_id for row in inbound_rows(rt)] == [f"{mode}0@acme.example"]
    # The poller logged in under TLS, and Dovecot saw it that way too ("TLS" in its login line;
    # the test helper's clear-text loopback logins say "secured").
    used = poller_logins(logins, user)
    assert used and all(entry.under_tls for entry in used)
    assert any(", TLS," in line and "Login:" in line
               for line in auth_attempts(tls_dovecot, user.name))


@pytest.mark.parametrize(("mode", "trust", "host", "why"), [
    ("implicit", None, "127.0.0.1", "self-signed certificate); trust the server's CA"),
    ("starttls", None, "127.0.0.1", "self-signed certificate); trust the server's CA"),
    ("implicit", "other", "127.0.0.1", "; not trusted by ca_file"),
    ("starttls", "server", "localhost", "; the certificate does not name localhost"),
])
def test_a_certificate_that_does_not_verify_is_refused_before_login(
        rt: Runtime, tls_dovecot: Dovecot, tls_files: TlsFiles, run_poller: RunPoller,
        logins: list[Login], caplog: pytest.LogCaptureFixture,
        mode: str, trust: str | None, host: str, why: str):
    """Unknown CA, wrong CA, wrong name: an error for that mailbox, retried with backoff; no
    credential is sent, nothing is fetched, and a good mailbox beside it keeps flowing."""
    bad, good = make_user(tls_dovecot), make_user(tls_dovecot)
    bad.append(mail("kept"))
    helper_logins = len(auth_attempts(tls_dovecot, bad.name))
    ca_file = {"other": tls_files.other, "server": tls_files.cert, None: None}[trust]
    with caplog.at_level(logging.WARNING, logger="gateway.imap"):
        refused = run_poller(bad.account(host=host, tls=mode, port=tls_port(tls_dovecot, mode),
                                         ca_file=ca_file))
        run_poller(good.account(tls="implicit", port=tls_dovecot.imaps_port,
                                ca_file=tls_files.cert))
        good.append(mail("good"))
        wait_until(lambda: good.message_ids("Processed") == ["<good@acme.example>"],
                   "the good mailbox flows")
        wait_until(lambda: refused.poller.failures >= 2, "the bad mailbox is retried")
    assert refused.thread.is_alive()
    errors = [r.getMessage() for r in caplog.records if r.getMessage().startswith(
        f"imap {bad.name}: ImapTlsError: {mode} TLS to {host}:")]
    assert errors and all(why in e and "not logged in" in e for e in errors), caplog.text
    assert poller_logins(logins, bad) == []
    assert len(auth_attempts(tls_dovecot, bad.name)) == helper_logins  # Dovecot saw no attempt
    assert bad.count("INBOX") == 1
    assert [row.message_id for row in inbound_rows(rt)] == ["good@acme.example"]


def test_starttls_is_refused_when_the_server_offers_none(rt: Runtime, imap_user: ImapUser,
                                                         run_poller: RunPoller,
                                                         logins: list[Login],
                                                         caplog: pytest.LogCaptureFixture):
    """A server with ``ssl = no`` (or a man in the middle stripping STARTTLS): no clear-text
    login as a fallback, an error for that mailbox instead."""
    imap_user.append(mail("plain"))
    helper_logins = len(auth_attempts(imap_user.server, imap_user.name))
    with caplog.at_level(logging.WARNING, logger="gateway.imap"):
        running = run_poller(imap_user.account(tls="starttls"))
        wait_until(lambda: running.poller.failures >= 2, "the mailbox is retried")
    assert any(r.getMessage().startswith(f"imap {imap_user.name}: ImapTlsError: starttls asked "
                                         "for, but 127.0.0.1:") and
               "does not offer STARTTLS" in r.getMessage() for r in caplog.records), caplog.text
    assert poller_logins(logins, imap_user) == []
    assert len(auth_attempts(imap_user.server, imap_user.name)) == helper_logins
    assert imap_user.count("INBOX") == 1
    assert inbound_rows(rt) == []


def test_clear_text_stays_possible_when_asked_for(imap_user: ImapUser,
                                                  run_poller: RunPoller):
    """``tls = "none"`` (the tests' own loopback server) still logs in without TLS."""
    imap_user.append(mail("none0"))
    run_poller(imap_user.account(tls="none"))
    wait_until(lambda: imap_user.message_ids("Processed") == ["<none0@acme.example>"],
               "the mail is fetched in clear text")


def test_the_context_always_verifies(tls_files: TlsFiles):
    """No setting turns verification off; ``ca_file`` replaces the system store."""
    account = ImapAccount(name="care", host="imap.desk.example", user="care", mailbox="care@x",
                          password="x", ca_file=tls_files.cert)
    context = tls_context(account)
    assert (context.verify_mode, context.check_hostname) == (ssl.CERT_REQUIRED, True)
    assert len(context.get_ca_certs()) == 1  # only the file: no public CA trusted besides
    with pytest.raises(ImapTlsError, match=r"ca_file .*missing\.pem cannot be used"):
        tls_context(dataclasses.replace(account, ca_file=tls_files.cert.parent / "missing.pem"))


def test_a_missing_ca_file_is_an_error_of_that_mailbox(imap_user: ImapUser,
                                                       run_poller: RunPoller,
                                                       tls_files: TlsFiles,
                                                       caplog: pytest.LogCaptureFixture):
    """A typo in ``ca_file`` is reported in the log and retried, not a crash of the gateway."""
    with caplog.at_level(logging.WARNING, logger="gateway.imap"):
        running = run_poller(imap_user.account(tls="implicit",
                                               ca_file=tls_files.cert.parent / "missing.pem"))
        wait_until(lambda: running.poller.failures >= 2, "the mailbox is retried")
    assert "cannot be used" in caplog.text and running.thread.is_alive()
