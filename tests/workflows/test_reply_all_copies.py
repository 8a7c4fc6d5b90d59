"""A reply-all's copies to two of our mailboxes, decided in one batch: the first links, the
second is a duplicate (prefetch read none of them linked; the batch remembers its own)."""

from __future__ import annotations

from tests.support import open_case, post, reply_to
from workflows.inbound.intake import Envelope, accept_many
from workflows.inbound.process import process_batch

CARE, NEW = "care@desk.example", "new@desk.example"


def test_copies_in_one_batch_land_on_the_case_once(rt, people):
    number = open_case(rt)
    raw = reply_to(post(rt, number), sender="alice@acme.example")
    accepted = accept_many(rt.db, [
        (b"Received: by care\r\n" + raw, Envelope(mailbox=CARE, rcpt_tos=(CARE,))),
        (b"Received: by new\r\n" + raw, Envelope(mailbox=NEW, rcpt_tos=(NEW,)))], now=rt.now())
    results = process_batch(rt, [a.inbound_id for a in accepted])
    assert [(r.outcome, r.reason) for r in results] == [
        ("linked", "reply"), ("duplicate", "same_message_id")]
