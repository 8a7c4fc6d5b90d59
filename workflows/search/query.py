"""Search cases by what was written: ranked, highlighted, paginated hits.

Place in the flow: outside the message flow; reads only, in the caller's transaction. The CLI
(``case search``), the API (``GET /api/v1/search``) and the console's search box call
``search``. Each whitespace-separated term of the query must appear (as a phrase of its words:
``CASE-1001`` is "case 1001", an address is its parts); terms are never query syntax, so no
input can make the query fail. SQLite ranks with FTS5's bm25, PostgreSQL with ``ts_rank_cd``;
both weigh number and subject over people and organization over bodies.

Ranking reads every document it ranks, so a word found in a third of a million messages would
cost seconds. Only the newest ``RANK_WINDOW`` matches are counted and ranked (found newest-first
by the index alone); a query that matches more says so (``SearchPage.more``): refine it.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy import bindparam, select, text
from sqlalchemy.orm import Session

from workflows.domain import Direction, UpdateKind
from workflows.storage.fulltext import FTS_TABLE, TS_CONFIG
from workflows.storage.models import Case, CaseUpdate, Organization, SearchDocument

MAX_TERMS = 16
MAX_PER_PAGE = 100
RANK_WINDOW = 10_000
_START, _STOP = "\x02", "\x03"  # highlight marks: control characters no mail text keeps
_WORD = re.compile(r"\w", re.UNICODE)
# bm25 weights per FTS5 column: number, subject, people, organization, body.
_BM25 = "10.0, 8.0, 3.0, 3.0, 1.0"


@dataclass(frozen=True, slots=True)
class Fragment:
    """A piece of a snippet; ``hit`` pieces are what matched (the console marks them)."""

    text: str
    hit: bool


@dataclass(frozen=True, slots=True)
class SearchHit:
    number: str
    subject: str
    status: str
    organization: str
    source: str  # "case" (number, subject, contact), or the update: inbound, outbound, note
    author: str | None
    at: dt.datetime
    score: float  # higher is better
    snippet: tuple[Fragment, ...]

    @property
    def snippet_text(self) -> str:
        """The snippet with its hits in [brackets], for plain-text output."""
        return "".join(f"[{f.text}]" if f.hit else f.text for f in self.snippet)


@dataclass(frozen=True, slots=True)
class SearchPage:
    query: str
    items: tuple[SearchHit, ...]
    page: int
    per_page: int
    total: int  # counted up to RANK_WINDOW
    more: bool = False  # more matches than RANK_WINDOW: only the newest were ranked

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def terms_of(query: str) -> list[str]:
    """The query's terms: whitespace-separated, each with at least one letter or digit."""
    return [t for t in query.replace("\x00", " ").split() if _WORD.search(t)][:MAX_TERMS]


def fragments(snippet: str) -> tuple[Fragment, ...]:
    """Split a marked snippet (``_START`` hit ``_STOP``) into fragments."""
    out: list[Fragment] = []
    for i, part in enumerate(re.split(f"[{_START}{_STOP}]", snippet)):
        if part:
            out.append(Fragment(part, i % 2 == 1))
    return tuple(out)


def _fts5_query(terms: list[str]) -> str:
    # Each term a quoted FTS5 string (a phrase of its tokens); '"' doubled (FTS5 3.1).
    return " ".join('"' + t.replace('"', '""') + '"' for t in terms)


# Ranked ids first, snippets for the page's rows only: SQLite computes a result column before
# sorting, so a snippet in the ranking query would be made for every match.
_SQLITE_RANK = f"""
SELECT rowid AS id, -bm25({FTS_TABLE}, {_BM25}) AS score FROM {FTS_TABLE}
WHERE {FTS_TABLE} MATCH :q AND rowid >= :floor
ORDER BY bm25({FTS_TABLE}, {_BM25}), rowid DESC LIMIT :limit OFFSET :offset"""
_SQLITE_SNIPPETS = text(f"""
SELECT rowid AS id, snippet({FTS_TABLE}, -1, :start, :stop, '…', 24) AS snip FROM {FTS_TABLE}
WHERE {FTS_TABLE} MATCH :q AND rowid IN :ids""").bindparams(bindparam("ids", expanding=True))
# FTS5 walks a term's doclist in rowid order, either way, without reading documents.
_SQLITE_WINDOW = f"""
SELECT count(*), min(rowid) FROM (SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH :q
                                  ORDER BY rowid DESC LIMIT :window)"""


def _pg_tsquery(terms: list[str]) -> tuple[str, dict[str, str]]:
    parts = [f"phraseto_tsquery('{TS_CONFIG}', :t{i})" for i in range(len(terms))]
    return " && ".join(parts), {f"t{i}": t for i, t in enumerate(terms)}


def _pg_sql(tsquery: str) -> tuple[str, str]:
    # The tsquery is written out in each query, not shared through a CTE: the planner then
    # sees the words and estimates how many rows match, so a common word is found walking the
    # primary key backwards (newest first, stopping at the window) instead of every match.
    # An update's snippet comes from its text where the text matches, else from its author:
    # headlined together, a short reply's snippet ran on into the author's address (SQLite's
    # snippet() picks the best column in the same way). Only the page's rows are headlined, so
    # the to_tsvector here runs for at most a page of bodies.
    headline = (f"ts_headline('{TS_CONFIG}', CASE WHEN d.update_id IS NULL THEN "
                "d.number || ' ' || d.subject || ' ' || d.people || ' ' || d.organization "
                f"WHEN to_tsvector('{TS_CONFIG}', d.body) @@ ({tsquery}) THEN d.body "
                f"ELSE d.people END, {tsquery}, :options)")
    # PostgreSQL evaluates a costly output column (ts_headline) after the sort and limit.
    rows = f"""
SELECT d.id, ts_rank_cd(d.search_tsv, {tsquery}) AS score, {headline} AS snip
FROM search_documents d WHERE d.search_tsv @@ ({tsquery}) AND d.id >= :floor
ORDER BY score DESC, d.id DESC LIMIT :limit OFFSET :offset"""
    window = (f"SELECT count(*), min(id) FROM (SELECT d.id FROM search_documents d "
              f"WHERE d.search_tsv @@ ({tsquery}) ORDER BY d.id DESC LIMIT :window) m")
    return rows, window


_PG_OPTIONS = (f"StartSel={_START}, StopSel={_STOP}, MaxWords=30, MinWords=12, "
               "MaxFragments=2, FragmentDelimiter=\" … \"")


@dataclass(frozen=True, slots=True)
class _Ranked:
    """A document on the page: its id, score (higher is better) and marked snippet."""

    doc_id: int
    score: float
    snippet: str


def _source(kind: str, direction: str) -> str:
    if kind == UpdateKind.NOTE.value or direction == Direction.INTERNAL.value:
        return "note"
    return direction


def search(session: Session, query: str, *, page: int = 1, per_page: int = 25) -> SearchPage:
    """One page of hits for ``query``, best first (an empty query finds nothing)."""
    page = max(1, page)
    per_page = max(1, min(per_page, MAX_PER_PAGE))
    terms = terms_of(query)
    if not terms:
        return SearchPage(query, (), page, per_page, 0)
    paging = {"limit": per_page, "offset": (page - 1) * per_page}
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres:
        tsquery, params = _pg_tsquery(terms)
        rows_sql, window_sql = _pg_sql(tsquery)
    else:
        params, rows_sql, window_sql = {"q": _fts5_query(terms)}, _SQLITE_RANK, _SQLITE_WINDOW
    total, floor = session.execute(text(window_sql), {**params, "window": RANK_WINDOW + 1}
                                   ).one()
    more = total > RANK_WINDOW
    if not total:
        return SearchPage(query, (), page, per_page, 0)
    # With more matches than the window, the (RANK_WINDOW + 1)-th newest is left out too.
    window = {**params, **paging, "floor": floor + 1 if more else floor}
    if postgres:
        ranked = [_Ranked(r.id, float(r.score), r.snip or "") for r in session.execute(
            text(rows_sql), {**window, "options": _PG_OPTIONS})]
    else:
        scores = [(r.id, float(r.score)) for r in session.execute(text(rows_sql), window)]
        snips: dict[int, str] = {r.id: r.snip for r in session.execute(_SQLITE_SNIPPETS, {
            **params, "ids": [i for i, _ in scores], "start": _START, "stop": _STOP})}
        ranked = [_Ranked(i, score, snips.get(i) or "") for i, score in scores]
    return SearchPage(query, tuple(_hits(session, ranked)), page, per_page,
                      min(int(total), RANK_WINDOW), more)



def _hits(session: Session, ranked: list[_Ranked]) -> list[SearchHit]:
    """The page's documents with their cases and updates, loaded by id: only the columns a
    hit shows."""
    docs = {d.id: d for d in session.execute(
        select(SearchDocument.id, SearchDocument.case_id, SearchDocument.update_id,
               SearchDocument.created_at)
        .where(SearchDocument.id.in_([r.doc_id for r in ranked])))} if ranked else {}
    case_ids = {d.case_id for d in docs.values()}
    update_ids = {d.update_id for d in docs.values() if d.update_id is not None}
    cases = {row.id: row for row in session.execute(
        select(Case.id, Case.number, Case.subject, Case.status, Organization.name)
        .join(Organization, Organization.id == Case.organization_id)
        .where(Case.id.in_(case_ids)))} if case_ids else {}
    updates = {row.id: row for row in session.execute(
        select(CaseUpdate.id, CaseUpdate.kind, CaseUpdate.direction, CaseUpdate.author)
        .where(CaseUpdate.id.in_(update_ids)))} if update_ids else {}
    hits = []
    for r in ranked:
        doc = docs[r.doc_id]
        case = cases[doc.case_id]
        update = updates.get(doc.update_id) if doc.update_id is not None else None
        hits.append(SearchHit(
            case.number, case.subject, case.status, case.name,
            _source(update.kind, update.direction) if update else "case",
            update.author if update else None, doc.created_at, round(r.score, 4),
            fragments(r.snippet)))
    return hits
