"""The declarative base and the column types every table module shares.

Place in the flow: imported by ``models.py``, ``models_console.py`` and ``models_notices.py``,
and by nothing of theirs in return, so the table modules depend on this one and not on each
other (``models.py`` re-exports every table for ``from workflows.storage.models import``).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from json.encoder import encode_basestring_ascii
from typing import Any

from sqlalchemy import DateTime, Table, TypeDecorator
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase

_UTC = dt.UTC


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

    def bind_processor(self, dialect: Dialect) -> Callable[[dt.datetime | None], Any]:
        """``process_bind_param`` then the dialect's own processor, as TypeDecorator chains
        them, with a fast path for a datetime already in UTC (every ``rt.now()``): six of
        these per processed mail went through two generic wrappers, ``astimezone`` and the
        dialect check (issue 15's profile: a third of the per-row parameter work)."""
        impl = self.impl_instance.bind_processor(dialect)
        general = self.process_bind_param
        naive = dialect.name == "sqlite"
        if naive and getattr(self.impl_instance.dialect_impl(dialect), "_storage_format",
                             None) == _SQLITE_FORMAT:
            return _sqlite_text(general, dialect, impl)

        def process(value: dt.datetime | None) -> Any:
            if value is not None and value.tzinfo is _UTC:
                if naive:
                    value = value.replace(tzinfo=None)
            else:
                value = general(value, dialect)
            return impl(value) if impl is not None else value

        return process

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


# SQLAlchemy's SQLite DATETIME text: the same as ``isoformat(" ", "microseconds")`` of a naive
# datetime (year padded to four digits, microseconds always six; tests/storage: 100,000 random
# values), which formats in C: 2.2 -> 0.6 us a value, six a processed mail (issue 15).
_SQLITE_FORMAT = ("%(year)04d-%(month)02d-%(day)02d %(hour)02d:%(minute)02d:%(second)02d"
                  ".%(microsecond)06d")


def _sqlite_text(general: Callable[[dt.datetime | None, Any], dt.datetime | None],
                 dialect: Dialect, impl: Callable[[Any], Any] | None
                 ) -> Callable[[dt.datetime | None], Any]:
    """UTCDateTime's bind processor on SQLite: a UTC datetime straight to SQLite's text
    (its first 26 characters are those of the naive value); anything else as before."""

    def process(value: dt.datetime | None) -> Any:
        if value is not None and value.tzinfo is _UTC:
            return value.isoformat(" ", "microseconds")[:26]
        value = general(value, dialect)
        return impl(value) if impl is not None else value

    return process


def dump_json(value: Any) -> str:
    """``json.dumps(value)``, the same text, without its encoder set-up for the values the JSON
    columns of a processed mail mostly hold: an empty list, a list of strings (trace, defects,
    recipients), a dict of strings (an audit event's detail). Given to the SQLite engine as
    its ``json_serializer``; six JSON values a processed mail cost ~3 us each through
    ``json.dumps`` (issue 15)."""
    if type(value) is list:
        if not value:
            return "[]"
        if all(type(item) is str for item in value):
            return "[" + ", ".join(map(encode_basestring_ascii, value)) + "]"
    elif type(value) is dict and all(type(k) is str and type(v) is str
                                     for k, v in value.items()):
        # An audit event's detail: a processed mail's is {"reason": ...}.
        return "{" + ", ".join([encode_basestring_ascii(k) + ": " + encode_basestring_ascii(v)
                                for k, v in value.items()]) + "}"
    return json.dumps(value)


class Base(DeclarativeBase):
    pass


def table_of(model: type[Base]) -> Table:
    """The Core table of a mapped class, typed as one (``__table__`` is typed as a
    ``FromClause``): for executemany inserts and updates, which cost less than the ORM's."""
    table = model.__table__
    assert isinstance(table, Table)
    return table
