"""Redelivery over SMTP: the same customer reply sent again adds nothing to the case."""

from __future__ import annotations

import smtplib

from sqlalchemy import func, select

from tests.support import CARE, open_case, post, reply_to
from workflows.inbound.process import process_message
from workflows.inbound.queue import pending_ids
from workflows.storage.models import Case, CaseUpdate, InboundMessage


def _send(address: tuple[str, int], raw: bytes, sender: str) -> None:
    with smtplib.SMTP(*address, timeout=30) as smtp:
        assert smtp.sendmail(sender, [CARE], raw) == {}


def _process_pending(rt) -> None:
    for inbound_id in pending_ids(rt):
        process_message(rt, inbound_id)


def _inbound_updates(rt, number: str) -> int:
    """Updates on case ``number`` that came from an inbound mail."""
    with rt.db.transaction() as s:
        return s.scalar(select(func.count()).select_from(CaseUpdate).join(Case)
                        .where(Case.number == number,
                               CaseUpdate.inbound_message_id.is_not(None))) or 0


def test_same_reply_twice_over_smtp_adds_one_update(rt, people, serve_smtp):
    """A relay that retries after a lost 250 does not put the reply on the case twice."""
    number = open_case(rt)
    reply = reply_to(post(rt, number), sender=people["alice"])
    listener = serve_smtp()
    _send(listener.address, reply, people["alice"])
    _process_pending(rt)
    assert _inbound_updates(rt, number) == 1
    _send(listener.address, reply, people["alice"])
    _process_pending(rt)
    assert _inbound_updates(rt, number) == 1


def test_same_reply_with_a_new_trace_header_adds_no_update(rt, people, serve_smtp):
    """Other bytes, same Message-ID (a relay added a Received line): kept, decided duplicate."""
    number = open_case(rt)
    reply = reply_to(post(rt, number), sender=people["alice"])
    listener = serve_smtp()
    _send(listener.address, reply, people["alice"])
    _process_pending(rt)
    relayed = b"Received: from relay.acme.example by mx.desk.example; retry\r\n" + reply
    _send(listener.address, relayed, people["alice"])
    _process_pending(rt)
    assert _inbound_updates(rt, number) == 1
    with rt.db.transaction() as s:
        outcomes = list(s.execute(select(InboundMessage.outcome).order_by(InboundMessage.id)))
    assert [o for (o,) in outcomes] == ["linked", "duplicate"]
