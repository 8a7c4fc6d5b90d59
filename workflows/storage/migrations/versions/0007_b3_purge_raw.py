"""purge raw: when the files were cut out of a stored mail's raw MIME (workflows.timers.purge)

Revision ID: b3_purge_raw
Revises: 0006
Create Date: 2026-12-06
"""
from alembic import op
import sqlalchemy as sa


revision = 'b3_purge_raw'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('inbound_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('files_purged_at', sa.DateTime(timezone=True),
                                      nullable=True))
    with op.batch_alter_table('outbound_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('files_purged_at', sa.DateTime(timezone=True),
                                      nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('outbound_messages', schema=None) as batch_op:
        batch_op.drop_column('files_purged_at')
    with op.batch_alter_table('inbound_messages', schema=None) as batch_op:
        batch_op.drop_column('files_purged_at')
