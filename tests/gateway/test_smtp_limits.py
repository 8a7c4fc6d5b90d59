"""Hostile input against the real listener: one client cannot hold it (issue 12, defect 4/5).

Each test drives a listener on loopback through its socket, as an attacker would: many sessions
from one address (and one more from a second loopback address, 127.0.0.2), a NOOP flood, 2,000
recipients in one transaction, and mail to ``postmaster@`` (RFC 5321 4.5.1).
"""

from __future__ import annotations

import time

from sqlalchemy import select

from gateway.smtp import replies
from tests.gateway.conftest import Dialogue
from workflows.inbound.process import process_message
from workflows.storage.models import InboundMessage, TriageItem

CARE = "care@desk.example"
MAIL = (b"From: alice@acme.example\r\nTo: care@desk.example\r\nSubject: Printer\r\n"
        b"Message-ID: <limits-1@acme.example>\r\n\r\nIt is on fire.\r\n.\r\n")
GUARD = 60.0  # seconds: only ends a test that would otherwise hang; nothing is timed


def _greeted(address: tuple[str, int], source: str | None = None) -> Dialogue:
    d = Dialogue(address, source=source)
    assert d.read_reply()[0].startswith("220 ")
    return d


def _rows(rt) -> list[InboundMessage]:
    with rt.db.transaction() as s:
        return list(s.scalars(select(InboundMessage).order_by(InboundMessage.id)))


def test_one_address_past_its_cap_is_refused_while_another_is_served(serve_smtp):
    """Two sessions from 127.0.0.1 fill its share; the third gets 421 4.7.0 and is closed,
    while 127.0.0.2 is greeted and can send."""
    listener = serve_smtp(max_sessions_per_ip=2)
    first, second = _greeted(listener.address), _greeted(listener.address)
    with first, second:
        with Dialogue(listener.address) as third:
            assert third.read_reply() == [replies.TOO_MANY_FROM_ADDRESS]
            assert third.at_eof()
        with _greeted(listener.address, source="127.0.0.2") as other:
            assert other.say("EHLO other.example")[-1].startswith("250 ")
            assert other.say("MAIL FROM:<bob@other.example>") == [replies.SENDER_OK]


def test_a_refused_connection_does_not_count_against_its_address(serve_smtp):
    """Refused connections hold no slot: once a session of the address ends, the next one is
    served (the server notices the close on its own loop, so wait for that)."""
    listener = serve_smtp(max_sessions_per_ip=1)
    with _greeted(listener.address) as first:
        for _ in range(3):
            with Dialogue(listener.address) as refused:
                assert refused.read_reply() == [replies.TOO_MANY_FROM_ADDRESS]
        assert first.say("QUIT")[0].startswith("221 ")
    deadline = time.monotonic() + GUARD
    while listener.sessions and time.monotonic() < deadline:
        time.sleep(0.01)
    with _greeted(listener.address) as again:
        assert again.say("NOOP") == [replies.OK]


def test_a_noop_flood_ends_at_the_session_lifetime(serve_smtp):
    """NOOP restarts the idle timer, but not the lifetime: the flood gets 421 4.4.2 and the
    connection is closed."""
    listener = serve_smtp(session_lifetime=1, max_noops=10**9)
    with _greeted(listener.address) as d:
        deadline = time.monotonic() + GUARD
        reply = d.say("NOOP")
        while reply == [replies.OK] and time.monotonic() < deadline:
            reply = d.say("NOOP")
        assert reply == [replies.SESSION_EXPIRED]
        assert d.at_eof()


def test_commands_that_move_nothing_forward_are_capped(serve_smtp):
    """Past max_noops NOOP/RSET without a message, the session is closed with 421 4.7.0."""
    listener = serve_smtp(max_noops=3)
    with _greeted(listener.address) as d:
        assert d.say("NOOP") == [replies.OK]
        assert d.say("RSET") == [replies.OK]
        assert d.say("NOOP") == [replies.OK]
        assert d.say("RSET") == [replies.TOO_MANY_NOOPS]
        assert d.at_eof()


def test_a_relay_that_resets_between_messages_is_not_a_flood(rt, serve_smtp):
    """The count starts again at each accepted message: a connection reused for many
    messages, with RSET between them, is served to the end."""
    listener = serve_smtp(max_noops=1)
    with _greeted(listener.address) as d:
        d.say("EHLO relay.example")
        for n in range(4):
            assert d.say("RSET") == [replies.OK]
            assert d.say("MAIL FROM:<alice@acme.example>") == [replies.SENDER_OK]
            assert d.say(f"RCPT TO:<{CARE}>") == [replies.RECIPIENT_OK]
            assert d.say("DATA")[0].startswith("354 ")
            assert d.say(MAIL.replace(b"limits-1", f"relay-{n}".encode()))[0].startswith("250 ")
    assert len(_rows(rt)) == 4


def test_2000_recipients_get_452_past_the_cap_and_the_mail_goes_to_the_first(rt, serve_smtp):
    """RFC 5321 4.5.3.1.8/4.5.3.1.10: the first 100 are taken, every later RCPT gets
    452 4.5.3, and DATA still delivers to the accepted ones."""
    listener = serve_smtp()
    assert listener.smtp.max_recipients == 100
    with _greeted(listener.address) as d:
        d.say("EHLO client.example")
        assert d.say("MAIL FROM:<alice@acme.example>") == [replies.SENDER_OK]
        answers = [d.say(f"RCPT TO:<{CARE}>")[0] for _ in range(2000)]
        assert answers[:100] == [replies.RECIPIENT_OK] * 100
        assert answers[100:] == [replies.TOO_MANY_RECIPIENTS] * 1900
        assert d.say("DATA")[0].startswith("354 ")
        assert d.say(MAIL)[0].startswith("250 2.6.0 ")
    (row,) = _rows(rt)
    assert len(row.envelope_to) == 100


def test_postmaster_of_a_mailbox_domain_is_accepted_into_triage(rt, serve_smtp):
    """RFC 5321 4.5.1: postmaster@ each of our domains takes mail, whatever its case; it is
    triaged, not routed by a mailbox policy."""
    listener = serve_smtp()
    with _greeted(listener.address) as d:
        d.say("EHLO client.example")
        d.say("MAIL FROM:<alice@acme.example>")
        assert d.say("RCPT TO:<PostMaster@Desk.Example>") == [replies.RECIPIENT_OK]
        assert d.say("DATA")[0].startswith("354 ")
        assert d.say(MAIL)[0].startswith("250 ")
    (row,) = _rows(rt)
    assert row.mailbox == "postmaster@desk.example"
    result = process_message(rt, row.id)
    assert result.outcome == "triaged"
    with rt.db.transaction() as s:
        assert s.scalars(select(TriageItem.inbound_message_id)).all() == [row.id]


def test_bare_postmaster_is_accepted_and_another_domains_is_not(serve_smtp):
    """``<Postmaster>`` without a domain is ours too (RFC 5321 4.1.1.3); postmaster of a
    domain we do not serve is an unknown mailbox like any other."""
    with _greeted(serve_smtp().address) as d:
        d.say("EHLO client.example")
        d.say("MAIL FROM:<alice@acme.example>")
        assert d.say("RCPT TO:<Postmaster>") == [replies.RECIPIENT_OK]
        assert d.say("RCPT TO:<postmaster@evil.example>") == [replies.UNKNOWN_MAILBOX]
