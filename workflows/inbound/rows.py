"""A processing batch's inbound rows as plain records, read by SQLAlchemy Core.

Place in the flow: ``workflows.inbound.process``'s fast path locks and reads its batch's rows
here, then hands each to ``snapshot``, ``decide`` and ``apply`` as the ORM row would be.
Nothing in a batch needs the row as an ORM object: its columns are read from the instance's
dict (``workflows.storage.columns``) and written through the batch's buffer
(``workflows.storage.bulk.set_columns``), never by the unit of work. As ORM objects (instance
state, identity map, a deferred-column callable for each column left out) the batch's rows
cost 98.7k instructions a row under callgrind, read by Core into these 44.7k, the statement
and SQLite's work included (300 bench rows); ``ingest`` 3.138 -> 3.077 M instructions a mail
(bench/instructions.py's child, 300 mails, issue 15). The savepoint path, which records a
failure by plain attribute changes, still loads ORM objects.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from workflows.domain import MessageStatus
from workflows.storage.columns import Record
from workflows.storage.models import InboundMessage, InboundRaw

INBOUND: Table = InboundMessage.__table__  # type: ignore[assignment]
_RAWS: Table = InboundRaw.__table__  # type: ignore[assignment]
# A message still to process: committed, or left ``processing`` by an older version.
UNPROCESSED = (MessageStatus.RECEIVED.value, MessageStatus.PROCESSING.value)
# The columns of a batch's rows that processing reads (deciding, applying, the result).
LOADED = ("id", "message_id", "mailbox", "envelope_from", "status", "attempts", "outcome",
          "reason", "case_id", "error")


class InboundRow(Record):
    """An inbound message's ``LOADED`` columns (a ``Record``). ``set_columns`` adds the
    columns it sets to them as it buffers their UPDATE."""

    __table__: ClassVar[Table] = INBOUND
    id: int
    message_id: str | None
    mailbox: str
    envelope_from: str
    status: str
    attempts: int
    outcome: str | None
    reason: str | None
    case_id: int | None
    error: str | None


def locked_rows(session: Session, inbound_ids: Sequence[int]) -> list[InboundRow]:
    """The rows of ``inbound_ids`` still to process, in id order, locked for the transaction
    (``FOR UPDATE`` on PostgreSQL: a second worker waits here, then finds them processed;
    SQLite's BEGIN IMMEDIATE already serializes writers), as records."""
    c = INBOUND.c
    found = session.connection().execute(
        select(*[c[name] for name in LOADED])
        .where(c.id.in_(list(inbound_ids)), c.status.in_(UNPROCESSED))
        .order_by(c.id)
        .with_for_update()
    ).all()
    new, rows = object.__new__, []
    for values in found:
        row = new(InboundRow)
        row.__dict__.update(zip(LOADED, values, strict=True))
        rows.append(row)
    return rows


def raw_of(session: Session, inbound_id: int) -> bytes:
    """The row's raw bytes, as ``InboundMessage.raw`` loads them (mail not parsed ahead)."""
    raw: bytes = session.connection().execute(
        select(_RAWS.c.raw).where(_RAWS.c.id == inbound_id)).scalar()  # type: ignore[assignment]
    return raw
