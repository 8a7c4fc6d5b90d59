"""Tables of the desk's own work on cases: who gets the next auto-assigned case of a mailbox,
and the search documents (one per case and one per update) that full-text search reads.

Place in the flow: written in the same transaction as the case change they follow
(``workflows.cases.assignment``, ``workflows.search.index``). Re-exported by
``workflows.storage.models``. The full-text index itself is not a model: on SQLite it is the
FTS5 table ``search_fts`` kept by triggers, on PostgreSQL the generated ``search_tsv`` column
with its GIN index (both made by the migration; ``workflows.storage.fulltext`` names them).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from workflows.storage.models import Base, UTCDateTime


class MailboxRotation(Base):
    """Round robin of a mailbox's automatic assignment: the analyst who got the last case."""

    __tablename__ = "mailbox_rotations"
    mailbox: Mapped[str] = mapped_column(String(320), primary_key=True)
    last_user_id: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class SearchDocument(Base):
    """What search finds: a case (``update_id`` NULL: number, subject, contact, organization)
    or one of its updates (``update_id``: the body's visible text and the author)."""

    __tablename__ = "search_documents"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    update_id: Mapped[int | None] = mapped_column(ForeignKey("case_updates.id"), unique=True)
    number: Mapped[str] = mapped_column(String(32), default="")
    subject: Mapped[str] = mapped_column(Text, default="")
    people: Mapped[str] = mapped_column(Text, default="")  # addresses and display names
    organization: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
