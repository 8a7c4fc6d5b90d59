"""`ingest` against the parse floor by instructions executed (callgrind), not by the clock.

A 2-core box shared with other work moves the wall clock and even CPU time by more than most
changes (the floor itself went 523-827 msg/s in one quiet half hour); valgrind's instruction
count is the same run after run whatever else the machine does. Prints, for N of
`bench/process.py`'s replies: instructions a mail of `ticketgate ingest` (its start-up left out:
a first one-mail ingest warms the imports), of `parse()` alone, of the stdlib floor
(`email.message_from_bytes(policy=email.policy.default)`), and the ratio floor / ingest, the
instruction-count form of issue 15's ">= 3x the floor". Needs valgrind; takes a few minutes.

    .venv/bin/python bench/instructions.py [--n 300] [--database-url URL]

With ``--database-url`` (a PostgreSQL server), each child gets a scratch database of its own
(``bench.scratch``), dropped afterwards: only the client's instructions are counted, the
server's are not.
"""

from __future__ import annotations

import argparse
import contextlib
import email
import email.policy
import io
import json
import operator
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script from anywhere

from bench.process import desk_with_case_mail, make_replies
from bench.scratch import scratch_database
from gateway.cli import main as cli_main
from parsing.parser import parse


def _measured(stage: str, n: int, database_url: str | None) -> None:
    """Run inside valgrind: only what ``operator.call`` runs is counted (--toggle-collect).
    A database of its own per child: a desk that has sent case mail refuses a second home's
    new secret (``gateway.app``), so children cannot share one."""
    with scratch_database(database_url) as url, tempfile.TemporaryDirectory() as tmp:
        rt, sent = desk_with_case_mail(Path(tmp), url)
        warm, folder = Path(tmp) / "warm", Path(tmp) / "mail"
        warm.mkdir()
        folder.mkdir()
        paths = make_replies(folder, sent, n + 1)
        paths[-1].rename(warm / "warm.eml")
        blobs = [p.read_bytes() for p in paths[:-1]]
        key = rt.key  # the desk's own: the replies' tokens verify, as in ingest
        if stage == "ingest":
            with contextlib.redirect_stdout(io.StringIO()):
                cli_main(["ingest", str(warm)])
                operator.call(cli_main, ["ingest", str(folder)])
        elif stage == "parse":
            parse((warm / "warm.eml").read_bytes(), key=key)
            operator.call(lambda: [parse(raw, key=key) for raw in blobs])
        else:
            email.message_from_bytes(blobs[0], policy=email.policy.default)
            operator.call(lambda: [email.message_from_bytes(raw, policy=email.policy.default)
                                   for raw in blobs])
        rt.db.dispose()


def _instructions(stage: str, n: int, database_url: str | None) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        run = subprocess.run(
            ["valgrind", "--tool=callgrind", "--toggle-collect=_operator_call",
             f"--callgrind-out-file={out}", sys.executable, __file__, "--child", stage,
             "--n", str(n), *(["--database-url", database_url] if database_url else [])],
            capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": "0"},
            check=False)
        found = re.search(r"^(?:summary|totals):\s*(\d+)", out.read_text() if out.exists()
                          else "", re.M)
        if run.returncode != 0 or found is None:
            raise SystemExit(f"valgrind run of {stage} failed:\n{run.stderr[-2000:]}")
        return int(found.group(1))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--database-url", help="a PostgreSQL server to make scratch databases on "
                    "(default: SQLite in a temporary home)")
    ap.add_argument("--child", choices=("ingest", "parse", "floor"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        _measured(args.child, args.n, args.database_url)
        return 0
    per_mail = {stage: _instructions(stage, args.n, args.database_url) / args.n
                for stage in ("floor", "parse", "ingest")}
    backend = "postgresql" if args.database_url else "sqlite"
    print(json.dumps({"messages": args.n, "backend": backend,
                      **{f"{stage}_instructions_per_mail": round(v) for stage, v in
                         per_mail.items()},
                      "ratio_to_floor": round(per_mail["floor"] / per_mail["ingest"], 2)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
