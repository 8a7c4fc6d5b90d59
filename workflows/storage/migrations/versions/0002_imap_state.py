"""imap folder state: how far each IMAP poller has committed each folder

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""
import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('imap_folder_state',
    sa.Column('account', sa.String(length=200), nullable=False),
    sa.Column('folder', sa.String(length=1000), nullable=False),
    sa.Column('uidvalidity', sa.BigInteger(), nullable=False),
    sa.Column('last_uid', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('account', 'folder')
    )


def downgrade() -> None:
    op.drop_table('imap_folder_state')
