"""Snapshot reads per batch: ``prefetch`` loads what a batch's snapshots ask for up front, so
the statements of a batch's reads do not grow with the number of messages (issue 15: one
round trip per batch for the snapshot reads, on PostgreSQL above all)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event, select

from parsing import parse
from tests.support import open_case, post, reply_to
from workflows.inbound.intake import Envelope, accept_many
from workflows.inbound.snapshot import load_snapshot, prefetch
from workflows.runtime import Runtime
from workflows.settings import Mailbox
from workflows.storage.models import InboundMessage

CARE = "care@desk.example"


@contextmanager
def _counted(rt: Runtime) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(rt.db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(rt.db.engine, "before_cursor_execute", count)


def _snapshot_reads(rt: Runtime, sender: str, replies: int) -> tuple[int, list[list[str]]]:
    """Statements of prefetch plus every load_snapshot of a batch of replies, each to a case
    of its own; and the case numbers each snapshot saw."""
    raws = [reply_to(post(rt, open_case(rt, contact=sender)), sender=sender,
                     message_id=f"<batch-{replies}-{k}@client.example>")
            for k in range(replies)]
    accepted = accept_many(rt.db, [(raw, Envelope(mailbox=CARE, rcpt_tos=(CARE,)))
                                   for raw in raws], now=rt.now())
    with rt.db.transaction() as session:
        rows = session.scalars(select(InboundMessage).where(InboundMessage.id.in_(
            [a.inbound_id for a in accepted])).order_by(InboundMessage.id)).all()
        mails = [parse(row.raw, key=rt.key) for row in rows]
        with _counted(rt) as statements:
            prefetch(session, rows, (m.from_.email for m in mails if m.from_), mails)
            seen = [[c.number for c in load_snapshot(session, rt.settings, Mailbox(CARE), row,
                                                     mail, rt.now()).cases]
                    for row, mail in zip(rows, mails, strict=True)]
    return len(statements), seen


def test_snapshot_reads_of_a_batch_do_not_grow_with_it(rt, people):
    few, _ = _snapshot_reads(rt, people["alice"], 2)
    many, _ = _snapshot_reads(rt, people["alice"], 6)
    assert many == few


def test_prefetched_cases_are_the_ones_each_snapshot_sees(rt, people):
    _, seen = _snapshot_reads(rt, people["alice"], 3)
    assert [len(numbers) for numbers in seen] == [1, 1, 1] and len(
        {n for numbers in seen for n in numbers}) == 3
