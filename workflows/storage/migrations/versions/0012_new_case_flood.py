"""cases: an index on (contact_id, created_at) for loop protection

Revision ID: e1_new_case_flood
Revises: d1_lz4_toast
Create Date: 2026-12-07

New mail from a designated contact to an ``open_case`` mailbox counts the cases that
contact's mail opened in the last ``new_cases_window_hours`` (``workflows.inbound.floods``);
without the index each such mail read the whole ``cases`` table.
"""
from alembic import op


revision = 'e1_new_case_flood'
down_revision = 'd1_lz4_toast'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_cases_contact_created', 'cases', ['contact_id', 'created_at'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_cases_contact_created', table_name='cases')
