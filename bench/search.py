"""Full-text search over 1,000,000 messages: query latency (p50/p99) of ``case search``.

Builds, with Core bulk inserts, one organization, ``--messages / 10`` cases and ``--messages``
case updates (customer mail and analyst replies alternating, 20-60 words each from a synthetic
vocabulary with a Zipf-like spread, so some words are everywhere and some almost nowhere), and
their search documents: through the same table and the same database-side index as production
(FTS5 triggers on SQLite, the generated tsvector column and its GIN index on PostgreSQL), so
setup time is also the indexing throughput. Then times ``workflows.search.query.search`` — the
service the CLI, API and console call: count, ranked page of 25, snippets, cases loaded — over a
mix of queries: a rare word (about 10 hits), a medium word (about 1%), a common word (about
30%), two words together, a case number, a sender's address, and page 5 of the common word.

Baselines measured in the same run, on the same data:

- ``like_10k``: what the console did before (``ILIKE '%word%'``) over the first 10,000
  documents only, ranked by nothing — a hundredth of the data;
- ``like_full``: the same LIKE scan over every document (a few runs: it is slow);
- ``raw_index``: the bare index query (``MATCH`` / ``@@``, first 25 ids), no count, snippet or
  loading: what the service adds on top of the index.

    .venv/bin/python bench/search.py [--messages 1000000] [--rounds 30] [--database-url URL]

With ``--database-url`` (a PostgreSQL server URL) a scratch database is created there and
dropped afterwards. No assertion on the figures: they are printed as one JSON object.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script from anywhere

from sqlalchemy import insert, text

from bench.scratch import scratch_desk
from workflows.domain import CaseStatus, Direction, Severity, UpdateKind
from workflows.runtime import Runtime
from workflows.search.query import search
from workflows.storage.models import Case, CaseUpdate, SearchDocument

START = dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC)
BATCH = 20_000
PER_CASE = 10
VOCABULARY = 20_000
SYLLABLES = ("ka", "lo", "mi", "tre", "vo", "sa", "ne", "ru", "pi", "do", "fe", "gu", "zo",
             "ba", "xi", "qu", "ly", "ost", "ran", "tel")
PLANTED = {"rare": "zanzibarite", "medium": "quokkafirm", "common": "printer"}


def _vocabulary(rng: random.Random) -> list[str]:
    words: set[str] = set()
    while len(words) < VOCABULARY:
        words.add("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))))
    return sorted(words)


def _body(rng: random.Random, words: list[str], weights: list[float], i: int, n: int) -> str:
    picked = rng.choices(words, cum_weights=weights, k=rng.randint(20, 60))
    if i % max(n // 10, 1) == 7:
        picked.insert(rng.randrange(len(picked)), PLANTED["rare"])
    if i % 100 == 3:
        picked.insert(rng.randrange(len(picked)), PLANTED["medium"])
    if rng.random() < 0.3:
        picked.insert(rng.randrange(len(picked)), PLANTED["common"])
    return " ".join(picked).capitalize() + "."


def bulk_insert(rt: Runtime, messages: int, org_id: int, contact_id: int) -> float:
    """The cases, updates and search documents; returns the seconds it took."""
    rng = random.Random(13)
    words = _vocabulary(rng)
    cum, total = [], 0.0
    for rank in range(1, len(words) + 1):  # Zipf: the k-th word is 1/k as frequent
        total += 1.0 / rank
        cum.append(total)
    cases = max(messages // PER_CASE, 1)
    began = time.perf_counter()
    with rt.db.transaction() as s:
        for lo in range(0, cases, BATCH):
            rows = [{"id": 1 + c, "number": f"CASE-{10_000 + c}", "family": "case",
                     "organization_id": org_id, "contact_id": contact_id,
                     "subject": f"{words[c % 500].capitalize()} issue {c}",
                     "case_type": "support", "severity": Severity.MEDIUM.value,
                     "status": CaseStatus.OPEN.value, "escalated": False,
                     "created_at": START, "updated_at": START, "status_changed_at": START,
                     "owner_unread": False}
                    for c in range(lo, min(lo + BATCH, cases))]
            s.execute(insert(Case), rows)
            s.execute(insert(SearchDocument), [
                {"case_id": r["id"], "update_id": None, "number": r["number"],
                 "subject": r["subject"], "people": "alice@acme.example Alice",
                 "organization": "Acme", "body": "", "created_at": START} for r in rows])
    for lo in range(0, messages, BATCH):
        updates, docs = [], []
        for i in range(lo, min(lo + BATCH, messages)):
            inbound = i % 2 == 0
            author = f"user{i % 5000}@acme.example" if inbound else "analyst@desk.example"
            at = START + dt.timedelta(seconds=i)
            body = _body(rng, words, cum, i, messages)
            updates.append({"id": 1 + i, "case_id": 1 + i % cases,
                            "kind": (UpdateKind.REPLY if inbound else UpdateKind.POST).value,
                            "direction": (Direction.INBOUND if inbound
                                          else Direction.OUTBOUND).value,
                            "author": author, "visible_text": body, "full_text": body,
                            "created_at": at})
            docs.append({"case_id": 1 + i % cases, "update_id": 1 + i, "number": "",
                         "subject": "", "people": author, "organization": "", "body": body,
                         "created_at": at})
        with rt.db.transaction() as s:
            s.execute(insert(CaseUpdate), updates)
            s.execute(insert(SearchDocument), docs)
    if rt.db.dialect == "postgresql":
        with rt.db.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(
                text("VACUUM ANALYZE search_documents"))
    return time.perf_counter() - began


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return {"p50_ms": round(statistics.median(ordered) * 1000, 2),
            "p99_ms": round(p99 * 1000, 2), "runs": len(ordered)}


def _timed(fn, rounds: int) -> list[float]:  # type: ignore[no-untyped-def]
    out = []
    for _ in range(rounds):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def queries(messages: int) -> dict[str, tuple[str, int]]:
    cases = max(messages // PER_CASE, 1)
    return {"rare_word": (PLANTED["rare"], 1), "medium_word": (PLANTED["medium"], 1),
            "common_word": (PLANTED["common"], 1),
            "two_words": (f"{PLANTED['common']} {PLANTED['medium']}", 1),
            "case_number": (f"CASE-{10_000 + cases // 2}", 1),
            "sender_address": ("user4242@acme.example", 1),
            "common_page_5": (PLANTED["common"], 5)}


def measure(rt: Runtime, messages: int, rounds: int) -> dict[str, object]:
    results: dict[str, object] = {}
    service: list[float] = []
    hits: dict[str, int] = {}
    for name, (q, page) in queries(messages).items():
        with rt.db.transaction() as s:
            hits[name] = search(s, q, page=page).total
            samples = _timed(lambda s=s, q=q, page=page: search(s, q, page=page), rounds)
        service += samples
        results[name] = {**_percentiles(samples), "hits": hits[name]}
    results["all_queries"] = _percentiles(service)
    word = PLANTED["medium"]
    postgres = rt.db.dialect == "postgresql"
    like = ("SELECT id FROM search_documents WHERE id <= :cap AND body ILIKE :p LIMIT 25"
            if postgres else
            "SELECT id FROM search_documents WHERE id <= :cap AND body LIKE :p LIMIT 25")
    count_like = like.replace("SELECT id", "SELECT count(*)").replace(" LIMIT 25", "")
    raw = ("SELECT id FROM search_documents WHERE search_tsv @@ "
           "phraseto_tsquery('simple', :w) LIMIT 25" if postgres else
           "SELECT rowid FROM search_fts WHERE search_fts MATCH :w LIMIT 25")
    with rt.db.transaction() as s:
        def like_10k() -> None:
            s.execute(text(count_like), {"cap": 10_000, "p": f"%{word}%"}).scalar()
            s.execute(text(like), {"cap": 10_000, "p": f"%{word}%"}).all()

        def like_full() -> None:
            s.execute(text(count_like), {"cap": 10**12, "p": f"%{word}%"}).scalar()
            s.execute(text(like), {"cap": 10**12, "p": f"%{word}%"}).all()

        results["like_10k"] = _percentiles(_timed(like_10k, rounds))
        results["like_full"] = _percentiles(_timed(like_full, 3))
        results["raw_index"] = _percentiles(_timed(
            lambda: s.execute(text(raw), {"w": word if postgres else f'"{word}"'}).all(),
            rounds))
    service_p50 = results["all_queries"]["p50_ms"]  # type: ignore[index]
    results["ratio_p50_to_like_10k"] = round(
        service_p50 / max(results["like_10k"]["p50_ms"], 1e-3), 2)  # type: ignore[index]
    results["ratio_p50_to_like_full"] = round(
        service_p50 / max(results["like_full"]["p50_ms"], 1e-3), 4)  # type: ignore[index]
    return results


def run(messages: int, rounds: int, server_url: str | None) -> dict[str, object]:
    with scratch_desk(server_url, synchronous="NORMAL", now=START) as desk:
        setup = bulk_insert(desk.rt, messages, desk.org_id, desk.contact_id)
        figures = measure(desk.rt, messages, rounds)
        backend = desk.rt.db.dialect
    return {"backend": backend, "messages": messages, "setup_s": round(setup, 1),
            "indexed_per_s": round(messages / setup), **figures}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=30, help="timed runs of each query")
    ap.add_argument("--database-url", help="a PostgreSQL server URL (a scratch database is "
                    "made there); default: SQLite in a temporary home")
    args = ap.parse_args()
    print(json.dumps(run(args.messages, args.rounds, args.database_url)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
