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

from sqlalchemy import Table, insert
from sqlalchemy.orm import DeclarativeBase, Session

_KEY = "ticketgate.insert_buffer"


class InsertBuffer:
    """Rows per (table, column set), in the order added."""

    def __init__(self) -> None:
        self._rows: dict[tuple[Table, frozenset[str]], list[dict[str, Any]]] = {}
        self._later: list[tuple[Table, Callable[[], dict[str, Any]]]] = []

    def add(self, table: Table, values: dict[str, Any]) -> None:
        self._rows.setdefault((table, frozenset(values)), []).append(values)

    def add_after_flush(self, table: Table, values: Callable[[], dict[str, Any]]) -> None:
        """A row whose values need what the ORM flush assigns (a new update's id): computed
        by ``write``, after the flush. Saves a flush per message (issue 15: the search
        document of each update flushed the session, 40% of processing)."""
        self._later.append((table, values))

    def write(self, session: Session) -> int:
        """Insert everything buffered in the session's transaction; returns the row count.
        Call after the ORM flush (the rows refer to what it inserts). Acts."""
        for table, values in self._later:
            self.add(table, values())
        self._later.clear()
        written = 0
        for (table, _columns), rows in self._rows.items():
            session.execute(insert(table), rows)
            written += len(rows)
        self._rows.clear()
        return written


def add_row(session: Session, model: type[DeclarativeBase], **values: Any) -> None:
    """Add one append-only row: buffered when the session has a buffer, else an ORM object."""
    buffer: InsertBuffer | None = session.info.get(_KEY)
    if buffer is None:
        session.add(model(**values))
    else:
        buffer.add(model.__table__, values)  # type: ignore[arg-type]


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
