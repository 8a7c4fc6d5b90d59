"""A database of the bench's own: benches never write to a server's existing databases.

Shared by the bench scripts (they put the repository root on ``sys.path``, so this imports as
``bench.scratch``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from workflows.runtime import Runtime


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


@dataclass(frozen=True)
class ScratchDesk:
    rt: Runtime
    org_id: int
    contact_id: int


@contextlib.contextmanager
def scratch_desk(server_url: str | None, *, synchronous: str, now: dt.datetime
                 ) -> Iterator[ScratchDesk]:
    """A fresh home (SQLite, or a scratch database on ``server_url``'s PostgreSQL) with one
    organization, Acme (Europe/Berlin, DE), and its designated contact alice@acme.example;
    everything is removed afterwards."""
    from gateway.app import build_runtime, initialize  # the benches' edge, as the CLI's
    from gateway.config import load_settings
    from workflows.cases import directory

    with scratch_database(server_url) as url, tempfile.TemporaryDirectory() as tmp:
        os.environ["TICKETGATE_HOME"] = str(Path(tmp) / "var")
        os.environ["TICKETGATE_SQLITE_SYNCHRONOUS"] = synchronous
        if url:
            os.environ["TICKETGATE_DATABASE_URL"] = url
        settings = load_settings()
        initialize(settings)
        rt = build_runtime(settings)
        try:
            with rt.db.transaction() as s:
                org = directory.add_organization(
                    s, name="Acme", domains=["acme.example"], timezone="Europe/Berlin",
                    country="DE", notify=[], now=now)
                contact = directory.add_contact(s, organization="Acme",
                                                email="alice@acme.example", name="Alice",
                                                designated=True, now=now)
                ids = org.id, contact.id
            yield ScratchDesk(rt, *ids)
        finally:
            rt.db.dispose()
