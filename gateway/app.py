"""Assemble a ``Runtime`` from ``Settings``: the database, the secret and the transport.

Place in the flow: called once by each entry point after ``gateway.config.load_settings``.
"""

from __future__ import annotations

from gateway.config import ConfigError
from gateway.transport import make_transport
from workflows.runtime import Runtime
from workflows.secret import create_secret_if_missing, load_secret
from workflows.settings import Settings
from workflows.storage.db import Database


def open_database(settings: Settings) -> Database:
    return Database(settings.database_url, sqlite_synchronous=settings.sqlite_synchronous)


def initialize(settings: Settings) -> dict[str, object]:
    """Create the data directory, the secret (if missing) and the schema. Idempotent."""
    created = create_secret_if_missing(settings.secret_path)  # makes the home too
    db = open_database(settings)
    try:
        db.migrate()
    finally:
        db.dispose()
    return {"home": str(settings.home), "database": _redacted(settings.database_url),
            "secret_created": created, "mailboxes": [m.address for m in settings.mailboxes]}


def _redacted(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def build_runtime(settings: Settings) -> Runtime:
    """A runtime on an initialized home; raises with a clear message when it is not."""
    key = load_secret(settings.secret_path)
    db = open_database(settings)
    db.check_current()
    try:
        transport = make_transport(settings.transport, settings.outbox_dir, settings.relay)
    except ValueError as exc:
        raise ConfigError(f"transport: {exc}") from None
    return Runtime(settings=settings, db=db, key=key, transport=transport)
