"""The declarative base and the column types every table module shares.

Place in the flow: imported by ``models.py``, ``models_console.py`` and ``models_notices.py``,
and by nothing of theirs in return, so the table modules depend on this one and not on each
other (``models.py`` re-exports every table for ``from workflows.storage.models import``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import DateTime, Table, TypeDecorator
from sqlalchemy.orm import DeclarativeBase


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Aware UTC datetimes on every backend (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    pass


def table_of(model: type[Base]) -> Table:
    """The Core table of a mapped class, typed as one (``__table__`` is typed as a
    ``FromClause``): for executemany inserts and updates, which cost less than the ORM's."""
    table = model.__table__
    assert isinstance(table, Table)
    return table
