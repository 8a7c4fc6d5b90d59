"""case lifecycle: due timers and the organizations' business calendars

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('business_hours', sa.String(length=11), nullable=True))
        batch_op.add_column(sa.Column('workdays', sa.String(length=27), nullable=True))
        batch_op.add_column(sa.Column('closed_days', sa.JSON(), nullable=True))

    op.create_table('due_timers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('fired_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.String(length=24), nullable=True),
    sa.Column('outbound_message_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.ForeignKeyConstraint(['outbound_message_id'], ['outbound_messages.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('due_timers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_due_timers_case_id'), ['case_id'], unique=False)
        batch_op.create_index('ix_due_timers_pending', ['fired_at', 'due_at', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('due_timers', schema=None) as batch_op:
        batch_op.drop_index('ix_due_timers_pending')
        batch_op.drop_index(batch_op.f('ix_due_timers_case_id'))

    op.drop_table('due_timers')
    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.drop_column('closed_days')
        batch_op.drop_column('workdays')
        batch_op.drop_column('business_hours')
