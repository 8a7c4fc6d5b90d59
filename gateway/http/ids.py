"""Path parameters that name rows: one type each, shared by the console and the API.

Place in the flow: the HTTP edge, before any handler or query runs. A value no row can have
(an id past the widest id column, a case number longer than the column, a NUL) fails here, as
a validation error on the path: the API answers 422 with the reason, the console 404, since
such a path names nothing (``app._install_handlers``). Without these bounds an id past 64 bits
reached SQLite, which cannot bind it, and the console answered 500.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

# The widest id column is INTEGER, signed 32-bit on PostgreSQL; SQLite's 64 bits hold more.
MAX_ROW_ID = 2_147_483_647
NO_NUL = r"^[^\x00]*$"  # PostgreSQL text cannot hold NUL

RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]
# The position of a file in a parsed mail (parsing keeps at most 200 parts).
PartIndex = Annotated[int, Path(ge=0, le=10_000)]
CaseNumber = Annotated[str, Path(min_length=1, max_length=32, pattern=NO_NUL)]  # cases.number
NoticeReference = Annotated[str, Path(min_length=1, max_length=32, pattern=NO_NUL)]
