"""The Alembic migrations build exactly the schema the models describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from workflows.storage.db import Database
from workflows.storage.fulltext import include_name
from workflows.storage.models import Base


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
