"""post attachments: a file an analyst sends with an update names its outbound message

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('outbound_message_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_attachments_outbound_message_id'),
                              ['outbound_message_id'], unique=False)
        batch_op.create_foreign_key('fk_attachments_outbound_message_id', 'outbound_messages',
                                    ['outbound_message_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.drop_constraint('fk_attachments_outbound_message_id', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_attachments_outbound_message_id'))
        batch_op.drop_column('outbound_message_id')
