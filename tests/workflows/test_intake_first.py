"""The embedded worker yields to the listener during a burst, and still decides everything."""

from __future__ import annotations

import time

from sqlalchemy import func, select

from tests.support import CARE, new_mail
from workflows.inbound import dispatch
from workflows.inbound.dispatch import BATCH, EmbeddedWorker, IntakeFirst, _RateMeter
from workflows.inbound.intake import Envelope, accept_many
from workflows.storage.models import InboundMessage

POLICY = IntakeFirst(hot_rate=100.0, share=0.25, max_rest=2.0, hot_batch=10)


def test_calm_intake_means_no_rest():
    """A desk's normal day: every batch is processed as soon as it is there."""
    assert POLICY.rest_after(0.2, intake_rate=40.0) == 0.0


def test_a_burst_leaves_the_worker_a_quarter_of_the_time():
    """A 0.1 s batch during a burst is followed by 0.3 s for the listener."""
    assert POLICY.rest_after(0.1, intake_rate=500.0) == 0.1 * 3


def test_the_rest_is_bounded():
    """However long a batch took, the next one waits at most ``max_rest``."""
    assert POLICY.rest_after(10.0, intake_rate=500.0) == 2.0


def test_a_burst_takes_small_batches():
    """Processing holds the write lock the listener commits with: a few messages at a time."""
    assert POLICY.batch_size(intake_rate=500.0) == 10


def test_calm_intake_takes_full_batches():
    assert POLICY.batch_size(intake_rate=40.0) == BATCH


def test_the_worker_takes_small_batches_during_a_burst(rt, monkeypatch):
    """With every rate a burst for this policy (``hot_rate=0``), sixty ids submitted at once
    are processed seven at most at a time, and all of them are."""
    taken: list[list[int]] = []
    monkeypatch.setattr(dispatch, "process_batch", lambda _rt, ids: taken.append(list(ids)))
    worker = EmbeddedWorker(rt, policy=IntakeFirst(hot_rate=0.0, share=0.5, max_rest=0.01,
                                                   hot_batch=7))
    worker.submit(list(range(1, 61)))
    worker.start()
    try:
        deadline = time.monotonic() + 60
        while not worker.idle() and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        worker.stop()
    assert max(map(len, taken)) <= 7
    assert sorted(i for ids in taken for i in ids) == list(range(1, 61))


def test_the_meter_counts_only_the_last_second():
    meter = _RateMeter(window=1.0)
    meter.add(300, now=10.0)
    meter.add(50, now=10.8)
    assert (meter.rate(now=10.9), meter.rate(now=11.5)) == (350.0, 50.0)


def test_mail_submitted_during_a_burst_is_all_decided(rt):
    """Yielding only delays: 300 messages submitted at once all reach a decision."""
    items = [(new_mail(sender=f"s{i}@example.com", message_id=f"<burst-{i}@example.com>"),
              Envelope(mailbox=CARE, rcpt_tos=(CARE,))) for i in range(300)]
    ids = [r.inbound_id for r in accept_many(rt.db, items, now=rt.now())]
    worker = EmbeddedWorker(rt, policy=IntakeFirst(hot_rate=1.0, share=0.5, max_rest=0.2))
    worker.start()
    try:
        for start in range(0, len(ids), 20):  # twenty-at-a-time, as group commits arrive
            worker.submit(ids[start:start + 20])
        deadline = time.monotonic() + 120
        while not worker.idle() and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        worker.stop()
    with rt.db.transaction() as s:
        undecided = s.scalar(select(func.count()).select_from(InboundMessage)
                             .where(InboundMessage.processed_at.is_(None)))
    assert undecided == 0
