"""The desk's saved replies (canned responses), with the case's fields as placeholders.

Place in the flow: outside the message flow; written and read by ``workflows.cases.saved_replies``.
Re-exported by ``workflows.storage.models``.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from workflows.storage.models import Base, UTCDateTime


class SavedReply(Base):
    """One saved reply of the desk: a name to pick it by and a body with ``{placeholders}``."""

    __tablename__ = "saved_replies"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    body: Mapped[str] = mapped_column(Text)
    updated_by: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
