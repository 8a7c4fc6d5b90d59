"""The parts of the full-text index that are not SQLAlchemy models, by name.

Place in the flow: the migration ``c1_desk`` creates them; ``workflows.search`` queries
them; schema comparison (``tests/storage``, ``alembic`` autogenerate) must not mistake them for
tables or columns the models forgot. SQLite: the FTS5 table ``search_fts`` (external content:
``search_documents``) and its shadow tables ``search_fts_*``, kept by triggers. PostgreSQL: the
stored generated column ``search_documents.search_tsv`` (a ``tsvector``) and its GIN index.

Cost of indexing, measured for issue 15 (server CPU of a backend, 3,000 inserts of the bench's
reply documents, 2 KB bodies): about 200 us a document, of which ~150 us is the default text
search parser reading the body (``to_tsvector`` on the empty number/subject and the short
people field cost next to nothing, so one call instead of three would not pay); the GIN index
with its default ``fastupdate`` ~6 us (``fastupdate=off``: +100 us); the row itself ~20 us.
The parser's work is what makes the body searchable, so it stays. SQLite: the FTS5 trigger
costs ~30 us a document, nearly all tokenizing; ``detail=column`` saved 2-4 us but refuses
phrase queries, which every term with punctuation is (``CASE-1001``).

Measured again (issue 15, the 7.7 KB bench replies): the body indexed is the reply's visible
text (2.0 KB of the bench's 2.3 KB text part), never the quoted original, which is our own
update's document already. On PostgreSQL the ``tsvector`` is computed once, when the row is
inserted (a reply's document is never updated): 230-270 us of server CPU a document against
20-35 us without it, in batches of 200; ``fastupdate=off`` added 100-200 us and a 16 MB
``gin_pending_list_limit`` nothing measurable, so the GIN index keeps its defaults. On SQLite
the cost that could go was FTS5 writing a segment per document: see ``workflows.storage.bulk``.
``columnsize=0`` would spare a row per document but make bm25 tokenize every ranked document
at query time; no prefix index is declared.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

FTS_TABLE = "search_fts"
# The FTS5 table's external content, which its triggers index.
FTS_CONTENT_TABLE = "search_documents"
TSV_COLUMN = "search_tsv"
TSV_INDEX = "ix_search_documents_tsv"
# Text search configuration: 'simple' (no stemming, no stop words) matches FTS5's unicode61
# tokenizer, so both backends find the same words in a multilingual desk's mail.
TS_CONFIG = "simple"


def include_name(name: str | None, type_: Any, _parents: MutableMapping[Any, str | None]
                 ) -> bool:
    """Alembic's ``include_name`` hook: leave the full-text machinery out of comparisons."""
    if name is None:
        return True
    if type_ == "table":
        return not name.startswith(FTS_TABLE)
    return name not in (TSV_COLUMN, TSV_INDEX)
