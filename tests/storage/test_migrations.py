"""The Alembic migrations build exactly the schema the models describe."""

from __future__ import annotations

import hashlib

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text

from workflows.inbound.intake import Envelope, accept_many
from workflows.storage.db import SCHEMA_HEAD, Database, DatabaseUnavailable
from workflows.storage.fulltext import include_name
from workflows.storage.models import Base, InboundMessage


def test_migrated_schema_matches_models(database_url):
    """A model change without its migration would break production, not the tests."""
    db = Database(database_url)
    with db.engine.connect() as conn:
        # The full-text index (FTS5 table, tsvector column) is not a model: left out.
        context = MigrationContext.configure(conn, opts={"include_name": include_name})
        diff = compare_metadata(context, Base.metadata)
    db.dispose()
    assert diff == []


def test_migrate_is_idempotent(database_url):
    """`ticketgate init` may run on every start."""
    db = Database(database_url)
    db.migrate()
    db.migrate()
    db.check_current()
    db.dispose()


NOT_INITIALIZED = "the database is not initialized: run `ticketgate init`"


def test_schema_head_is_alembics_head():
    """``check_current`` compares the database with ``SCHEMA_HEAD``: a new migration must
    move it, or every command would call the migrated database out of date."""
    db = Database("sqlite://")
    head = ScriptDirectory.from_config(db._alembic_config()).get_current_head()
    db.dispose()
    assert head == SCHEMA_HEAD


def test_check_current_refuses_a_database_never_migrated(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'empty.db'}")
    with pytest.raises(DatabaseUnavailable) as raised:
        db.check_current()
    db.dispose()
    assert str(raised.value) == NOT_INITIALIZED


def test_check_current_refuses_a_schema_behind_the_code(database_url):
    db = Database(database_url)
    cfg = db._alembic_config()
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "-1")
        [older] = conn.execute(text("SELECT version_num FROM alembic_version")).scalars()
    with pytest.raises(DatabaseUnavailable) as raised:
        db.check_current()
    db.dispose()
    assert str(raised.value) == (
        f"the database schema is at {older}, older than this ticketgate's {SCHEMA_HEAD}: stop "
        "serve, the workers and beat, then run `ticketgate init` to upgrade it")


def test_check_current_refuses_a_schema_ahead_of_the_code(database_url):
    """A database migrated by a newer release holds a revision this code does not know:
    `ticketgate init` cannot help there, so the error does not send the operator to it."""
    db = Database(database_url)
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'e9_from_the_future'"))
    with pytest.raises(DatabaseUnavailable) as raised:
        db.check_current()
    db.dispose()
    assert str(raised.value) == (
        "the database schema is at e9_from_the_future, which this ticketgate does not know "
        f"(it needs {SCHEMA_HEAD}): a newer release migrated it; run that release")


def _compression_of(db: Database, inbound_id: int) -> tuple[str | None, bytes]:
    with db.engine.connect() as conn:
        method, raw = conn.execute(text(
            "SELECT pg_column_compression(raw), raw FROM inbound_raws WHERE id = :i"),
            {"i": inbound_id}).one()
    return method, bytes(raw)


def _lz4_available(db: Database) -> bool:
    with db.engine.connect() as conn:
        return bool(conn.execute(text(
            "SELECT 'lz4' = ANY(enumvals) FROM pg_settings "
            "WHERE name = 'default_toast_compression'")).scalar())


def _downgraded(database_url: str, revision: str) -> Database:
    db = Database(database_url)
    cfg = db._alembic_config()
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)
    return db


def _stored_before_f1(db: Database, mail: bytes) -> int:
    """A mail stored as the intake stored it before ``f1_inbound_raws``: in
    ``inbound_messages.raw``."""
    with db.engine.begin() as conn:
        return int(conn.execute(text(
            "INSERT INTO inbound_messages (sha256, mailbox, envelope_from, envelope_to, "
            "transport, raw, size, received_at, status, attempts, trace, defects) VALUES "
            "(:sha, 'care@desk.example', '', '[]', 'cli', :raw, :size, '2026-12-01 09:00:00', "
            "'received', 0, '[]', '[]') RETURNING id"),
            {"sha": hashlib.sha256(mail).hexdigest(), "raw": mail, "size": len(mail)}
        ).scalar_one())


def test_upgrading_to_lz4_keeps_stored_mail_and_compresses_new_mail_with_lz4(database_url):
    """d1_lz4_toast: a mail stored before the upgrade (pglz) reads back byte for byte, and a
    mail stored after is compressed with lz4; SQLite: the migration changes nothing."""
    db = _downgraded(database_url, "c2_contacts")
    mail = b"Subject: compressible\r\n\r\n" + b"The printer shows error 49.4C02.\r\n" * 300
    before = _stored_before_f1(db, mail)
    db.migrate()
    db.check_current()
    after = accept_many(db, [(mail + b"again\r\n", Envelope(mailbox="care@desk.example"))]
                        )[0].inbound_id
    if db.dialect != "postgresql":
        with db.session() as s:
            assert s.get(InboundMessage, before).raw == mail
        db.dispose()
        return
    old_method, old_raw = _compression_of(db, before)
    new_method, new_raw = _compression_of(db, after)
    lz4 = _lz4_available(db)
    db.dispose()
    assert old_raw == mail and new_raw == mail + b"again\r\n"
    assert old_method == "pglz"
    assert new_method == ("lz4" if lz4 else "pglz")


def test_upgrading_to_inbound_raws_keeps_every_stored_mail_byte_for_byte(database_url):
    """f1_inbound_raws moves the bytes out of inbound_messages; a mail stored before reads
    back the same through ``InboundMessage.raw``."""
    db = _downgraded(database_url, "e1_new_case_flood")
    mails = [b"Subject: one\r\n\r\nfirst\r\n", bytes(range(256)) * 40]
    ids = [_stored_before_f1(db, mail) for mail in mails]
    db.migrate()
    db.check_current()
    with db.session() as s:
        assert [s.get(InboundMessage, i).raw for i in ids] == mails
    db.dispose()


def test_downgrading_from_inbound_raws_puts_the_bytes_back(database_url):
    """f1_inbound_raws down: the column comes back with every mail's bytes."""
    db = Database(database_url)
    mail = b"Subject: kept\r\n\r\nkept\r\n"
    inbound_id = accept_many(db, [(mail, Envelope(mailbox="care@desk.example"))])[0].inbound_id
    db.dispose()
    db = _downgraded(database_url, "e1_new_case_flood")
    with db.engine.connect() as conn:
        raw = conn.execute(text("SELECT raw FROM inbound_messages WHERE id = :i"),
                           {"i": inbound_id}).scalar_one()
    db.migrate()
    db.dispose()
    assert bytes(raw) == mail
