"""Assemble a ``Runtime`` from ``Settings``: the database, the secret and the transport.

Place in the flow: called once by each entry point after ``gateway.config.load_settings``.
"""

from __future__ import annotations

from gateway.config import ConfigError
from gateway.transport import make_transport
from workflows.runtime import Runtime
from workflows.secret import SecretMissing, create_secret_if_missing, load_secret
from workflows.settings import Settings
from workflows.storage.db import Database


def open_database(settings: Settings) -> Database:
    return Database(settings.database_url, sqlite_synchronous=settings.sqlite_synchronous)


# Tables whose rows are mail that left signed with the secret (case mail's Reference IDs,
# notices' reply addresses): a database with any has a secret somewhere already.
_SIGNED_MAIL = ("outbound_messages", "notice_deliveries")


def initialize(settings: Settings) -> dict[str, object]:
    """Create the data directory, the secret (if missing) and the schema. Idempotent.

    A secret is created only for a database that has sent no mail: one that has belongs to
    a secret another host (or a lost file) holds, and a new one would make every reply to
    that mail an invalid reference; the operator is told to copy it instead."""
    if not settings.secret_path.exists():
        _refuse_a_new_secret_for_sent_mail(settings)
    created = create_secret_if_missing(settings.secret_path)  # makes the home too
    db = open_database(settings)
    try:
        db.migrate()
    finally:
        db.dispose()
    return {"home": str(settings.home), "database": _redacted(settings.database_url),
            "secret_created": created, "mailboxes": [m.address for m in settings.mailboxes]}


def _refuse_a_new_secret_for_sent_mail(settings: Settings) -> None:
    """Raise ``SecretMissing`` when the database already holds mail signed by a secret."""
    try:
        db = open_database(settings)
    except OSError:  # a SQLite file's folder cannot be made: create_secret_if_missing says why
        return
    try:
        sent = db.has_rows(*_SIGNED_MAIL)
    finally:
        db.dispose()
    if sent:
        raise SecretMissing(
            f"no server secret at {settings.secret_path}, and the database "
            f"{_redacted(settings.database_url)} already holds mail signed with one: copy "
            "secret.key from the host that initialized it (or restore it from a backup); a new "
            "secret would turn every reply to that mail into an invalid reference")


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
