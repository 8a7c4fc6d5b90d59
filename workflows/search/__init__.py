"""Full-text search over cases.

Place in the flow: beside the case services: ``index`` writes search documents in the caller's
transaction, ``query`` reads them (SQLite FTS5 or PostgreSQL full-text search).
"""
