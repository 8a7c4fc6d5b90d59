"""The insert buffer's fast path (statements compiled once, run by the driver's executemany
with SQLAlchemy's bind processors: SQLite's driver, or psycopg's, which pipelines the rows)
stores what SQLAlchemy's executemany stores; ``insert_returning`` likewise."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from tests.support import CARE
from workflows.inbound.intake import Envelope, accept
from workflows.storage import bulk
from workflows.storage.base import table_of
from workflows.storage.models import AuditEvent, InboundMessage

# What both databases take: text without lone surrogates, or NUL (PostgreSQL refuses it).
TEXT = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"),
               max_size=40)
ZONES = [dt.UTC, dt.timezone(dt.timedelta(hours=5, minutes=30)),
         dt.timezone(-dt.timedelta(hours=8))]
WHEN = st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2200, 1, 1),
                    timezones=st.sampled_from(ZONES))
JSONISH = st.recursive(st.none() | st.booleans() | st.integers(-2**53, 2**53) | TEXT,
                       lambda inner: st.lists(inner, max_size=3)
                       | st.dictionaries(TEXT, inner, max_size=3), max_leaves=8)
EVENT = st.fixed_dictionaries({"at": WHEN, "actor": TEXT, "action": TEXT,
                               "case_id": st.none(), "inbound_message_id": st.none(),
                               "detail": JSONISH})
SHORT = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"),
               max_size=16)  # status and outcome are VARCHAR(16), which PostgreSQL enforces
CHANGES = st.fixed_dictionaries({"status": SHORT}, optional={
    "outcome": st.none() | SHORT, "trace": st.lists(TEXT, max_size=4),
    "defects": st.lists(TEXT, max_size=2), "subject": st.none() | TEXT,
    "processed_at": st.none() | WHEN, "attempts": st.integers(0, 2**31 - 1)})
SLOW = settings(max_examples=40, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


def _typeof(rt) -> str:  # type: ignore[no-untyped-def]
    """The SQL function naming a value's stored type."""
    return "typeof" if rt.db.dialect == "sqlite" else "pg_typeof"


def _both_ways(rt, write: Callable[[Any], None], read: Callable[[Any], list[tuple[Any, ...]]]
               ) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:  # type: ignore[no-untyped-def]
    """``write`` then ``read`` by SQLAlchemy's general path, then by the fast path; rolled back."""
    stored = []
    real = bulk._driver_statement
    for general in (True, False):
        if general:
            bulk._driver_statement = lambda *_args: None  # type: ignore[assignment]
        try:
            with rt.db.transaction() as s:
                buffer = bulk.InsertBuffer()
                write(buffer)
                buffer.write(s)
                stored.append(read(s))
                s.rollback()
        finally:
            bulk._driver_statement = real
    return stored[0], stored[1]


def _raw(session, sql: str) -> list[tuple[Any, ...]]:  # type: ignore[no-untyped-def]
    """Rows as stored: each value with its storage class or type, no result processing."""
    return [tuple(row) for row in session.execute(text(sql))]


@SLOW
@given(events=st.lists(EVENT, min_size=1, max_size=4))
def test_inserted_rows_are_stored_as_sqlalchemy_stores_them(rt, events):
    table, typeof = table_of(AuditEvent), _typeof(rt)

    def write(buffer: bulk.InsertBuffer) -> None:
        for event in events:
            buffer.add(table, dict(event))

    general, fast = _both_ways(rt, write, lambda s: _raw(
        s, f"SELECT at, {typeof}(at), actor, action, case_id, inbound_message_id, detail, "
           f"{typeof}(detail) FROM audit_events ORDER BY id"))
    assert fast == general


@SLOW
@given(changes=CHANGES)
def test_updated_columns_are_stored_as_sqlalchemy_stores_them(rt, changes):
    typeof = _typeof(rt)
    raw = b"From: a@acme.example\r\nMessage-ID: <driver@acme.example>\r\n\r\nhi\r\n"
    inbound_id = accept(rt.db, raw, Envelope(mailbox=CARE, rcpt_tos=(CARE,))).inbound_id
    try:
        general, fast = _both_ways(
            rt, lambda buffer: buffer.update(table_of(InboundMessage), inbound_id, changes),
            lambda s: _raw(s, f"SELECT status, outcome, trace, {typeof}(trace), defects, "
                              f"subject, processed_at, {typeof}(processed_at), attempts "
                              "FROM inbound_messages"))
        assert fast == general
    finally:
        with rt.db.transaction() as s:
            s.execute(InboundMessage.__table__.delete())


def test_processing_rows_take_the_fast_path_and_defaults_do_not(rt):
    """Processing's statements compile for the driver; a row that leaves out a column with a
    default (SQLAlchemy computes it) keeps SQLAlchemy's path, and gets its default."""
    table = table_of(AuditEvent)
    now = dt.datetime(2026, 12, 6, 22, 0, tzinfo=dt.UTC)
    full = {"at": now, "actor": "system", "action": "a", "case_id": None,
            "inbound_message_id": None, "detail": {"k": 1}}
    without_detail = {k: v for k, v in full.items() if k != "detail"}
    with rt.db.transaction() as s:
        buffer = bulk.InsertBuffer()
        buffer.add(table, full)
        buffer.add(table, without_detail)
        buffer.write(s)
        dialect = s.connection().dialect
        assert bulk._driver_statement(dialect, table, "insert", frozenset(full),
                                      lambda: table.insert()) is not None
        assert bulk._driver_statement(dialect, table, "insert", frozenset(without_detail),
                                      lambda: table.insert()) is None
        assert s.scalars(select(AuditEvent.detail).order_by(AuditEvent.id)).all() == [
            {"k": 1}, {}]


def _inbound_row(sha: str) -> dict[str, Any]:
    now = dt.datetime(2026, 12, 7, 6, 0, tzinfo=dt.UTC)
    return {"sha256": sha, "message_id": f"{sha}@acme.example", "mailbox": CARE,
            "envelope_from": "", "envelope_to": [CARE], "transport": "cli", "source": None,
            "size": 9000, "received_at": now, "status": "received",
            "attempts": 0, "claimed_at": None, "trace": [], "defects": []}


def test_insert_returning_gives_every_new_id_by_the_driver(rt):
    """The intake's INSERT ... RETURNING: one row back per row in, by the driver's path."""
    table = table_of(InboundMessage)
    rows = [_inbound_row(f"sha-{i}") for i in range(7)]
    with rt.db.writing() as conn:
        found = bulk.insert_returning(conn, table, rows, ("id", "sha256"))
        assert bulk._driver_statement(conn.dialect, table, "insert-returning:id,sha256",
                                      frozenset(rows[0]), lambda: table.insert()) is not None
        stored = dict(conn.execute(select(table.c.sha256, table.c.id)).all())
        conn.rollback()
    assert sorted(found, key=lambda r: r[0]) == sorted((i, sha) for sha, i in stored.items())
    assert len(found) == 7


def test_insert_returning_stores_rows_as_sqlalchemy_stores_them(rt, monkeypatch):
    """The intake's rows by the driver (SQLite: multi-row INSERT ... RETURNING, chunked;
    PostgreSQL: pipelined) are stored value for value, type for type, as by SQLAlchemy's
    general path, and each id comes back with its own row's values."""
    monkeypatch.setattr(bulk, "_ROWS_PER_INSERT", 3)  # 7 rows: chunks of 3, 3 and 1
    table, typeof = table_of(InboundMessage), _typeof(rt)
    rows = [{**_inbound_row(f"sha-{i}"), "envelope_to": [CARE, f"x{i}@acme.example"],
             "trace": [f"t{i}"], "defects": [] if i % 2 else ["d é"], "source": f"f{i}",
             "attempts": i % 2, "claimed_at": None if i % 2 else dt.datetime(
                 2026, 12, 7, 6, i, tzinfo=dt.timezone(dt.timedelta(hours=1)))}
            for i in range(7)]
    stored = []
    real = bulk._driver_statement
    for general in (True, False):
        if general:
            monkeypatch.setattr(bulk, "_driver_statement", lambda *_args: None)
        with rt.db.writing() as conn:
            found = bulk.insert_returning(conn, table, rows, ("id", "sha256", "message_id"))
            ids = {sha: i for i, sha, _mid in found}
            assert sorted(found) == sorted((ids[r["sha256"]], r["sha256"], r["message_id"])
                                           for r in rows)
            stored.append([tuple(r) for r in conn.execute(text(
                f"SELECT sha256, message_id, mailbox, envelope_to, {typeof}(envelope_to), "
                f"source, size, received_at, {typeof}(received_at), status, attempts, "
                f"claimed_at, trace, defects FROM inbound_messages ORDER BY sha256"))])
            conn.rollback()
        monkeypatch.setattr(bulk, "_driver_statement", real)
    assert stored[0] == stored[1]
    assert len(stored[1]) == 7


def test_insert_returning_raises_sqlalchemys_integrity_error(rt):
    """A row another writer inserted first: the intake's retry catches SQLAlchemy's
    IntegrityError, so the driver's own error must come out as that."""
    table = table_of(InboundMessage)
    with pytest.raises(IntegrityError), rt.db.writing() as conn:
        bulk.insert_returning(conn, table, [_inbound_row("twice")], ("id",))
        bulk.insert_returning(conn, table, [_inbound_row("twice")], ("id",))


def test_search_documents_by_multi_row_inserts_are_stored_and_found(rt, people, monkeypatch):
    """The batch's search documents go to SQLite as multi-row INSERTs (one FTS5 segment per
    statement, not per document), chunked: every row stored as SQLAlchemy stores it, each in
    its own chunk's place, and each found by its words through the FTS5 index."""
    from tests.support import open_case
    from workflows.search import query
    from workflows.storage.models import Case, SearchDocument

    monkeypatch.setattr(bulk, "_ROWS_PER_INSERT", 3)  # 7 rows: chunks of 3, 3 and 1
    number = open_case(rt)
    with rt.db.transaction() as s:
        case_id = s.scalars(select(Case.id).where(Case.number == number)).one()
    at = dt.datetime(2026, 12, 7, 15, 0, tzinfo=dt.UTC)
    rows = [{"case_id": case_id, "update_id": None, "number": "", "subject": "",
             "people": f"p{i}@acme.example", "organization": "", "body": f"word{i}x é",
             "created_at": at} for i in range(7)]
    table, typeof = table_of(SearchDocument), _typeof(rt)

    def write(buffer: bulk.InsertBuffer) -> None:
        for row in rows:
            buffer.add(table, dict(row))

    def read(s):  # type: ignore[no-untyped-def]
        found = [len(query.search(s, f"word{i}x").items) for i in range(7)]
        return [*_raw(s, f"SELECT people, body, created_at, {typeof}(created_at) "
                         "FROM search_documents WHERE body LIKE 'word%' "
                         "ORDER BY id"), tuple(found)]

    general, fast = _both_ways(rt, write, read)
    assert fast == general
    assert fast[-1] == (1,) * 7


def _event(n: int) -> dict[str, Any]:
    return {"at": dt.datetime(2026, 12, 7, 17, 0, tzinfo=dt.UTC), "actor": "system",
            "action": f"meanwhile-{n}", "case_id": None, "inbound_message_id": None,
            "detail": {}}


@pytest.mark.parametrize("general_row", [False, True])
def test_meanwhile_runs_while_the_rows_are_in_flight_on_postgresql(rt, general_row):
    """``write(meanwhile=...)``: on psycopg the caller's work runs inside the pipeline that
    carries the rows (their results not yet awaited), and the rows are stored. Not run where
    the rows cannot ride a pipeline (a row on SQLAlchemy's own path, which reads results:
    a column left to its default), nor on SQLite (it would hold the write lock): the caller
    runs it afterwards."""
    table, seen = table_of(AuditEvent), []
    with rt.db.transaction() as s:
        buffer = bulk.InsertBuffer()
        for n in range(3):
            buffer.add(table, _event(n))
        if general_row:
            buffer.add(table, {k: v for k, v in _event(3).items() if k != "detail"})
        driver = s.connection().connection.driver_connection
        assert buffer.write(s, lambda: seen.append(getattr(driver, "_pipeline", None))) \
            == 3 + general_row
        stored = s.execute(select(AuditEvent.action, AuditEvent.detail)
                           .order_by(AuditEvent.id)).all()
        s.rollback()
    assert stored == [(f"meanwhile-{n}", {}) for n in range(3 + general_row)]
    if rt.db.dialect == "postgresql" and not general_row:
        assert len(seen) == 1 and seen[0] is not None
    else:
        assert seen == []


def test_a_row_refused_in_the_pipeline_raises_sqlalchemys_error_from_write(rt):
    """Processing falls back to a savepoint per message on any error of its batch, and the
    intake catches SQLAlchemy's IntegrityError: a pipelined row's error comes out of
    ``write`` as that, not later at the commit, and not as the driver's own."""
    inbound = table_of(InboundMessage)
    with pytest.raises(IntegrityError), rt.db.transaction() as s:
        buffer = bulk.InsertBuffer()
        for _ in range(2):
            buffer.add(inbound, _inbound_row("same-sha"))
        buffer.write(s, lambda: None)


def test_driver_statement_binds_one_column_and_none_as_tuples():
    """The rows' values come out as tuples whatever the column count (itemgetter of one key
    returns the value itself, and takes no zero)."""
    assert bulk._DriverStatement("x", ()).parameters([{}, {}]) == [(), ()]
    assert bulk._DriverStatement("x", (("a", None),)).parameters([{"a": 1}]) == [(1,)]
    assert bulk._DriverStatement("x", (("a", str), ("b", None))).parameters(
        [{"a": 1, "b": 2}]) == [("1", 2)]
