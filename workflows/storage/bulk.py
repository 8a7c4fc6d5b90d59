"""Append-only rows of a processing batch, written by one Core INSERT per table.

Place in the flow: inside ``workflows.inbound.process``'s fast path (one transaction for a batch of
messages, no autoflush). Every processed message adds an audit event and most add a case update;
as ORM objects they cost an instance, its attribute events and the unit of work's bookkeeping
each, which the profile of ``ingest`` showed as a large share of processing (issue 15). Rows
nobody reads back in the same transaction go through ``add_row``: buffered as plain values when
the session has a buffer (``buffered_inserts``), written after the batch's ORM flush with one
executemany per table (one ``INSERT ... VALUES`` round-trip per page of rows on PostgreSQL);
added as an ORM object otherwise, as before.

Only the fast path installs a buffer: there autoflush is off, so a query in the batch never
saw the pending objects anyway, and ids of referenced rows (cases opened in the batch) are known
because ``open_case`` flushes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.orm import DeclarativeBase, Session

_KEY = "ticketgate.insert_buffer"


class InsertBuffer:
    """Rows per (table, column set), in the order added."""

    def __init__(self) -> None:
        self._rows: dict[tuple[Table, frozenset[str]], list[dict[str, Any]]] = {}
        self._returning: dict[tuple[Table, str],
                              list[tuple[dict[str, Any], Callable[[int], None]]]] = {}
        self._updates: dict[tuple[Table, int], dict[str, Any]] = {}

    def add(self, table: Table, values: dict[str, Any]) -> None:
        self._rows.setdefault((table, frozenset(values)), []).append(values)

    def add_returning(self, table: Table, values: dict[str, Any], key: str,
                      on_id: Callable[[int], None]) -> None:
        """A row whose new id others need (a case update's, for its search document):
        inserted first by ``write``, then ``on_id(id)`` is called, and may add rows of its
        own. ``key`` names a unique column the rows are found by afterwards."""
        self._returning.setdefault((table, key), []).append((values, on_id))

    def update(self, table: Table, row_id: int, values: dict[str, Any]) -> None:
        """Set ``values`` on the row ``row_id`` of ``table`` (its primary key ``id``), written
        by ``write`` with the batch's others: the values of one row merged, then one
        executemany UPDATE per column set."""
        self._updates.setdefault((table, row_id), {}).update(values)

    def write(self, session: Session) -> int:
        """Insert everything buffered in the session's transaction; returns the row count.
        Call after the ORM flush (the rows refer to what it inserts). Acts."""
        written = 0
        for (table, key), pending in self._returning.items():
            # One executemany, then the ids by the unique key: INSERT ... RETURNING with the
            # ids in the rows' order runs one statement per row on SQLite (80 us a reply
            # against 30 us for both statements here, on the bench of issue 15).
            session.execute(insert(table), [values for values, _ in pending])
            wanted = [values[key] for values, _ in pending]
            ids: dict[Any, int] = {}
            for start in range(0, len(wanted), 500):
                ids.update((k, i) for i, k in session.execute(
                    select(table.c.id, table.c[key]).where(
                        table.c[key].in_(wanted[start:start + 500]))))
            for values, on_id in pending:
                on_id(ids[values[key]])
            written += len(pending)
        self._returning.clear()
        for (table, _columns), rows in self._rows.items():
            session.execute(insert(table), rows)
            written += len(rows)
        self._rows.clear()
        by_columns: dict[tuple[Table, frozenset[str]], list[dict[str, Any]]] = {}
        for (table, row_id), changes in self._updates.items():
            by_columns.setdefault((table, frozenset(changes)), []).append(
                {"b_id": row_id, **{f"b_{name}": value for name, value in changes.items()}})
        for (table, columns), rows in by_columns.items():
            session.execute(update(table).where(table.c.id == bindparam("b_id"))
                            .values({name: bindparam(f"b_{name}") for name in columns}), rows)
            written += len(rows)
        self._updates.clear()
        return written


def add_row(session: Session, model: type[DeclarativeBase], **values: Any) -> None:
    """Add one append-only row: buffered when the session has a buffer, else an ORM object."""
    buffer: InsertBuffer | None = session.info.get(_KEY)
    if buffer is None:
        session.add(model(**values))
    else:
        buffer.add(model.__table__, values)  # type: ignore[arg-type]


def set_columns(session: Session, obj: DeclarativeBase, **values: Any) -> None:
    """Set columns of a loaded row. With a buffer on the session: as its committed state (no
    attribute events, no unit-of-work history) plus an UPDATE the buffer writes; else as
    plain attributes. Processing sets about a dozen columns on every inbound message, which
    as ORM attribute changes and a flushed UPDATE cost about 0.1 ms a message (issue 15)."""
    buffer: InsertBuffer | None = session.info.get(_KEY)
    if buffer is None or getattr(obj, "id", None) is None:
        for name, value in values.items():
            setattr(obj, name, value)
        return
    # Straight into the instance's dict, where the ORM reads loaded values: no history, so
    # no UPDATE from the flush (the buffer writes it). set_committed_value() does the same
    # with its bookkeeping, 0.25 s per 33,000 columns under cProfile against 0.03 s.
    obj.__dict__.update(values)
    buffer.update(obj.__table__, obj.id, values)  # type: ignore[arg-type, attr-defined]


def insert_buffer(session: Session) -> InsertBuffer | None:
    """The buffer ``buffered_inserts`` installed on ``session``, if any."""
    buffer: InsertBuffer | None = session.info.get(_KEY)
    return buffer


@contextmanager
def buffered_inserts(session: Session) -> Iterator[InsertBuffer]:
    """Buffer ``add_row`` rows of ``session`` while the block runs; the caller writes them."""
    buffer = InsertBuffer()
    session.info[_KEY] = buffer
    try:
        yield buffer
    finally:
        session.info.pop(_KEY, None)
