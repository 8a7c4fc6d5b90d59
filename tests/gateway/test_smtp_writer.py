"""The group-commit writer: concurrent sessions share one commit; failures reach every sender."""

from __future__ import annotations

import asyncio
import logging

import pytest
from sqlalchemy import func, select

from gateway.smtp.writer import GroupCommitWriter, WriterClosed
from tests.gateway.conftest import RecordingDispatcher
from workflows.inbound.intake import AcceptResult, Envelope
from workflows.storage.db import Database
from workflows.storage.models import InboundMessage

ENVELOPE = Envelope(mailbox="care@desk.example", mail_from="a@acme.example",
                    rcpt_tos=("care@desk.example",), transport="smtp")


def _raw(n: int) -> bytes:
    return f"Message-ID: <w-{n}@acme.example>\r\n\r\nbody {n}\r\n".encode()


def _accept_all(writer: GroupCommitWriter, raws: list[bytes]) -> list[AcceptResult]:
    async def run() -> list[AcceptResult]:
        return await asyncio.gather(*(writer.accept(raw, ENVELOPE) for raw in raws))

    return asyncio.run(run())


@pytest.fixture
def make_writer():
    writers: list[GroupCommitWriter] = []

    def make(db: Database, dispatcher: RecordingDispatcher, **options) -> GroupCommitWriter:
        writer = GroupCommitWriter(db, dispatcher, **options)
        writer.start()
        writers.append(writer)
        return writer

    yield make
    for writer in writers:
        writer.close()


def test_concurrent_messages_share_one_commit(rt, make_writer, dispatched):
    """Ten sessions within the window: one transaction, one fsync, ten 250s."""
    writer = make_writer(rt.db, dispatched, window=5.0, max_batch=10)
    results = _accept_all(writer, [_raw(n) for n in range(10)])
    writer.close()  # submission follows the 250s; after close it has happened
    assert writer.batches == 1
    assert [r.created for r in results] == [True] * 10
    assert sorted(dispatched.ids) == sorted(r.inbound_id for r in results)


def test_redelivered_bytes_are_not_dispatched_again(rt, make_writer, dispatched):
    """Only new rows go to processing; the old one was already submitted."""
    writer = make_writer(rt.db, dispatched, window=0.0)
    first = _accept_all(writer, [_raw(1)])
    again = _accept_all(writer, [_raw(1)])
    writer.close()
    assert (again[0].inbound_id, again[0].created) == (first[0].inbound_id, False)
    assert dispatched.ids == [first[0].inbound_id]


def test_failed_commit_fails_every_waiting_session(rt, make_writer, dispatched, tmp_path):
    """A database error reaches each sender (who answers 451); nothing is dispatched."""
    missing = tmp_path / "missing"
    down = Database(f"sqlite:///{missing / 'x.db'}")
    missing.rmdir()
    writer = make_writer(down, dispatched, window=5.0, max_batch=3)
    try:
        async def run() -> list[object]:
            return await asyncio.gather(*(writer.accept(_raw(n), ENVELOPE) for n in range(3)),
                                        return_exceptions=True)

        outcomes = asyncio.run(run())
    finally:
        writer.close()
        down.dispose()
    assert all(isinstance(o, Exception) for o in outcomes)
    assert dispatched.ids == []


def test_closed_writer_takes_nothing(rt, make_writer, dispatched):
    """After close (shutdown) a late DATA is refused instead of waiting forever."""
    writer = make_writer(rt.db, dispatched)
    writer.close()
    with pytest.raises(WriterClosed):
        _accept_all(writer, [_raw(1)])
    with rt.db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(InboundMessage)) == 0


def test_every_committed_mail_gets_its_accepted_line(rt, make_writer, dispatched, caplog):
    """Lines of one batch are written while the next commits (or when the writer idles)."""
    caplog.set_level(logging.INFO, logger="workflows.inbound.intake")
    writer = make_writer(rt.db, dispatched, window=0.0)
    results = [r for n in range(3) for r in _accept_all(writer, [_raw(n)])]
    writer.close()
    lines = [r for r in caplog.records if getattr(r, "event", None) == "mail.accepted"]
    assert sorted(r.inbound_id for r in lines) == sorted(r.inbound_id for r in results)


def test_a_sender_gone_mid_wait_leaves_the_batch_whole(rt, make_writer, dispatched):
    """A session cancelled while its mail waits for the commit (the client hung up): its mail
    is committed and dispatched all the same, and the other sender of the batch gets its 250."""
    writer = make_writer(rt.db, dispatched, window=5.0, max_batch=2)

    async def run() -> AcceptResult:
        gone = asyncio.create_task(writer.accept(_raw(1), ENVELOPE))
        await asyncio.sleep(0)  # queued
        gone.cancel()
        stays = await writer.accept(_raw(2), ENVELOPE)
        with pytest.raises(asyncio.CancelledError):
            await gone
        return stays

    stays = asyncio.run(run())
    writer.close()
    assert stays.created
    with rt.db.reading() as conn:
        ids = conn.execute(select(InboundMessage.id).order_by(InboundMessage.id)).scalars().all()
    assert len(ids) == 2 and stays.inbound_id in ids
    assert sorted(dispatched.ids) == ids
    assert writer.batches == 1
