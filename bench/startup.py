"""Start-up of `ticketgate` commands as a user runs them: a new process each time.

Runs `ticketgate --help`, `triage list`, `case list` (both on an empty home made by
`ticketgate init` in a temporary folder), `parse` of a small mail and `ingest` of it (a
duplicate after the warm-up), N times each, in rounds that take every command once in turn,
after one warm-up run of each (it writes the .pyc files a user's install has;
PYTHONDONTWRITEBYTECODE is removed from the children's environment). Prints
one JSON object: per command the min / median wall time and CPU time (user + sys of the child,
from getrusage(RUSAGE_CHILDREN) before and after it), and the ratio of the medians to two
baselines measured in the same rounds by the same interpreter: `python -c pass` (the floor: the
interpreter alone) and `python -c "import sqlalchemy.orm"` (what one database import costs).
The CPU figures are the steadier ones on a shared machine.

    .venv/bin/python bench/startup.py [--n 7] [--ticketgate PATH]

`--ticketgate` measures another install, e.g. main's checkout, against the same baselines (its
own venv's python runs them).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MAIL = (b"From: Alice <alice@acme.example>\r\nTo: care@localhost\r\n"
        b"Subject: Printer on fire\r\nMessage-ID: <startup-1@acme.example>\r\n"
        b"Date: Mon, 07 Dec 2026 09:00:00 +0000\r\n\r\nIt smokes. What should we do?\r\n")


def _run(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds of one child running ``argv``; it must succeed."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)}: exit {done.returncode}: {done.stderr.decode()}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _summary(times: list[tuple[float, float]]) -> dict[str, float]:
    walls, cpus = [w for w, _c in times], [c for _w, c in times]
    return {"wall_min": round(min(walls), 3), "wall_median": round(statistics.median(walls), 3),
            "cpu_min": round(min(cpus), 3), "cpu_median": round(statistics.median(cpus), 3)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=7, help="runs of each command (default 7)")
    ap.add_argument("--ticketgate", default=str(Path(sys.executable).parent / "ticketgate"),
                    help="the ticketgate program to measure (default: this venv's)")
    opts = ap.parse_args()
    program = opts.ticketgate
    python = str(Path(program).parent / "python")
    with tempfile.TemporaryDirectory(prefix="startup-") as tmp:
        env = {k: v for k, v in os.environ.items()
               if k != "PYTHONDONTWRITEBYTECODE" and not k.startswith("TICKETGATE_")}
        env["TICKETGATE_HOME"] = str(Path(tmp) / "home")
        mail = Path(tmp) / "mail.eml"
        mail.write_bytes(MAIL)
        _run([program, "init"], env)
        runs = {
            "python -c pass": [python, "-c", "pass"],
            "python -c 'import sqlalchemy.orm'": [python, "-c", "import sqlalchemy.orm"],
            "ticketgate --help": [program, "--help"],
            "ticketgate triage list": [program, "triage", "list"],
            "ticketgate case list": [program, "case", "list"],
            "ticketgate parse mail.eml": [program, "parse", str(mail)],
            # Accepted once in the warm-up, then a duplicate each time: the start-up of the
            # command issue 15 measures, its intake and one result read.
            "ticketgate ingest mail.eml": [program, "ingest", str(mail)],
        }
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in runs}
        for argv in runs.values():  # warm-up: .pyc files written, files in the page cache
            _run(argv, env)
        for _round in range(opts.n):
            for name, argv in runs.items():
                times[name].append(_run(argv, env))
    figures = {name: _summary(t) for name, t in times.items()}
    floor, orm = figures["python -c pass"], figures["python -c 'import sqlalchemy.orm'"]
    for f in figures.values():
        f["cpu_ratio_to_python"] = round(f["cpu_median"] / floor["cpu_median"], 1)
        f["cpu_ratio_to_sqlalchemy_orm"] = round(f["cpu_median"] / orm["cpu_median"], 2)
        f["wall_ratio_to_python"] = round(f["wall_median"] / floor["wall_median"], 1)
        f["wall_ratio_to_sqlalchemy_orm"] = round(f["wall_median"] / orm["wall_median"], 2)
    print(json.dumps({"ticketgate": program, "n": opts.n, "commands": figures}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
