"""The customer's side of the wire: a real SMTP server on loopback that keeps every mail.

Everything the desk sends (case mail, notices, reports) is judged here, on the bytes that left
the product. The sink can be told to answer a temporary failure (``451 4.7.1``, what a
greylisting MX says; RFC 5321 4.2.5) to the next deliveries, or to one recipient, so that the
desk's retry promises are tested against a real refusal.
"""

from __future__ import annotations

import email
import email.policy
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

TEMPFAIL = "451 4.7.1 Greylisted, try again later"


@dataclass(frozen=True, slots=True)
class Received:
    """One message the sink accepted: the envelope and the parsed mail."""

    seq: int
    mail_from: str
    rcpt_tos: tuple[str, ...]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        msg = email.message_from_bytes(self.raw, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        return msg

    @property
    def subject(self) -> str:
        return str(self.message["Subject"] or "")

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"] or "").strip()

    def text(self) -> str:
        part = self.message.get_body(preferencelist=("plain",))
        return part.get_content() if part is not None else ""

    def html(self) -> str | None:
        part = self.message.get_body(preferencelist=("html",))
        return part.get_content() if part is not None else None

    def html_parts(self) -> list[str]:
        """Every text/html part, wherever it sits in the MIME tree."""
        return [p.get_content() for p in self.message.walk()
                if p.get_content_type() == "text/html" and not p.is_multipart()]


class CaptureSink:
    """aiosmtpd handler: stores what it accepts; refuses with 451 when told to."""

    def __init__(self) -> None:
        self._received: list[Received] = []
        self._changed = threading.Condition()
        self._defer_deliveries = 0  # the next N DATA commands answer 451
        self._defer_rcpt: dict[str, int] = {}  # recipient -> how many more RCPTs answer 451
        self.refusals: list[tuple[str, ...]] = []  # the recipients of every 451 given
        self.port = 0  # set once listening

    # -- aiosmtpd hooks ---------------------------------------------------------------------
    async def handle_EHLO(self, server: Any, session: Any, envelope: Any, hostname: str,
                          responses: list[str]) -> list[str]:
        session.host_name = hostname
        responses.insert(-1, "250-PIPELINING")  # as Postfix does: the pipelined path runs
        return responses

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          options: list[str]) -> str:
        with self._changed:
            left = self._defer_rcpt.get(address.lower(), 0)
            if left:
                self._defer_rcpt[address.lower()] = left - 1
                self.refusals.append((address,))
                return TEMPFAIL
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self._changed:
            if self._defer_deliveries:
                self._defer_deliveries -= 1
                self.refusals.append(tuple(envelope.rcpt_tos))
                return TEMPFAIL
            self._received.append(Received(len(self._received), str(envelope.mail_from),
                                           tuple(a.lower() for a in envelope.rcpt_tos),
                                           bytes(envelope.original_content)))
            self._changed.notify_all()
        return "250 2.0.0 OK: kept"

    # -- what tests use ---------------------------------------------------------------------
    def defer_next(self, deliveries: int = 1) -> None:
        """Answer 451 to the next ``deliveries`` messages (at DATA)."""
        with self._changed:
            self._defer_deliveries = deliveries

    def defer_recipient(self, address: str, times: int = 1) -> None:
        """Answer 451 to ``address`` at RCPT the next ``times`` times it is offered."""
        with self._changed:
            self._defer_rcpt[address.lower()] = times

    def clear_deferrals(self) -> None:
        with self._changed:
            self._defer_deliveries = 0
            self._defer_rcpt.clear()

    @property
    def count(self) -> int:
        with self._changed:
            return len(self._received)

    def received(self, since: int = 0) -> list[Received]:
        with self._changed:
            return list(self._received[since:])

    def wait_for(self, condition: Callable[[list[Received]], bool], what: str,
                 timeout: float = 60.0) -> list[Received]:
        """Block until ``condition(all mail so far)`` holds; fail with what arrived."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not condition(list(self._received)):
                left = deadline - time.monotonic()
                if left <= 0:
                    got = "\n".join(f"  {r.rcpt_tos} {r.subject}" for r in self._received)
                    raise AssertionError(f"the sink never got {what}; it holds:\n{got}")
                self._changed.wait(min(left, 1.0))
            return list(self._received)


class OsPortController(Controller):
    """aiosmtpd's threaded controller, bound to a port the OS picks (``port=0``): the socket
    is bound once, so no other process can take the number between choosing and binding."""

    async def _bind(self) -> Any:
        server = await self.loop.create_server(self._factory_invoker, host=self.hostname,
                                               port=0)
        self.port = server.sockets[0].getsockname()[1]
        return server

    def _create_server(self) -> Any:
        return self._bind()


@contextmanager
def running_sink() -> Iterator[CaptureSink]:
    """A sink on 127.0.0.1, port chosen by the OS."""
    handler = CaptureSink()
    controller = OsPortController(handler, hostname="127.0.0.1")
    controller.start()
    handler.port = controller.port
    try:
        yield handler
    finally:
        controller.stop()
