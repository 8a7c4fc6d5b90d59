"""The outbound relay transports against a real aiosmtpd with TLS and AUTH on loopback.

``smtp+starttls://`` and ``smtps://`` with AUTH PLAIN, LOGIN and XOAUTH2, the certificate
checked (a self-signed one trusted with ``ca_file``), and every refusal a ``TransportError``
before a password leaves the machine in clear text.
"""

from __future__ import annotations

import base64
import socket
import ssl
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as AioSMTP
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session
from sqlalchemy import select

from gateway.transport import make_transport
from tests.notices.conftest import free_port
from tests.support import open_case, post
from tests.tls_files import TlsFiles
from workflows.outbound.outbox import TransportError, send_queued
from workflows.settings import RelayCredentials
from workflows.storage.models import OutboundMessage

USER, PASSWORD, TOKEN = "desk@acme.example", "s3cret pass", "ya29.token"
MAIL = b"Subject: hi\r\nMessage-ID: <1@desk>\r\n\r\nHello\r\n"


@dataclass
class Relay:
    """A handler that keeps what it was given and who logged in how."""

    messages: list[bytes] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)  # (mechanism, user)

    async def handle_DATA(self, server: AioSMTP, session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes)
        self.messages.append(envelope.content)
        return "250 OK"

    def authenticate(self, server: AioSMTP, session: Session, envelope: Envelope,
                     mechanism: str, auth_data: object) -> AuthResult:
        if isinstance(auth_data, LoginPassword):
            ok = (auth_data.login.decode(), auth_data.password.decode()) == (USER, PASSWORD)
            if ok:
                self.logins.append((mechanism, USER))
            return AuthResult(success=ok, handled=False)
        return AuthResult(success=False, handled=False)

    async def auth_XOAUTH2(self, server: AioSMTP, args: list[str]) -> AuthResult:
        blob = base64.b64decode(args[1]).decode()
        fields = dict(part.split("=", 1) for part in blob.split("\x01") if part)
        ok = fields.get("user") == USER and fields.get("auth") == f"Bearer {TOKEN}"
        if ok:
            self.logins.append(("XOAUTH2", USER))
        return AuthResult(success=ok, handled=False)


def _server_context(certs: TlsFiles) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(certs.cert), str(certs.key))
    return context


class _ImplicitTls(Controller):
    """aiosmtpd's own way of serving TLS from the first byte: ``ssl_context`` on the server."""

    def _trigger_server(self) -> None:
        context = ssl.create_default_context()
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        with context.wrap_socket(socket.create_connection((self.hostname, self.port),
                                                          timeout=5)) as sock:
            sock.recv(1024)


@pytest.fixture
def starttls(tls_files: TlsFiles) -> Iterator[tuple[Relay, int]]:
    relay = Relay()
    controller = Controller(relay, hostname="127.0.0.1", port=free_port(),
                            tls_context=_server_context(tls_files), require_starttls=True,
                            authenticator=relay.authenticate, auth_require_tls=True)
    controller.start()
    yield relay, controller.port
    controller.stop()


@pytest.fixture
def implicit(tls_files: TlsFiles) -> Iterator[tuple[Relay, int]]:
    relay = Relay()
    controller = _ImplicitTls(relay, hostname="127.0.0.1", port=free_port(),
                              ssl_context=_server_context(tls_files),
                              # TLS wraps the whole socket here, which aiosmtpd does not see
                              # as STARTTLS: the listener accepts nothing but TLS anyway.
                              authenticator=relay.authenticate, auth_require_tls=False)
    controller.start()
    yield relay, controller.port
    controller.stop()


def send(spec: str, creds: RelayCredentials, tmp_path: Path) -> None:
    make_transport(spec, tmp_path, creds).send(MAIL, "desk@acme.example", ["bob@x.example"],
                                                "<1@desk>")


def test_starttls_with_auth_plain_delivers(starttls, tls_files, tmp_path):
    relay, port = starttls
    creds = RelayCredentials(user=USER, password=PASSWORD, ca_file=tls_files.cert)
    send(f"smtp+starttls://127.0.0.1:{port}", creds, tmp_path)
    assert relay.logins == [("PLAIN", USER)]
    assert relay.messages[0].endswith(b"Hello\r\n")


def test_implicit_tls_with_auth_delivers(implicit, tls_files, tmp_path):
    relay, port = implicit
    creds = RelayCredentials(user=USER, password=PASSWORD, ca_file=tls_files.cert)
    send(f"smtps://127.0.0.1:{port}", creds, tmp_path)
    assert relay.logins == [("PLAIN", USER)]
    assert len(relay.messages) == 1


def test_xoauth2_takes_its_token_from_the_command(starttls, tls_files, tmp_path):
    relay, port = starttls
    command = f"{sys.executable} -c 'print(\"{TOKEN}\")'"
    creds = RelayCredentials(user=USER, oauth2_token_command=command, ca_file=tls_files.cert)
    send(f"smtp+starttls://127.0.0.1:{port}", creds, tmp_path)
    assert relay.logins == [("XOAUTH2", USER)]


def test_a_wrong_password_keeps_the_mail_queued(starttls, tls_files, tmp_path):
    relay, port = starttls
    creds = RelayCredentials(user=USER, password="wrong", ca_file=tls_files.cert)
    with pytest.raises(TransportError, match="AUTH refused: 535") as caught:
        send(f"smtp+starttls://127.0.0.1:{port}", creds, tmp_path)
    assert caught.value.temporary and relay.messages == []


def test_an_untrusted_certificate_is_refused_before_auth(starttls, tls_files, tmp_path):
    relay, port = starttls
    creds = RelayCredentials(user=USER, password=PASSWORD, ca_file=tls_files.other)
    with pytest.raises(TransportError, match=r"TLS to 127\.0\.0\.1"):
        send(f"smtp+starttls://127.0.0.1:{port}", creds, tmp_path)
    assert relay.logins == [] and relay.messages == []


def test_the_system_store_does_not_trust_a_self_signed_relay(starttls, tmp_path):
    relay, port = starttls
    with pytest.raises(TransportError, match="self-signed certificate"):
        send(f"smtp+starttls://127.0.0.1:{port}", RelayCredentials(), tmp_path)
    assert relay.messages == []


def test_starttls_not_offered_sends_nothing(tmp_path):
    relay = Relay()
    controller = Controller(relay, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        with pytest.raises(TransportError, match="does not offer STARTTLS"):
            send(f"smtp+starttls://127.0.0.1:{controller.port}", RelayCredentials(), tmp_path)
    finally:
        controller.stop()
    assert relay.messages == []


def test_credentials_over_clear_text_to_a_remote_host_are_refused(tmp_path):
    with pytest.raises(ValueError, match="clear text"):
        make_transport("smtp://relay.example.com", tmp_path,
                       RelayCredentials(user=USER, password=PASSWORD))


def test_credentials_in_the_url_are_refused(tmp_path):
    with pytest.raises(ValueError, match=r"\[relay\]"):
        make_transport(f"smtps://{USER}:pw@relay.example.com", tmp_path)


def test_each_scheme_has_its_standard_port(tmp_path):
    ports = {spec: make_transport(spec, tmp_path).port  # type: ignore[attr-defined]
             for spec in ("smtp://h", "smtps://h", "smtp+starttls://h")}
    assert ports == {"smtp://h": 25, "smtps://h": 465, "smtp+starttls://h": 587}


@dataclass
class _RefusesEhloAfterTls(Relay):
    """A relay whose EHLO after STARTTLS fails (RFC 3207 4.2: the client must ask again)."""

    ehlos: int = 0

    async def handle_EHLO(self, server: AioSMTP, session: Session, envelope: Envelope,
                          hostname: str, responses: list[str]) -> list[str]:
        self.ehlos += 1
        return responses if self.ehlos == 1 else ["502 5.5.1 EHLO not implemented"]


@pytest.fixture
def refuses_ehlo_after_tls(tls_files: TlsFiles) -> Iterator[tuple[_RefusesEhloAfterTls, int]]:
    relay = _RefusesEhloAfterTls()
    controller = Controller(relay, hostname="127.0.0.1", port=free_port(),
                            tls_context=_server_context(tls_files), require_starttls=True)
    controller.start()
    yield relay, controller.port
    controller.stop()


def test_an_ehlo_refused_after_starttls_is_a_temporary_error(refuses_ehlo_after_tls, tls_files,
                                                               tmp_path):
    """A refused EHLO after STARTTLS is the relay's answer, a temporary ``TransportError``;
    before, it escaped as a ``TypeError``."""
    relay, port = refuses_ehlo_after_tls
    with pytest.raises(TransportError, match="EHLO after STARTTLS") as caught:
        send(f"smtp+starttls://127.0.0.1:{port}", RelayCredentials(ca_file=tls_files.cert),
             tmp_path)
    assert caught.value.temporary and relay.ehlos == 2 and relay.messages == []


def test_the_outbox_defers_a_mail_whose_relay_refuses_ehlo_after_starttls(
        refuses_ehlo_after_tls, tls_files, tmp_path, rt, people):
    """Through the outbox: the mail waits for its retry with the reason recorded (before, the
    ``TypeError`` left the row claimed, no attempt counted, and ended the sending run)."""
    _relay, port = refuses_ehlo_after_tls
    post(rt, open_case(rt))  # sent by the file transport; queue it again for the relay
    with rt.db.transaction() as s:
        row = s.scalars(select(OutboundMessage)).one()
        row.status, row.attempts, out_id = "queued", 0, row.id
    transport = make_transport(f"smtp+starttls://127.0.0.1:{port}", tmp_path,
                               RelayCredentials(ca_file=tls_files.cert))
    assert send_queued(rt.db, transport, "care@desk.example").deferred == 1
    with rt.db.transaction() as s:
        row = s.get(OutboundMessage, out_id)
        assert (row.status, row.attempts) == ("deferred", 1)
        assert "refused EHLO after STARTTLS" in row.last_error
