"""desk: case owners and unread replies, notes' files, mailbox rotation, full-text search

Revision ID: c1_desk
Revises: a1_mail_retry
Create Date: 2026-12-06

Search: ``search_documents`` on both backends; on SQLite an FTS5 index over it (external
content, kept by triggers in the writing transaction), on PostgreSQL a stored generated
``tsvector`` column with a GIN index. Existing cases and updates are indexed here, so an
upgraded desk finds its history at once (``ticketgate search reindex`` rebuilds it any time).
"""
from alembic import op
import sqlalchemy as sa


revision = 'c1_desk'
down_revision = 'a1_mail_retry'
branch_labels = None
depends_on = None

_FTS_COLUMNS = "number, subject, people, organization, body"
_NEW = ", ".join(f"new.{c.strip()}" for c in _FTS_COLUMNS.split(","))
_OLD = ", ".join(f"old.{c.strip()}" for c in _FTS_COLUMNS.split(","))
_TSV = ("setweight(to_tsvector('simple'::regconfig, coalesce(number, '') || ' ' || "
        "coalesce(subject, '')), 'A') || "
        "setweight(to_tsvector('simple'::regconfig, coalesce(people, '') || ' ' || "
        "coalesce(organization, '')), 'B') || "
        "setweight(to_tsvector('simple'::regconfig, coalesce(body, '')), 'C')")


def upgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('assignee_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('owner_unread', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.create_index(batch_op.f('ix_cases_assignee_id'), ['assignee_id'],
                              unique=False)
        batch_op.create_foreign_key('fk_cases_assignee_id', 'console_users',
                                    ['assignee_id'], ['id'])
    with op.batch_alter_table('console_users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('notify_by_mail', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    with op.batch_alter_table('case_updates', schema=None) as batch_op:
        batch_op.add_column(sa.Column('author_name', sa.String(length=200), nullable=True))
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('case_update_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_attachments_case_update_id'),
                              ['case_update_id'], unique=False)
        batch_op.create_foreign_key('fk_attachments_case_update_id', 'case_updates',
                                    ['case_update_id'], ['id'])
    op.create_table('mailbox_rotations',
    sa.Column('mailbox', sa.String(length=320), nullable=False),
    sa.Column('last_user_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('mailbox')
    )
    op.create_table('search_documents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('update_id', sa.Integer(), nullable=True),
    sa.Column('number', sa.String(length=32), nullable=False),
    sa.Column('subject', sa.Text(), nullable=False),
    sa.Column('people', sa.Text(), nullable=False),
    sa.Column('organization', sa.Text(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.ForeignKeyConstraint(['update_id'], ['case_updates.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('update_id')
    )
    with op.batch_alter_table('search_documents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_search_documents_case_id'), ['case_id'],
                              unique=False)
    dialect = op.get_bind().dialect.name
    if dialect == 'sqlite':
        # unicode61 with diacritics folded: "resume" finds "résumé" (FTS5 4.3.1).
        op.execute(f"CREATE VIRTUAL TABLE search_fts USING fts5({_FTS_COLUMNS}, "
                   "content='search_documents', content_rowid='id', "
                   "tokenize='unicode61 remove_diacritics 2')")
        op.execute(f"CREATE TRIGGER search_documents_ai AFTER INSERT ON search_documents "
                   f"BEGIN INSERT INTO search_fts(rowid, {_FTS_COLUMNS}) "
                   f"VALUES (new.id, {_NEW}); END")
        op.execute(f"CREATE TRIGGER search_documents_ad AFTER DELETE ON search_documents "
                   f"BEGIN INSERT INTO search_fts(search_fts, rowid, {_FTS_COLUMNS}) "
                   f"VALUES ('delete', old.id, {_OLD}); END")
        op.execute(f"CREATE TRIGGER search_documents_au AFTER UPDATE ON search_documents "
                   f"BEGIN INSERT INTO search_fts(search_fts, rowid, {_FTS_COLUMNS}) "
                   f"VALUES ('delete', old.id, {_OLD}); "
                   f"INSERT INTO search_fts(rowid, {_FTS_COLUMNS}) "
                   f"VALUES (new.id, {_NEW}); END")
    elif dialect == 'postgresql':
        op.execute(f"ALTER TABLE search_documents ADD COLUMN search_tsv tsvector "
                   f"GENERATED ALWAYS AS ({_TSV}) STORED")
        op.execute("CREATE INDEX ix_search_documents_tsv ON search_documents "
                   "USING gin (search_tsv)")
    # What existed before: each case, and each update with its visible text.
    op.execute(
        "INSERT INTO search_documents (case_id, update_id, number, subject, people, "
        "organization, body, created_at) "
        "SELECT c.id, NULL, c.number, c.subject, "
        "coalesce(ct.email, '') || ' ' || coalesce(ct.name, ''), coalesce(o.name, ''), '', "
        "c.created_at FROM cases c LEFT JOIN contacts ct ON ct.id = c.contact_id "
        "LEFT JOIN organizations o ON o.id = c.organization_id")
    op.execute(
        "INSERT INTO search_documents (case_id, update_id, number, subject, people, "
        "organization, body, created_at) "
        "SELECT u.case_id, u.id, '', '', u.author, '', substr(u.visible_text, 1, 100000), "
        "u.created_at FROM case_updates u")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == 'sqlite':
        for name in ('search_documents_ai', 'search_documents_ad', 'search_documents_au'):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS search_fts")
    with op.batch_alter_table('search_documents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_search_documents_case_id'))
    op.drop_table('search_documents')
    op.drop_table('mailbox_rotations')
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.drop_constraint('fk_attachments_case_update_id', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_attachments_case_update_id'))
        batch_op.drop_column('case_update_id')
    with op.batch_alter_table('case_updates', schema=None) as batch_op:
        batch_op.drop_column('author_name')
    with op.batch_alter_table('console_users', schema=None) as batch_op:
        batch_op.drop_column('notify_by_mail')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_constraint('fk_cases_assignee_id', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_cases_assignee_id'))
        batch_op.drop_column('owner_unread')
        batch_op.drop_column('assignee_id')
