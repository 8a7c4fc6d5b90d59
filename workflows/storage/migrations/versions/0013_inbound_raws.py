"""inbound_messages.raw moved to a table of its own, inbound_raws

Revision ID: f1_inbound_raws
Revises: e1_new_case_flood
Create Date: 2026-12-07

SQLite rewrites a whole row on every UPDATE, a blob's overflow pages included: each change of
an inbound row's status (claimed, processed, failed) wrote the mail's bytes to the WAL again,
and to the database at the next checkpoint. Issue 15's bench (200 replies of 7 KB a batch):
the processing commit's UPDATEs alone wrote 1.6 MB of WAL, as much as the intake's INSERTs.
The bytes now live in ``inbound_raws`` (one row per inbound message, same id), written once.

The upgrade copies every stored mail across, byte for byte, then drops the column in place. On PostgreSQL the new column is
compressed with lz4 where the server has it, as ``d1_lz4_toast`` set for the old one.
"""
from alembic import op
import sqlalchemy as sa


revision = 'f1_inbound_raws'
down_revision = 'e1_new_case_flood'
branch_labels = None
depends_on = None


def _lz4_available() -> bool:
    return bool(op.get_bind().execute(sa.text(
        "SELECT 'lz4' = ANY(enumvals) FROM pg_settings "
        "WHERE name = 'default_toast_compression'")).scalar())


def upgrade() -> None:
    op.create_table(
        'inbound_raws',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('raw', sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(['id'], ['inbound_messages.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    if op.get_bind().dialect.name == 'postgresql' and _lz4_available():
        op.execute("ALTER TABLE inbound_raws ALTER COLUMN raw SET COMPRESSION lz4")
    op.execute("INSERT INTO inbound_raws (id, raw) SELECT id, raw FROM inbound_messages")
    # ALTER TABLE ... DROP COLUMN, not Alembic's batch mode: on SQLite a batch rebuilds the
    # table and drops the old one, and with foreign keys on that DROP deletes its rows first,
    # which would cascade to inbound_raws and be refused by every other table that refers to
    # inbound messages. SQLite has dropped a column in place since 3.35 (2021).
    op.execute("ALTER TABLE inbound_messages DROP COLUMN raw")


def downgrade() -> None:
    # Added nullable: SQLite cannot make a column NOT NULL without rebuilding the table
    # (see above); PostgreSQL gets its constraint back once every row has its bytes.
    op.execute("ALTER TABLE inbound_messages ADD COLUMN raw "
               + ("BYTEA" if op.get_bind().dialect.name == 'postgresql' else "BLOB"))
    op.execute("UPDATE inbound_messages SET raw = "
               "(SELECT raw FROM inbound_raws WHERE inbound_raws.id = inbound_messages.id)")
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("ALTER TABLE inbound_messages ALTER COLUMN raw SET NOT NULL")
    op.drop_table('inbound_raws')
