"""Storage: tables, engine, migrations, blobs.

Place in the flow: under every stage. ``base`` (the declarative base every table module
imports), ``models*`` (the tables), ``db`` (engine and transactions), ``migrations`` (Alembic),
``blobs`` (attachment bytes by sha256), ``imap_state`` and ``bulk``.
"""
