"""When a group commit stops waiting for more mail: ``protocol.mail_on_the_way`` and the
writer's ``expecting``. The window only bounds the wait; these decide when it ends early."""

from __future__ import annotations

import asyncio
import smtplib
from dataclasses import dataclass

from aiosmtpd.smtp import Envelope as SmtpEnvelope

from gateway.smtp.protocol import mail_on_the_way
from gateway.smtp.writer import GroupCommitWriter
from workflows.inbound.intake import Envelope

CARE = "care@desk.example"
LATEST = 7  # the writer's count of answered batches in these cases


@dataclass(eq=False)
class _Session:
    """What ``mail_on_the_way`` reads of a session (our protocol's attributes)."""

    envelope: SmtpEnvelope | None
    _committing: bool = False
    answered_by: int = -1


def _idle(answered_by: int) -> _Session:
    return _Session(SmtpEnvelope(), answered_by=answered_by)


def _in_transaction(mail_from: str = "a@acme.example") -> _Session:
    envelope = SmtpEnvelope()
    envelope.mail_from = mail_from
    return _Session(envelope, answered_by=LATEST - 3)


def test_a_session_inside_a_transaction_is_waited_for():
    assert mail_on_the_way([_in_transaction()], set(), LATEST)


def test_a_bounce_inside_its_transaction_is_waited_for():
    # MAIL FROM:<> leaves an empty sender, not none (RFC 5321 4.5.5)
    assert mail_on_the_way([_in_transaction(mail_from="")], set(), LATEST)


def test_a_session_back_from_the_latest_batch_is_waited_for():
    assert mail_on_the_way([_idle(answered_by=LATEST)], set(), LATEST)


def test_a_new_session_is_waited_for():
    assert mail_on_the_way([_idle(answered_by=-1)], set(), LATEST)


def test_a_session_answered_but_not_yet_woken_is_waited_for():
    waiting = _in_transaction()
    waiting._committing = True
    assert mail_on_the_way([waiting], set(), LATEST)


def test_a_session_idle_since_an_earlier_batch_is_not_waited_for():
    assert not mail_on_the_way([_idle(answered_by=LATEST - 1)], set(), LATEST)


def test_sessions_whose_mail_the_batch_holds_are_not_waited_for():
    held = _in_transaction()
    held._committing = True
    assert not mail_on_the_way([held], {held}, LATEST)


def test_a_connection_refused_at_the_limit_is_not_waited_for():
    assert not mail_on_the_way([_Session(envelope=None)], set(), LATEST)


def test_the_writer_commits_at_once_when_nothing_more_is_expected(rt, dispatched):
    """A 60 s window, yet the lone mail is answered: ``expecting`` ended the wait."""
    asked: list[set[object]] = []

    def expecting(origins) -> bool:
        asked.append(set(origins))
        return False

    writer = GroupCommitWriter(rt.db, dispatched, window=60.0, expecting=expecting)
    writer.start()
    try:
        result = asyncio.run(asyncio.wait_for(
            writer.accept(b"Message-ID: <b-1@acme.example>\r\n\r\nhi\r\n",
                          Envelope(mailbox=CARE), origin="session-1"), timeout=30))
    finally:
        writer.close()
    assert result.created and asked == [{"session-1"}]
    assert writer.answered == 1


def test_a_lone_smtp_session_does_not_wait_out_the_window(rt, serve_smtp):
    """Through a real listener whose window is a minute: the only session's mail is answered
    (smtplib's 30 s timeout would fail it otherwise)."""
    listener = serve_smtp(group_commit_ms=60_000.0)
    raw = b"From: a@acme.example\r\nMessage-ID: <b-2@acme.example>\r\n\r\nhi\r\n"
    with smtplib.SMTP(*listener.address, timeout=30) as smtp:
        assert smtp.sendmail("a@acme.example", [CARE], raw) == {}
        assert smtp.sendmail("a@acme.example", [CARE], raw.replace(b"b-2", b"b-3")) == {}
    assert listener.writer.batches == 2
