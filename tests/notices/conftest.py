"""Fixtures for notices: a real SMTP sink on loopback, a runtime that sends to it, a desk of
organizations in several time zones, and helpers to create and send notices."""

from __future__ import annotations

import dataclasses
import datetime as dt
import email
import email.policy
import socket
import threading
from collections.abc import Iterator
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller

from gateway.smtp_client import SmtpTransport
from workflows.cases import directory
from workflows.notices import service
from workflows.notices.model import NoticeKind, NoticeRequest, Window
from workflows.runtime import Runtime

UTC = dt.UTC
# Sat 7 Mar 2026 23:00 MST -> Sun 8 Mar 04:00 MDT: a weekly window across the US DST change.
DST_START = dt.datetime(2026, 3, 8, 6, 0, tzinfo=UTC)
DST_END = dt.datetime(2026, 3, 8, 10, 0, tzinfo=UTC)
NOW = dt.datetime(2026, 2, 26, 17, 0, tzinfo=UTC)  # Thu, 9 days before DST_START


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Sink:
    """Captures every message; ``replies`` answers DATA per recipient (default 250),
    ``refuse`` answers RCPT. It announces PIPELINING (RFC 2920) like Postfix does, so the
    transport's pipelined path is the one under test; aiosmtpd reads pipelined commands in
    order either way."""

    def __init__(self, pipelining: bool = True) -> None:
        self.messages: list[tuple[tuple[str, ...], bytes]] = []
        self.replies: dict[str, str] = {}
        self.refuse: dict[str, str] = {}
        self.drop: set[str] = set()  # take the message, then cut the line before the 250
        self.pipelining = pipelining
        self.lock = threading.Lock()

    async def handle_EHLO(self, server, session, envelope, hostname, responses):  # type: ignore[no-untyped-def]
        session.host_name = hostname
        if self.pipelining:
            responses.insert(-1, "250-PIPELINING")
        return responses

    async def handle_RCPT(self, server, session, envelope, address, options):  # type: ignore[no-untyped-def]
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        if envelope.rcpt_tos[0] in self.drop:
            with self.lock:
                self.messages.append((tuple(envelope.rcpt_tos), envelope.content))
            server.transport.close()
            return "250 2.0.0 OK"
        reply = self.replies.get(envelope.rcpt_tos[0], "250 2.0.0 OK")
        if reply.startswith("250"):
            with self.lock:
                self.messages.append((tuple(envelope.rcpt_tos), envelope.content))
        return reply

    def mails(self) -> list[EmailMessage]:
        with self.lock:
            raws = [raw for _, raw in self.messages]
        return [email.message_from_bytes(r, policy=email.policy.default)  # type: ignore[misc]
                for r in raws]

    def to(self, recipient: str) -> list[EmailMessage]:
        return [m for m in self.mails() if str(m["To"]) == recipient]


@pytest.fixture
def sink() -> Iterator[tuple[Sink, int]]:
    handler = Sink()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield handler, controller.port
    controller.stop()


@pytest.fixture
def nrt(rt: Runtime, sink: tuple[Sink, int]) -> Runtime:
    """The test runtime, sending through the SMTP transport (pipelined) to the sink."""
    return dataclasses.replace(rt, transport=SmtpTransport("127.0.0.1", sink[1], timeout=30))


@pytest.fixture
def desk(nrt: Runtime, clock) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Organizations in four zones; Globex has no distribution list."""
    clock.current = NOW
    with nrt.db.transaction() as s:
        for name, zone, country, notify in (
            ("Acme", "Europe/Berlin", "DE", ["ops@acme.example", "cto@acme.example"]),
            ("Globex", "America/Denver", "US", []),
            ("Initech", "America/Denver", "US", ["noc@initech.example"]),
            ("Wombat", "Australia/Sydney", "AU", ["ops@wombat.example"]),
        ):
            directory.add_organization(s, name=name, domains=[f"{name.lower()}.example"],
                                       timezone=zone, country=country, notify=notify,
                                       now=clock())
    return {"acme": "ops@acme.example", "initech": "noc@initech.example",
            "wombat": "ops@wombat.example"}


def create(rt: Runtime, kind: NoticeKind = NoticeKind.PLANNED, **kw: object) -> str:
    """Create a notice (defaults: the DST-edge weekly window, everyone) and return its ref."""
    fields: dict[str, object] = {"title": "Core switch upgrade",
                                 "impact": "Calls may drop for up to 5 minutes"}
    if kind.maintenance:
        fields.update(starts_at=DST_START, ends_at=DST_END)
    if kind is NoticeKind.PLANNED:
        fields["window"] = Window.WEEKLY
    if kind is NoticeKind.ADVISORY:
        fields["link"] = "https://status.desk.example/adv"
    fields.update(kw)
    with rt.db.transaction() as s:
        return service.create_notice(s, rt.settings, NoticeRequest(kind, **fields),  # type: ignore[arg-type]
                                     now=rt.now(), actor="test").reference


def create_and_send(rt: Runtime, kind: NoticeKind = NoticeKind.PLANNED, **kw: object) -> str:
    ref = create(rt, kind, **kw)
    service.send_notice(rt, ref, actor="test")
    return ref
