"""PostgreSQL: compress the mail columns with lz4 instead of pglz

Revision ID: d1_lz4_toast
Revises: c2_contacts
Create Date: 2026-12-06

PostgreSQL compresses a value when its row passes about 2 KB (TOAST), by default with pglz.
Every stored mail passes it: the raw bytes (5-10 KB), a reply's full text and sanitized HTML,
its search document's body and ``tsvector``. pglz is slow to compress; lz4 (PostgreSQL 14 and
later, when the server is built with it) compresses text like mail at several times the speed
for a slightly larger result. Issue 15's bench (``bench/process.py`` on PostgreSQL, 2,000
replies of 7.7 KB, CPU time of the server's backend around each statement, three alternated
pairs): 500-593 -> 425-453 us of server CPU a mail; the inbound insert 85-95 -> 50-65, the case
update's 55-67 -> 33-45 (the search document's stays ~220-250: its text search parser).

Only the method for new values changes: stored values keep theirs and read as before (each
compressed value records its method), so the upgrade rewrites nothing and takes no time. On
SQLite, and on a server without lz4, this migration does nothing.
"""
from alembic import op
import sqlalchemy as sa


revision = 'd1_lz4_toast'
down_revision = 'c2_contacts'
branch_labels = None
depends_on = None

# The columns that hold a mail or a large part of one.
COLUMNS = (
    ("inbound_messages", "raw"),
    ("outbound_messages", "raw"),
    ("case_updates", "visible_text"),
    ("case_updates", "full_text"),
    ("case_updates", "html"),
    ("search_documents", "body"),
    ("search_documents", "search_tsv"),
)


def _lz4_available() -> bool:
    # default_toast_compression lists lz4 among its values only on a server built with it
    # (and exists from PostgreSQL 14, where column compression began).
    return bool(op.get_bind().execute(sa.text(
        "SELECT 'lz4' = ANY(enumvals) FROM pg_settings "
        "WHERE name = 'default_toast_compression'")).scalar())


def _set_compression(method: str) -> None:
    if op.get_bind().dialect.name != 'postgresql' or not _lz4_available():
        return
    for table, column in COLUMNS:
        op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} SET COMPRESSION {method}")


def upgrade() -> None:
    _set_compression('lz4')


def downgrade() -> None:
    _set_compression('DEFAULT')
