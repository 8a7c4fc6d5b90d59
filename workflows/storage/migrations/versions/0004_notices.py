"""outbound notices: notices, mailings, per-recipient deliveries, suppressions, the automated
mail log, inquiries, organization profiles, blackout periods and case report schedules

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('automated_mail_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('recipient', sa.String(length=320), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('automated_mail_log', schema=None) as batch_op:
        batch_op.create_index('ix_automated_mail_log_recipient_at', ['recipient', 'at'], unique=False)

    op.create_table('notice_sequences',
    sa.Column('prefix', sa.String(length=8), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('next_value', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('prefix', 'year')
    )
    op.create_table('notices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('impact', sa.Text(), nullable=False),
    sa.Column('details', sa.Text(), nullable=False),
    sa.Column('recommendation', sa.Text(), nullable=False),
    sa.Column('link', sa.Text(), nullable=True),
    sa.Column('window', sa.String(length=16), nullable=True),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('components', sa.JSON(), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('forced', sa.Boolean(), nullable=False),
    sa.Column('force_reason', sa.Text(), nullable=True),
    sa.Column('overridden', sa.JSON(), nullable=False),
    sa.Column('created_by', sa.String(length=320), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('all_clear_text', sa.Text(), nullable=True),
    sa.Column('rca_due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('rca_reminders', sa.Integer(), nullable=False),
    sa.Column('rca_delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('rca_link', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('reference')
    )
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notices_state'), ['state'], unique=False)

    op.create_table('notice_audience',
    sa.Column('notice_id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('agents_affected', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['notice_id'], ['notices.id'], ),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], ),
    sa.PrimaryKeyConstraint('notice_id', 'organization_id')
    )
    op.create_table('notice_blackouts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=True),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('created_by', sa.String(length=320), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('notice_blackouts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notice_blackouts_organization_id'), ['organization_id'], unique=False)

    op.create_table('notice_profiles',
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('agents', sa.Integer(), nullable=True),
    sa.Column('components', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], ),
    sa.PrimaryKeyConstraint('organization_id')
    )
    op.create_table('notice_report_schedules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('cadence', sa.String(length=16), nullable=False),
    sa.Column('recipients', sa.JSON(), nullable=False),
    sa.Column('next_due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('notice_report_schedules', schema=None) as batch_op:
        batch_op.create_index('ix_notice_report_schedules_due', ['active', 'next_due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_notice_report_schedules_organization_id'), ['organization_id'], unique=False)

    op.create_table('notice_status_updates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('notice_id', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=320), nullable=False),
    sa.ForeignKeyConstraint(['notice_id'], ['notices.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('notice_status_updates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notice_status_updates_notice_id'), ['notice_id'], unique=False)

    op.create_table('notice_mailings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('notice_id', sa.Integer(), nullable=True),
    sa.Column('report_schedule_id', sa.Integer(), nullable=True),
    sa.Column('purpose', sa.String(length=24), nullable=False),
    sa.Column('slot', sa.Integer(), nullable=True),
    sa.Column('dedupe_key', sa.String(length=200), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['notice_id'], ['notices.id'], ),
    sa.ForeignKeyConstraint(['report_schedule_id'], ['notice_report_schedules.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('dedupe_key')
    )
    with op.batch_alter_table('notice_mailings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notice_mailings_notice_id'), ['notice_id'], unique=False)

    op.create_table('notice_parts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('mailing_id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=True),
    sa.Column('subject', sa.Text(), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['mailing_id'], ['notice_mailings.id'], ),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('notice_parts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notice_parts_mailing_id'), ['mailing_id'], unique=False)

    op.create_table('notice_deliveries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('mailing_id', sa.Integer(), nullable=False),
    sa.Column('part_id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=True),
    sa.Column('recipient', sa.String(length=320), nullable=False),
    sa.Column('message_id', sa.String(length=998), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('claim_token', sa.String(length=32), nullable=True),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('bounced_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['mailing_id'], ['notice_mailings.id'], ),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], ),
    sa.ForeignKeyConstraint(['part_id'], ['notice_parts.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('message_id')
    )
    with op.batch_alter_table('notice_deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_notice_deliveries_due', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_notice_deliveries_mailing_id'), ['mailing_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notice_deliveries_recipient'), ['recipient'], unique=False)

    op.create_table('notice_inquiries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('notice_id', sa.Integer(), nullable=False),
    sa.Column('inbound_message_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['inbound_message_id'], ['inbound_messages.id'], ),
    sa.ForeignKeyConstraint(['notice_id'], ['notices.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('inbound_message_id')
    )
    with op.batch_alter_table('notice_inquiries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notice_inquiries_notice_id'), ['notice_id'], unique=False)

    op.create_table('notice_suppressions',
    sa.Column('recipient', sa.String(length=320), nullable=False),
    sa.Column('reason', sa.String(length=64), nullable=False),
    sa.Column('since', sa.DateTime(timezone=True), nullable=False),
    sa.Column('delivery_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['delivery_id'], ['notice_deliveries.id'], ),
    sa.PrimaryKeyConstraint('recipient')
    )


def downgrade() -> None:
    op.drop_table('notice_suppressions')
    with op.batch_alter_table('notice_inquiries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notice_inquiries_notice_id'))

    op.drop_table('notice_inquiries')
    with op.batch_alter_table('notice_deliveries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notice_deliveries_recipient'))
        batch_op.drop_index(batch_op.f('ix_notice_deliveries_mailing_id'))
        batch_op.drop_index('ix_notice_deliveries_due')

    op.drop_table('notice_deliveries')
    with op.batch_alter_table('notice_parts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notice_parts_mailing_id'))

    op.drop_table('notice_parts')
    with op.batch_alter_table('notice_mailings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notice_mailings_notice_id'))

    op.drop_table('notice_mailings')
    with op.batch_alter_table('notice_status_updates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notice_status_updates_notice_id'))

    op.drop_table('notice_status_updates')
    with op.batch_alter_table('notice_report_schedules', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notice_report_schedules_organization_id'))
        batch_op.drop_index('ix_notice_report_schedules_due')

    op.drop_table('notice_report_schedules')
    op.drop_table('notice_profiles')
    with op.batch_alter_table('notice_blackouts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notice_blackouts_organization_id'))

    op.drop_table('notice_blackouts')
    op.drop_table('notice_audience')
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notices_state'))

    op.drop_table('notices')
    op.drop_table('notice_sequences')
    with op.batch_alter_table('automated_mail_log', schema=None) as batch_op:
        batch_op.drop_index('ix_automated_mail_log_recipient_at')

    op.drop_table('automated_mail_log')
