"""SMTP and LMTP transcripts: raw command lines in, exact reply lines out, on a real listener."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from gateway.smtp import replies
from tests.gateway.conftest import HOSTNAME, Dialogue
from workflows.storage.models import InboundMessage

CARE = "care@desk.example"
ESCALATIONS = "escalations@desk.example"
MESSAGE = (b"From: alice@acme.example\r\nTo: care@desk.example\r\nSubject: Printer\r\n"
           b"Message-ID: <t-1@acme.example>\r\n\r\nIt is on fire.\r\n")


def _rows(rt) -> list[InboundMessage]:
    with rt.db.transaction() as s:
        return list(s.scalars(select(InboundMessage).order_by(InboundMessage.id)))


def _count(rt) -> int:
    with rt.db.transaction() as s:
        return s.scalar(select(func.count()).select_from(InboundMessage)) or 0


def _queued_id(line: str) -> int:
    match = re.fullmatch(r"250 2\.6\.0 Queued as (\d+)", line)
    assert match, line
    return int(match.group(1))


def _envelope(d: Dialogue, *rcpts: str, sender: str = "alice@acme.example") -> None:
    assert d.say(f"MAIL FROM:<{sender}>") == [replies.SENDER_OK]
    for rcpt in rcpts:
        assert d.say(f"RCPT TO:<{rcpt}>") == [replies.RECIPIENT_OK]


def test_greeting_names_our_host(serve_smtp):
    """The greeting carries the configured hostname (no reverse lookup per connection)."""
    with Dialogue(serve_smtp().address) as d:
        assert d.read_reply() == [f"220 {HOSTNAME} ticketgate ESMTP"]


def test_ehlo_advertises_size_and_enhanced_codes_but_no_auth(serve_smtp):
    """Senders learn the limit before sending; AUTH is not offered when it is not configured."""
    with Dialogue(serve_smtp(size_limit=4096).address) as d:
        d.read_reply()
        assert d.say("EHLO client.example") == [
            f"250-{HOSTNAME}", "250-SIZE 4096", "250-8BITMIME", "250-SMTPUTF8",
            "250-ENHANCEDSTATUSCODES", "250 HELP"]


@pytest.mark.parametrize("greeting", ["EHLO", "HELO"])
def test_greeting_reply_lines_each_end_in_crlf(serve_smtp, greeting):
    """The EHLO reply, written as one piece, is byte for byte the lines aiosmtpd sends one by
    one: each ends in CRLF (RFC 5321 4.2.1), the last one with a space after its code."""
    with Dialogue(serve_smtp(size_limit=4096).address) as d:
        d.read_reply()
        d.send_raw(f"{greeting} client.example\r\nNOOP\r\n".encode())
        raw = [d.file.readline() for _ in range(7 if greeting == "EHLO" else 2)]
    expected = ([f"250-{HOSTNAME}", "250-SIZE 4096", "250-8BITMIME", "250-SMTPUTF8",
                 "250-ENHANCEDSTATUSCODES", "250 HELP"] if greeting == "EHLO"
                else [f"250 {HOSTNAME}"])
    assert raw == [f"{line}\r\n".encode() for line in [*expected, replies.enhanced("250 OK")]]


def test_data_is_answered_queued_with_the_committed_id(rt, serve_smtp):
    """The 250 names the inbound row, which already exists when the sender reads it."""
    with Dialogue(serve_smtp().address) as d:
        d.read_reply()
        d.say("EHLO client.example")
        _envelope(d, CARE)
        assert d.say("DATA") == ["354 End data with <CR><LF>.<CR><LF>"]
        inbound_id = _queued_id(d.say(MESSAGE + b".\r\n")[0])
        assert [(r.id, r.status) for r in _rows(rt)] == [(inbound_id, "received")]


def test_unknown_recipient_is_refused_at_rcpt(serve_smtp):
    """An undeclared mailbox is refused in the session, so the sending MTA bounces it."""
    with Dialogue(serve_smtp().address) as d:
        d.read_reply()
        d.say("EHLO client.example")
        d.say("MAIL FROM:<alice@acme.example>")
        assert d.say("RCPT TO:<nobody@desk.example>") == [replies.UNKNOWN_MAILBOX]


def test_declared_size_over_the_limit_is_refused_at_mail(serve_smtp):
    """SIZE (RFC 1870) over the limit gets 552 5.3.4 before any byte of the message is sent."""
    with Dialogue(serve_smtp(size_limit=1000).address) as d:
        d.read_reply()
        d.say("EHLO client.example")
        assert d.say("MAIL FROM:<alice@acme.example> SIZE=1001") == [replies.MESSAGE_TOO_BIG]


def test_data_over_the_limit_is_refused_and_nothing_kept(rt, serve_smtp):
    """A sender that ignores SIZE still gets 552 5.3.4 after DATA, and no row is written."""
    with Dialogue(serve_smtp(size_limit=1000).address) as d:
        d.read_reply()
        d.say("EHLO client.example")
        _envelope(d, CARE)
        d.say("DATA")
        assert d.say(MESSAGE + (b"x" * 70 + b"\r\n") * 30 + b".\r\n") == [replies.MESSAGE_TOO_BIG]
    assert _count(rt) == 0


def test_data_before_rcpt_is_a_bad_sequence(serve_smtp):
    """aiosmtpd's own replies carry enhanced codes too, as ENHANCEDSTATUSCODES promises."""
    with Dialogue(serve_smtp().address) as d:
        d.read_reply()
        d.say("EHLO client.example")
        d.say("MAIL FROM:<alice@acme.example>")
        assert d.say("DATA") == ["503 5.5.1 need RCPT command"]


def test_dot_stuffing_is_undone_and_bytes_are_kept(rt, serve_smtp):
    """RFC 5321 4.5.2: the leading dot added by the sender is removed; nothing else changes."""
    with Dialogue(serve_smtp().address) as d:
        d.read_reply()
        d.say("EHLO client.example")
        _envelope(d, CARE)
        d.say("DATA")
        d.say(MESSAGE + b"..a line that starts with a dot\r\n.\r\n")
    assert _rows(rt)[0].raw == MESSAGE + b".a line that starts with a dot\r\n"


def test_copy_to_the_escalation_alias_counts_as_delivered_there(rt, serve_smtp):
    """One row per transaction: the escalation alias wins, every recipient is kept."""
    with Dialogue(serve_smtp().address) as d:
        d.read_reply()
        d.say("EHLO client.example")
        _envelope(d, CARE, ESCALATIONS)
        d.say("DATA")
        d.say(MESSAGE + b".\r\n")
    [row] = _rows(rt)
    assert (row.mailbox, row.envelope_to) == (ESCALATIONS, [CARE, ESCALATIONS])


def test_lmtp_answers_once_per_recipient_after_data(serve_smtp):
    """RFC 2033 4.2: one reply per accepted RCPT, in order, all for the one committed row."""
    with Dialogue(serve_smtp(lmtp=True).address) as d:
        d.read_reply()
        assert d.say("LHLO client.example")[-1] == "250 HELP"
        _envelope(d, CARE, ESCALATIONS)
        d.say("DATA")
        d.send_raw(MESSAGE + b".\r\n")
        first, second = d.read_reply(), d.read_reply()
        assert first == second
        _queued_id(first[0])


def test_lmtp_has_no_ehlo(serve_smtp):
    """LMTP greets with LHLO only, so a misdirected SMTP client fails at once."""
    with Dialogue(serve_smtp(lmtp=True).address) as d:
        d.read_reply()
        assert d.say("EHLO client.example")[0].startswith("500 ")


def test_connection_past_max_sessions_gets_421(serve_smtp):
    """Past the session limit a client is told to come back later, not left hanging."""
    listener = serve_smtp(max_sessions=1)
    with Dialogue(listener.address) as first:
        first.read_reply()
        with Dialogue(listener.address) as second:
            assert second.read_reply() == [replies.TOO_BUSY]
            assert second.at_eof()


def test_mail_during_shutdown_gets_421(serve_smtp):
    """Once stopping, a new transaction is turned away with a retry-later code."""
    listener = serve_smtp()
    with Dialogue(listener.address) as d:
        d.read_reply()
        d.say("EHLO client.example")
        listener.handler.closing = True
        assert d.say("MAIL FROM:<alice@acme.example>") == [replies.SHUTTING_DOWN]


@pytest.mark.parametrize(("stock", "ours"), [
    ("552 Error: Too much mail data", replies.MESSAGE_TOO_BIG),
    ("250 OK", replies.OK),
    ("501 Syntax: MAIL FROM: <address>", "501 5.5.4 Syntax: MAIL FROM: <address>"),
    ("530 5.7.0 Authentication required", replies.AUTH_REQUIRED),
    ("354 End data with <CR><LF>.<CR><LF>", "354 End data with <CR><LF>.<CR><LF>"),
    ("250-SIZE 100", "250-SIZE 100"),
])
def test_stock_replies_are_rewritten_with_enhanced_codes(stock, ours):
    """Every final reply carries an RFC 3463 code; the 354 go-ahead and continuations do not."""
    assert replies.enhanced(stock) == ours
