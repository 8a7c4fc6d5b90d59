"""Throughput of the inbound core: N generated 5 KB replies through `ticketgate ingest`.

Prints msg/s for the whole path (read file, accept with group commit, parse, decide, apply,
commit) and the ratio to the parse floor measured in the same run: the stdlib's
`email.message_from_bytes(policy=email.policy.default)` parsing the same files and nothing else;
also the same ratio in CPU seconds of this process (``cpu_ratio_to_floor``), which other load on
a shared machine disturbs far less than the wall clock.
Targets (issue 2): >= 1,000 msg/s per process and >= 6x that floor.

    .venv/bin/python bench/process.py [--n 3000] [--database-url URL]
"""

from __future__ import annotations

import argparse
import contextlib
import email
import email.policy
import io
import json
import os
import sys
import tempfile
import time
from html import escape as html_escape
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script from anywhere

from bench.scratch import scratch_database
from gateway.app import build_runtime, initialize
from gateway.cli import main as cli_main
from gateway.config import load_settings
from tests.support import open_case, post, reply_to
from workflows.cases import directory

FILLER = ("The printer shows error 49.4C02 after the firmware update and restarts every few "
          "minutes; we tried a cold reset and a different network port.\n")


def make_replies(folder: Path, sent: bytes, n: int) -> list[Path]:
    paths = []
    for i in range(n):
        body = f"Update {i}: " + FILLER * 20  # about 5 KB with the quoted original
        raw = reply_to(sent, sender="alice@acme.example", body=body,
                       message_id=f"<bench-{i}@client.example>")
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        html = "".join(f"<p>{html_escape(line)}</p>" for line in body.splitlines()[:4])
        msg.add_alternative(f"<div dir=ltr>{html}</div>", subtype="html")  # as clients send
        raw = msg.as_bytes()
        path = folder / f"{i:06d}.eml"
        path.write_bytes(raw)
        paths.append(path)
    return paths


def parse_floor(paths: list[Path]) -> tuple[float, float]:
    """msg/s of the stdlib parse: by the wall clock and by this process's CPU time."""
    blobs = [p.read_bytes() for p in paths]
    start, cpu = time.perf_counter(), time.process_time()
    for raw in blobs:
        email.message_from_bytes(raw, policy=email.policy.default)
    return (len(blobs) / (time.perf_counter() - start),
            len(blobs) / (time.process_time() - cpu))


def run(n: int, database_url: str | None) -> dict[str, float | int | str]:
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "var"
        os.environ["TICKETGATE_HOME"] = str(home)
        if database_url:
            os.environ["TICKETGATE_DATABASE_URL"] = database_url
        settings = load_settings()
        initialize(settings)
        rt = build_runtime(settings)
        with rt.db.transaction() as s:
            directory.add_organization(s, name="Acme", domains=["acme.example"],
                                       timezone="UTC", country=None, notify=[], now=rt.now())
            directory.add_contact(s, organization="Acme", email="alice@acme.example",
                                  name="Alice", designated=True, now=rt.now())
        sent = post(rt, open_case(rt))
        folder = Path(tmp) / "mail"
        folder.mkdir()
        paths = make_replies(folder, sent, n)
        size = sum(p.stat().st_size for p in paths) / n
        floor, cpu_floor = parse_floor(paths)
        start, cpu = time.perf_counter(), time.process_time()
        with contextlib.redirect_stdout(io.StringIO()) as out:
            code = cli_main(["ingest", str(folder)])
        elapsed, cpu_elapsed = time.perf_counter() - start, time.process_time() - cpu
        lines = out.getvalue().splitlines()
        assert code == 0 and len(lines) == n, (code, len(lines))
        linked = sum(json.loads(line)["outcome"] == "linked" for line in lines)
        rt.db.dispose()
    rate = n / elapsed
    return {"messages": n, "avg_bytes": round(size), "linked": linked,
            "backend": (database_url or "sqlite").split(":", 1)[0],
            "ingest_msg_per_s": round(rate, 1), "parse_floor_msg_per_s": round(floor, 1),
            "ratio_to_floor": round(rate / floor, 2),
            # CPU time of this process only: steadier than the wall clock on a shared machine
            # (SQLite's fsync waits are not in it; the wall-clock ratio above has them).
            "cpu_ratio_to_floor": round((n / cpu_elapsed) / cpu_floor, 2)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=3000)
    ap.add_argument("--database-url", help="default: SQLite in a temporary home; a PostgreSQL "
                    "URL names the server (the bench makes and drops a database of its own)")
    args = ap.parse_args()
    with scratch_database(args.database_url) as url:
        result = run(args.n, url)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
