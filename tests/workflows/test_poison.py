"""A poison message cannot loop: attempts counted outside the transaction that failed.

A process that dies mid-message (SIGKILL, OOM, Celery's hard time limit) rolls its
transaction back; the attempt must count anyway. ``SystemExit`` raised from inside ``decide``
stands in for that death here: it is not an ``Exception``, so nothing in processing catches it
and the transaction is rolled back exactly as when the process goes away.
"""

from __future__ import annotations

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from sqlalchemy import select

from tests.support import new_mail
from workflows.inbound import process
from workflows.inbound.intake import Envelope, accept
from workflows.storage.models import InboundMessage

CARE = "care@desk.example"


def _accept(rt, n: int) -> int:
    raw = new_mail(sender="alice@acme.example", subject=f"Help {n}",
                   message_id=f"<poison-{n}@client.example>")
    return accept(rt.db, raw, Envelope(mailbox=CARE, rcpt_tos=(CARE,)), now=rt.now()).inbound_id


def _rows(rt, *ids: int) -> list[tuple[str, int]]:
    with rt.db.transaction() as s:
        found = {r.id: (r.status, r.attempts) for r in s.scalars(
            select(InboundMessage).where(InboundMessage.id.in_(ids)))}
    return [found[i] for i in ids]


@pytest.fixture
def poison(monkeypatch):
    """decide() kills the process for mail whose subject says "Help 666"."""
    real = process.decide

    def deadly(snapshot, mail):
        if mail.subject == "Help 666":
            raise SystemExit("the process died")
        return real(snapshot, mail)

    monkeypatch.setattr(process, "decide", deadly)


def test_attempt_that_takes_the_process_down_still_counts(rt, people, poison):
    """The rolled-back attempt is counted; after three the message is failed, unprocessed."""
    bad = _accept(rt, 666)
    for _ in range(3):
        with pytest.raises(SystemExit):
            process.process_batch(rt, [bad])
    assert _rows(rt, bad) == [("received", 3)]
    [result] = process.process_batch(rt, [bad])
    assert (result.status, "gave up after 3 attempts" in (result.error or "")) == (
        "failed", True)


def test_poison_message_does_not_take_its_batch_with_it(rt, people, poison):
    """After one crash every message of the batch is retried alone: the others get through."""
    good, bad = _accept(rt, 1), _accept(rt, 666)
    with pytest.raises(SystemExit):
        process.process_batch(rt, [good, bad])
    with pytest.raises(SystemExit):
        process.process_batch(rt, [good, bad])
    assert _rows(rt, good, bad) == [("processed", 2), ("received", 2)]


def test_celery_soft_time_limit_is_a_failed_attempt(rt, people, monkeypatch):
    """SoftTimeLimitExceeded inside processing is recorded on the message, to be retried."""
    def slow(snapshot, mail):
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr(process, "decide", slow)
    inbound_id = _accept(rt, 1)
    [result] = process.process_batch(rt, [inbound_id])
    assert (result.status, "SoftTimeLimitExceeded" in (result.error or "")) == (
        "received", True)
