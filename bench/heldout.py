"""Bounce and complaint reading, scored on a held-out folder that is not in the repository.

The fixtures in tests/fixtures/bounces/ were read while the parser was written; this script
judges the parser on mail it has never seen (tests/fixtures/bounces/NOTES.md says how the
Sisimai held-out set was built). It runs the product's own entry point, ``ticketgate parse
--json`` (one process for the whole folder, no database), and compares each message with an
expectations file:

    {"NAME.eml": {"family": "postfix", "kind": "bounce",
                  "recipients": {"a@x.example": {"status": "5.1.1", "alt": ["5.0.0"],
                                                 "permanent": true}},
                  "original_message_id": "id@x.example"}, ...}

``kind``: bounce, complaint, auto_reply, not_human (anything but a human reply), delivered
(a success DSN: not human, and no failed recipient nor permanent failure). For a bounce,
``recipients`` maps each failed address to its RFC 3463 status (null: not scored, e.g. a
Sisimai pseudo-code such as 5.9.213 where the report gives none) and whether the report is a
final failure (RFC 3464 Action ``failed``, or prose that says the MTA gave up); ``alt`` lists
other statuses the report itself supports (Status field vs Diagnostic-Code). For a complaint,
``recipients`` is the list of complaining addresses or null. ``original_message_id`` null: not
scored. Prints per family and overall:

- kind: the message got the class expected (a bounce called bounce, ...);
- human: messages that are NOT human but were called human (the fault that changes a case);
- recipients: the exact set of failed addresses;
- status / permanent: per expected recipient, among those with an expectation;
- original id: the returned message's Message-ID found.

    python bench/heldout.py /tmp/heldout/eml --expect /tmp/heldout/expectations.json --misses
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

Figures = dict[str, list[int]]


def run_parse(paths: list[Path], cli: str) -> dict[str, dict]:  # type: ignore[type-arg]
    """``ticketgate parse --json`` over every path at once; one JSON object per message."""
    out = subprocess.run([cli, "parse", "--json", *map(str, paths)], check=True,
                         capture_output=True, text=True).stdout
    found = {}
    for line in out.splitlines():
        if line.startswith("{"):
            row = json.loads(line)
            found[Path(row["source"]).name] = row
    return found


def score(name: str, want: dict, got: dict, fam: Figures,  # type: ignore[type-arg]
          misses: list[str]) -> None:
    def count(metric: str, ok: bool, detail: object = "") -> None:
        fam[metric][0] += ok
        fam[metric][1] += 1
        if not ok:
            misses.append(f"{name}: {metric}: {detail}")

    kind, automation = want["kind"], got["automation"]
    count("human", automation != "human" or kind == "human", "called human")
    if kind == "not_human":
        return
    if kind == "delivered":  # a success DSN (RFC 3464 delivered/relayed): nobody failed
        bounce = got.get("bounce") or {}
        count("kind", not bounce.get("recipients") and not bounce.get("permanent"),
              (automation, bounce.get("permanent"), bounce.get("recipients")))
        return
    count("kind", automation == kind, automation)
    if kind == "complaint":
        complaint = got.get("complaint") or {}
        if want.get("recipients") is not None:
            count("recipients", set(complaint.get("recipients", [])) == set(want["recipients"]),
                  complaint.get("recipients"))
        if want.get("original_message_id"):
            count("original id", complaint.get("original_message_id")
                  == want["original_message_id"], complaint.get("original_message_id"))
        return
    if kind != "bounce":
        return
    bounce = got.get("bounce") or {}
    rows = {r["address"]: r for r in bounce.get("recipients", [])}
    expected = want.get("recipients") or {}
    count("recipients", set(rows) == set(expected), sorted(rows))
    for address, exp in expected.items():
        row = rows.get(address)
        if exp.get("status"):
            allowed = {exp["status"], *exp.get("alt", [])}
            count("status", bool(row) and row["status"] in allowed,
                  f"{address} {row and row['status']} want {sorted(allowed)}")
        if exp.get("permanent") is not None:
            count("permanent", bool(row) and row["permanent"] is exp["permanent"],
                  f"{address} {row and row['permanent']} want {exp['permanent']}")
    if want.get("original_message_id"):
        count("original id", bounce.get("original_message_id") == want["original_message_id"],
              bounce.get("original_message_id"))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("folder", type=Path)
    ap.add_argument("--expect", type=Path,
                    help="expectations file (default FOLDER/expectations.json)")
    ap.add_argument("--cli", default=shutil.which("ticketgate") or str(
        Path(sys.executable).with_name("ticketgate")))
    ap.add_argument("--misses", action="store_true", help="list every shortfall")
    args = ap.parse_args()
    expect = args.expect or args.folder / "expectations.json"
    if not expect.is_file():
        ap.error(f"no expectations file {expect} (give one with --expect)")
    expectations = json.loads(expect.read_text())
    names = [name for name in sorted(expectations) if (args.folder / name).is_file()]
    if len(names) < len(expectations):  # e.g. samples since moved into tests/fixtures/
        print(f"{len(expectations) - len(names)} expected files not in {args.folder}: skipped",
              file=sys.stderr)
    expectations = {name: expectations[name] for name in names}
    parsed = run_parse([args.folder / name for name in names], args.cli)
    rows: dict[str, Figures] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    misses: list[str] = []
    for name in sorted(expectations):
        want = expectations[name]
        score(name, want, parsed.get(name, {"automation": "missing"}), rows[want["family"]],
              misses)
    total: Figures = defaultdict(lambda: [0, 0])
    for family in sorted(rows):
        for metric, (hit, n) in rows[family].items():
            total[metric][0] += hit
            total[metric][1] += n
        print(f"{family:15} " + "; ".join(f"{m} {h}/{n}" for m, (h, n) in rows[family].items()))
    print(f"TOTAL ({len(expectations)} messages) " + "; ".join(
        f"{m} {h}/{n} ({100 * h / n:.1f}%)" for m, (h, n) in total.items()))
    if args.misses:
        print(*misses, sep="\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
