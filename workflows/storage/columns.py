"""Column values of loaded ORM objects, read from the instance's dict.

Place in the flow: the inbound pipeline's per-mail reads (``workflows.inbound.process``,
``snapshot``, ``apply``). An ORM attribute read goes through ``InstrumentedAttribute.__get__``,
a Python descriptor called from C, which returns the instance's dict entry when the column is
loaded: about 3k instructions a read under callgrind, and processing read ~46 a bench mail
(issue 15). Where a column is loaded this returns that same entry; where it is not (deferred,
or expired by a rolled-back savepoint) it reads the attribute, which loads it as before.
"""

from __future__ import annotations

from collections.abc import Callable
from operator import itemgetter
from typing import Any, ClassVar

from sqlalchemy import Table


def reader(*names: str) -> Callable[[object], tuple[Any, ...]]:
    """A function returning the values of ``names`` (two or more) on a mapped object, in
    order, as ``tuple(getattr(obj, name) for name in names)`` would."""
    if len(names) < 2:
        raise ValueError("reader() takes two names or more; use loaded() for one")
    get = itemgetter(*names)

    def read(obj: object) -> tuple[Any, ...]:
        try:
            return get(obj.__dict__)  # type: ignore[no-any-return]
        except KeyError:  # not loaded: the attributes load it
            return tuple([getattr(obj, name) for name in names])

    return read


def loaded(obj: object, name: str) -> Any:
    """``getattr(obj, name)``, from the instance's dict when the column is loaded."""
    values = obj.__dict__
    return values[name] if name in values else getattr(obj, name)


class Record:
    """A row's columns read by Core, not an ORM object: its values in the instance's dict under
    the columns' names, as a loaded ORM row holds them, so ``reader`` and ``loaded`` read both
    alike; ``__table__`` names its table for ``workflows.storage.bulk.set_columns``, which
    writes a record's changes through the session's buffer only (workflows.inbound.rows)."""

    __table__: ClassVar[Table]
