"""What counting attempts outside the processing transaction costs (issue 12, poison messages).

Every ``process_batch`` call first commits one attempt for its messages (``_count_attempts``),
so a crash that rolls processing back still counts. This measures processing with that
transaction and, as the same-run baseline, with it replaced by a stub that counts nothing, in
two shapes: one message per call (a Celery task) and batches of 100 (the embedded worker).
Rounds alternate; medians are printed with the ratio counted/baseline.

    .venv/bin/python bench/attempts.py [--rounds 8] [--database-url URL] [--synchronous FULL]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script from anywhere

from bench.scratch import scratch_database
from gateway.app import build_runtime, initialize
from gateway.config import load_settings
from tests.support import new_mail
from workflows.inbound import process
from workflows.inbound.intake import Envelope, accept_many
from workflows.runtime import Runtime

CARE = "care@desk.example"


def _accepted(rt: Runtime, n: int, tag: str) -> list[int]:
    envelopes = [(new_mail(sender=f"s{i}@client.example", message_id=f"<{tag}-{i}@bench>"),
                  Envelope(mailbox=CARE, rcpt_tos=(CARE,))) for i in range(n)]
    return [a.inbound_id for a in accept_many(rt.db, envelopes, now=rt.now())]


def _rate(rt: Runtime, ids: list[int], size: int) -> float:
    started = time.perf_counter()
    for k in range(0, len(ids), size):
        process.process_batch(rt, ids[k:k + size])
    return len(ids) / (time.perf_counter() - started)


def _uncounted(rt: Runtime, inbound_ids: Sequence[int]) -> tuple[list[int], list[int]]:
    return list(inbound_ids), []


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("--database-url", help="a PostgreSQL server URL (a scratch database is "
                                           "created and dropped); default SQLite")
    ap.add_argument("--synchronous", default="NORMAL", help="SQLite synchronous (NORMAL, FULL)")
    args = ap.parse_args()
    counting: Callable[..., tuple[list[int], list[int]]] = process._count_attempts
    with scratch_database(args.database_url) as url, tempfile.TemporaryDirectory() as home:
        (Path(home) / "config.toml").write_text(f'[[mailbox]]\naddress = "{CARE}"\n')
        env = {"TICKETGATE_HOME": home, "TICKETGATE_SQLITE_SYNCHRONOUS": args.synchronous}
        if url:
            env["TICKETGATE_DATABASE_URL"] = url
        settings = load_settings(env=env)
        initialize(settings)
        rt = build_runtime(settings)
        for shape, n, size in (("one message per call", 60, 1), ("batches of 100", 300, 100)):
            rates: dict[str, list[float]] = {"baseline": [], "counted": []}
            for r in range(args.rounds):
                for name, fn in (("baseline", _uncounted), ("counted", counting)):
                    process._count_attempts = fn  # type: ignore[assignment]
                    rates[name].append(_rate(rt, _accepted(rt, n, f"{shape[:3]}{r}{name}"), size))
            process._count_attempts = counting  # type: ignore[assignment]
            base, counted = (statistics.median(rates[k]) for k in ("baseline", "counted"))
            print(f"{shape}: baseline {base:.0f} msg/s, counted {counted:.0f} msg/s, "
                  f"ratio {counted / base:.2f}")
        rt.db.dispose()


if __name__ == "__main__":
    main()
