"""Outbound mail: the reference in three places, no header injection, both transports."""

from __future__ import annotations

import dataclasses
import datetime as dt
import email
import email.policy
import socket

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from gateway.transport import SmtpTransport
from parsing import parse, reference
from tests.conftest import KEY
from tests.support import open_case, post
from workflows.domain import OutboundKind
from workflows.outbound.compose import BadAddress, render_message
from workflows.outbound.outbox import TransportError, send_queued
from workflows.storage.models import OutboundMessage


def render(settings, clock, **kw):
    args = {"settings": settings, "key": KEY, "template": "analyst_post",
            "context": {"body": "Hello", "request_info": False, "propose_solution": False},
            "subject": "Printer", "to": ("alice@acme.example",), "case_number": "CASE-1001",
            "automated": False, "now": clock()}
    return render_message(**{**args, **kw})


def test_reference_is_in_message_id_subject_and_both_bodies(settings, clock):
    """Whatever part a client keeps, one of them still carries the reference."""
    mail = render(settings, clock)
    msg = email.message_from_bytes(mail.raw, policy=email.policy.default)
    token = reference.format_token("CASE-1001", KEY)
    assert reference.MESSAGE_ID_RE.match(mail.message_id)
    assert token in str(msg["Subject"])
    assert token in msg.get_body(("plain",)).get_content()
    assert token in msg.get_body(("html",)).get_content()


def test_our_mail_parses_back_to_a_valid_reference(settings, clock):
    """Round trip: what we send, we recognise."""
    parsed = parse(render(settings, clock).raw, key=KEY)
    assert {t.source.value for t in parsed.valid_tokens} >= {"subject", "body"}


def test_subject_cannot_inject_headers(settings, clock):
    """CR/LF in a subject must not start a new header (RFC 5322 2.2)."""
    mail = render(settings, clock, subject="Hi\r\nBcc: victim@evil.example")
    msg = email.message_from_bytes(mail.raw, policy=email.policy.default)
    assert msg["Bcc"] is None
    assert "victim@evil.example" in str(msg["Subject"])


def test_recipient_with_line_break_is_refused(settings, clock):
    """An address is either an address or an error; never two headers."""
    with pytest.raises(BadAddress):
        render(settings, clock, to=("alice@acme.example\r\nBcc: x@evil.example",))


def test_html_body_is_autoescaped(settings, clock):
    """An analyst's text with markup is shown as text, not run as HTML."""
    mail = render(settings, clock, context={"body": "<script>alert(1)</script>",
                                            "request_info": False, "propose_solution": False})
    html = email.message_from_bytes(mail.raw, policy=email.policy.default).get_body(("html",))
    assert "<script>" not in html.get_content()


def test_automated_mail_says_so(settings, clock):
    """RFC 3834: automated mail carries Auto-Submitted so responders stay quiet."""
    auto = email.message_from_bytes(render(settings, clock, automated=True).raw)
    human = email.message_from_bytes(render(settings, clock).raw)
    assert (auto["Auto-Submitted"], human["Auto-Submitted"]) == ("auto-generated", None)


def test_analyst_post_is_in_the_file_outbox(rt, people):
    """The default transport leaves one .eml per mail in var/outbox."""
    post(rt, open_case(rt))
    assert len(list(rt.settings.outbox_dir.glob("*.eml"))) == 1


class _Sink:
    def __init__(self, reply: str = "250 OK") -> None:
        self.reply, self.received = reply, []

    async def handle_DATA(self, server, session, envelope):
        self.received.append(envelope.content)
        return self.reply


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def sink():
    handler = _Sink()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield handler, controller
    controller.stop()


def _queue_one(rt, people):
    post(rt, open_case(rt))  # sent by the file transport; queue it again for SMTP
    with rt.db.transaction() as s:
        row = s.scalars(select(OutboundMessage)).one()
        row.status, row.attempts = "queued", 0
        return row.id


def test_smtp_transport_delivers_to_a_real_server(rt, people, sink):
    """smtp://host:port hands the mail to a real SMTP server on loopback."""
    handler, controller = sink
    _queue_one(rt, people)
    transport = SmtpTransport("127.0.0.1", controller.port)
    report = send_queued(rt.db, transport, "care@desk.example")
    assert (report.sent, len(handler.received)) == (1, 1)


def test_smtp_4xx_defers_the_mail_until_its_next_attempt(rt, people, sink):
    """A temporary refusal is retried later (after the first delay of the backoff), not
    dropped, and not tried again before then."""
    handler, controller = sink
    handler.reply = "451 4.3.0 try later"
    out_id = _queue_one(rt, people)
    transport = SmtpTransport("127.0.0.1", controller.port)
    now = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    assert send_queued(rt.db, transport, "care@desk.example", now=now).deferred == 1
    with rt.db.transaction() as s:
        row = s.get(OutboundMessage, out_id)
        assert (row.status, row.attempts, row.next_attempt_at) == (
            "deferred", 1, now + dt.timedelta(minutes=5))
    early = send_queued(rt.db, transport, "care@desk.example", now=now + dt.timedelta(minutes=4))
    assert (early.sent, early.deferred, early.failed) == (0, 0, 0)


def test_smtp_4xx_fails_the_mail_after_the_last_retry(rt, people, sink):
    """Each retry waits the schedule's next delay; the one after the last delay fails it."""
    handler, controller = sink
    handler.reply = "451 4.3.0 try later"
    out_id = _queue_one(rt, people)
    transport = SmtpTransport("127.0.0.1", controller.port)
    at = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    outcomes = []
    for _ in range(3):
        report = send_queued(rt.db, transport, "care@desk.example", now=at,
                             retry_minutes=(5, 15))
        outcomes.append((report.deferred, report.failed))
        with rt.db.transaction() as s:
            row = s.get(OutboundMessage, out_id)
            at = row.next_attempt_at or at
    assert outcomes == [(1, 0), (1, 0), (0, 1)]
    assert (row.status, row.attempts, row.next_attempt_at) == ("failed", 3, None)


def test_smtp_5xx_fails_the_mail(rt, people, sink):
    """A permanent refusal is recorded as failed, with the server's words."""
    handler, controller = sink
    handler.reply = "554 5.7.1 no thanks"
    out_id = _queue_one(rt, people)
    transport = SmtpTransport("127.0.0.1", controller.port)
    send_queued(rt.db, transport, "care@desk.example")
    with rt.db.transaction() as s:
        row = s.get(OutboundMessage, out_id)
        assert row.status == "failed" and "554" in row.last_error


def test_unreachable_smtp_server_is_temporary():
    """Connection refused is the network's fault: try again."""
    with pytest.raises(TransportError) as info:
        SmtpTransport("127.0.0.1", 1, timeout=2).send(b"x", "a@b.c", ["d@e.f"], "id")
    assert info.value.temporary


def test_every_outbound_kind_has_both_templates():
    """StrictUndefined rendering needs a text and an HTML template per kind."""
    from workflows.outbound.compose import TEMPLATES

    for kind in OutboundKind:
        assert (TEMPLATES / "mail" / f"{kind.value}.txt.j2").exists()
        assert (TEMPLATES / "mail" / f"{kind.value}.html.j2").exists()


def test_automated_mail_past_the_hourly_limit_is_held_back(rt, people):
    """A sender that keeps writing to an open_case mailbox cannot make us answer without end:
    the hourly cap holds even with the new-case limits (workflows.inbound.floods) turned off."""
    from tests.support import ingest, new_mail

    limit = rt.settings.automated_per_hour
    rt = dataclasses.replace(rt, settings=dataclasses.replace(
        rt.settings, new_case_ack_minutes=0, new_cases_per_sender=limit + 1))
    for i in range(limit + 1):
        ingest(rt, new_mail(sender=people["alice"], subject=f"Loop {i}",
                            message_id=f"<loop-{i}@acme.example>"), mailbox="new@desk.example")
    with rt.db.transaction() as s:
        acks = s.scalars(select(OutboundMessage).where(OutboundMessage.kind == "new_case_ack")
                         .order_by(OutboundMessage.id)).all()
        statuses = [a.status for a in acks]
        last_error = acks[-1].last_error
    assert statuses == ["sent"] * limit + ["held"]  # held, not failed: never sent late
    assert "automated mails in the last hour" in last_error
