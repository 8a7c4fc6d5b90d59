"""A database of the bench's own: benches never write to a server's existing databases.

Shared by the bench scripts (they put the repository root on ``sys.path``, so this imports as
``bench.scratch``).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


@contextlib.contextmanager
def scratch_database(server_url: str | None, prefix: str = "tg_bench") -> Iterator[str | None]:
    """Yield the URL of a new, empty database on the PostgreSQL server of ``server_url``,
    dropped afterwards; without a PostgreSQL URL, yield ``server_url`` unchanged."""
    if not server_url or not server_url.startswith("postgresql"):
        yield server_url
        return
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
