"""mail retry: case mail deferred by a temporary failure waits for its next attempt

Revision ID: a1_mail_retry
Revises: b3_purge_raw
Create Date: 2026-12-06
"""
from alembic import op
import sqlalchemy as sa


revision = 'a1_mail_retry'
down_revision = 'b3_purge_raw'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbound_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    # Rows deferred by the retry rule go back to the old "queued, retried by the outbox".
    op.execute("UPDATE outbound_messages SET status = 'queued' WHERE status = 'deferred'")
    with op.batch_alter_table('outbound_messages', schema=None) as batch_op:
        batch_op.drop_column('next_attempt_at')
