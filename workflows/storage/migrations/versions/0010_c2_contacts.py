"""contacts and the case thread: soft removal of a contact, a case's kept Cc list, saved replies

Revision ID: c2_contacts
Revises: 0006
Create Date: 2026-12-06

``contacts.removed_at``: ``contact remove`` keeps the row (cases and the audit trail still
name it) and marks it; a removed contact counts as a stranger. ``cases.cc``: the addresses an
analyst copied on the thread (``case post --cc``), kept for later posts. ``saved_replies``:
the desk's canned responses (``workflows.saved_replies``).
"""
from alembic import op
import sqlalchemy as sa


revision = 'c2_contacts'
# Written on top of 0006; chained after c1_desk here so the worktree has one head (the lead
# re-chains when merging).
down_revision = 'c1_desk'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('removed_at', sa.DateTime(timezone=True),
                                      nullable=True))
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cc', sa.JSON(), nullable=True))
    op.create_table(
        'saved_replies',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('updated_by', sa.String(length=320), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('name'),
    )


def downgrade() -> None:
    op.drop_table('saved_replies')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_column('cc')
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.drop_column('removed_at')
