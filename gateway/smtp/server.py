"""The SMTP/LMTP listener: an asyncio server of aiosmtpd sessions on its own thread.

Place in the flow: the front door of the SMTP edge. It owns the event loop, the listening
socket, the session limit, STARTTLS and AUTH; ``IntakeHandler`` decides what each command gets
and ``GroupCommitWriter`` makes DATA durable before the 250. ``ticketgate serve`` starts one;
tests start one on port 0.

Why not aiosmtpd's ``Controller``: it cancels every task when it stops, which would cut sessions
that are waiting for their commit. Here ``stop`` closes the listening socket first, lets
sessions in DATA receive their reply, then flushes the writer (RFC 5321 6.1 either way: no 250
without a commit, and every commit we started is finished).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import ssl
import threading
import time
from typing import Any, cast

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword, Session
from aiosmtpd.smtp import Envelope as SmtpEnvelope

from gateway.netaddr import is_loopback
from gateway.smtp import replies
from gateway.smtp.handler import IntakeHandler
from gateway.smtp.limits import SessionLimits
from gateway.smtp.protocol import LmtpProtocol, SessionFactory, SmtpProtocol
from gateway.smtp.writer import GroupCommitWriter
from workflows.settings import SmtpSettings

log = logging.getLogger(__name__)

IDENT = "ticketgate ESMTP"


class _Busy(asyncio.Protocol):
    """Answers ``421 4.3.2`` and hangs up: the session limit is reached (RFC 5321 3.8)."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        writer = cast(asyncio.WriteTransport, transport)  # uvloop's is not a subclass
        writer.write(replies.TOO_BUSY.encode("ascii") + b"\r\n")
        writer.close()


def make_tls_context(cert: str, key: str) -> ssl.SSLContext:
    """A server context for STARTTLS (RFC 3207) from a PEM certificate chain and key."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


class PasswordAuthenticator:
    """AUTH PLAIN/LOGIN (RFC 4954) against the configured (user, password) pairs."""

    def __init__(self, users: tuple[tuple[str, str], ...]) -> None:
        self._users = {user.encode(): password.encode() for user, password in users}

    def __call__(self, server: SMTP, session: Session, envelope: SmtpEnvelope, mechanism: str,
                 auth_data: Any) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        expected = self._users.get(auth_data.login)
        # compare_digest: the time taken does not tell how much of the password was right.
        if expected is not None and hmac.compare_digest(expected, auth_data.password):
            return AuthResult(success=True, auth_data=auth_data.login.decode("utf-8", "replace"))
        log.info("AUTH %s failed", mechanism)
        return AuthResult(success=False, handled=False)


class SmtpListener:
    """Runs the listener on a thread of its own; ``start`` returns once it is accepting."""

    def __init__(self, smtp: SmtpSettings, handler: IntakeHandler, writer: GroupCommitWriter,
                 ) -> None:
        self.smtp = smtp
        self.handler = handler
        self.writer = writer
        self.sessions: set[Any] = set()
        self.address: tuple[str, int] = (smtp.host, smtp.port)
        self._loop = _new_loop()
        self._server: asyncio.Server | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, name="ticketgate-smtp",
                                        daemon=True)
        self._tls = (make_tls_context(str(smtp.tls_cert), str(smtp.tls_key))
                     if smtp.tls_cert and smtp.tls_key else None)
        self._limits = SessionLimits.of(smtp)
        auth = smtp.auth_required
        self._new_session = SessionFactory(
            LmtpProtocol if smtp.lmtp else SmtpProtocol,
            handler,
            hostname=smtp.hostname,  # given, so aiosmtpd never calls getfqdn per session
            ident=IDENT,
            data_size_limit=smtp.size_limit,
            enable_SMTPUTF8=True,  # RFC 6531: international addresses are common in care mail
            decode_data=False,  # the raw bytes are what we keep
            tls_context=self._tls,
            require_starttls=bool(self._tls and smtp.require_tls),
            auth_required=auth,
            authenticator=PasswordAuthenticator(smtp.auth_users) if auth else None,
            # Without AUTH configured, do not advertise mechanisms that can only fail.
            auth_exclude_mechanism=None if auth else ("LOGIN", "PLAIN"),
            timeout=smtp.idle_timeout,
            loop=self._loop,
        )

    def _session(self) -> asyncio.BaseProtocol:
        if len(self.sessions) >= self.smtp.max_sessions:
            log.warning("%d sessions open: refusing a connection with 421",
                        len(self.sessions))
            return _Busy()
        protocol: Any = self._new_session()
        if self.smtp.auth_required and is_loopback(self.smtp.host):
            # Passwords in clear are acceptable only where no one else can listen. Set after
            # construction because aiosmtpd warns (UserWarning) about the combination.
            protocol._auth_require_tls = False
        protocol.registry = self.sessions
        protocol.limits = self._limits  # per address and per session (gateway.smtp.limits)
        self.sessions.add(protocol)
        return protocol

    def start(self) -> tuple[str, int]:
        """Bind and start serving; returns the bound (host, port). Acts."""
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(self._bind(), self._loop)
        try:
            self._server = future.result(timeout=30)
        except BaseException:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop.close()
            raise
        sockname = self._server.sockets[0].getsockname()
        self.address = (sockname[0], sockname[1])
        return self.address

    async def _bind(self) -> asyncio.Server:
        return await self._loop.create_server(self._session, self.smtp.host, self.smtp.port,
                                              reuse_address=True)

    def stop(self, grace: float = 10.0) -> None:
        """Stop accepting, let sessions waiting for a commit get their reply, flush the
        writer, close the remaining sessions and the loop. Acts."""
        if not self._thread.is_alive():
            return
        self.handler.closing = True
        asyncio.run_coroutine_threadsafe(self._close_server(), self._loop).result(timeout=30)
        deadline = time.monotonic() + grace
        while self.handler.in_flight and time.monotonic() < deadline:
            time.sleep(0.02)
        self.writer.close()
        asyncio.run_coroutine_threadsafe(self._close_sessions(), self._loop).result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(30)
        self._loop.close()

    async def _close_server(self) -> None:
        if self._server is not None:
            self._server.close()

    async def _close_sessions(self) -> None:
        # The writer has resolved every commit; let those sessions write their 250 first.
        for _ in range(100):
            if not self.handler.in_flight:
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)
        for session in list(self.sessions):
            if session.transport is not None:
                session.transport.close()
        # Let connection_lost run and the session tasks finish their cancellation.
        for _ in range(50):
            await asyncio.sleep(0.01)
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            if not self.sessions and not tasks:
                break
        if self._server is not None:
            await self._server.wait_closed()


def _new_loop() -> asyncio.AbstractEventLoop:
    """uvloop when installed (about 1.24x the SMTP throughput here), else asyncio's."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()
