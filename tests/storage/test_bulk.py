"""The insert buffer of processing's batch: what it writes is what the ORM would have."""

from __future__ import annotations

import pytest
from sqlalchemy import event, select

from tests.support import CARE
from workflows.inbound.intake import Envelope, accept
from workflows.storage.bulk import buffered_inserts, set_columns
from workflows.storage.models import InboundMessage

RAW = b"From: a@acme.example\r\nSubject: hi\r\nMessage-ID: <bulk-1@acme.example>\r\n\r\nhello\r\n"


def _statements(rt, run):
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        seen.append(statement)

    event.listen(rt.db.engine, "before_cursor_execute", record)
    try:
        run()
    finally:
        event.remove(rt.db.engine, "before_cursor_execute", record)
    return seen


def test_columns_set_twice_on_a_row_are_written_by_one_update(rt):
    """Two ``set_columns`` on one message: both land, in a single UPDATE statement."""
    inbound_id = accept(rt.db, RAW, Envelope(mailbox=CARE, rcpt_tos=(CARE,))).inbound_id

    def run() -> None:
        with rt.db.transaction() as s, buffered_inserts(s) as buffer:
            row = s.get(InboundMessage, inbound_id)
            set_columns(s, row, subject="first", automation="human")
            set_columns(s, row, outcome="linked", subject="second")
            assert (row.subject, row.outcome) == ("second", "linked")  # seen at once
            s.flush()
            buffer.write(s)

    updates = [q for q in _statements(rt, run) if q.lstrip().upper().startswith("UPDATE")]
    assert len(updates) == 1
    with rt.db.transaction() as s:
        row = s.get(InboundMessage, inbound_id)
        assert (row.subject, row.automation, row.outcome) == ("second", "human", "linked")


def test_without_a_buffer_columns_are_plain_attributes(rt):
    """Outside processing's batch ``set_columns`` is an ordinary ORM change."""
    inbound_id = accept(rt.db, RAW, Envelope(mailbox=CARE, rcpt_tos=(CARE,))).inbound_id
    with rt.db.transaction() as s:
        set_columns(s, s.get(InboundMessage, inbound_id), subject="plain")
    with rt.db.transaction() as s:
        assert s.scalar(select(InboundMessage.subject)) == "plain"


def test_a_new_sqlite_database_keeps_a_stored_mail_on_one_page(rt):
    """16 KB pages: a 5-10 KB mail fits one page, so updating its row rewrites no overflow."""
    if rt.db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's page size; PostgreSQL keeps large values out of line (TOAST)")
    with rt.db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA page_size").scalar() == 16384


def test_a_reading_transaction_lets_a_writer_commit(rt):
    """``Database.reading`` takes no write lock: the intake commits while a batch parses."""
    with rt.db.reading() as conn:
        assert conn.execute(select(InboundMessage.id)).all() == []
        accept(rt.db, RAW, Envelope(mailbox=CARE, rcpt_tos=(CARE,)))  # would wait on a lock
    with rt.db.transaction() as s:
        assert len(s.scalars(select(InboundMessage.id)).all()) == 1
