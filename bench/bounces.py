"""Bounce and complaint reading, measured on the public corpus in tests/fixtures/bounces/.

Not a timing: for every message with an expected-results file (``NAME.json`` beside
``NAME.eml``), it parses the message with ``parsing.parse`` and prints, per MTA family and in
total: bounces called bounces (recall), the exact set of failed recipients, permanence right,
complaints recognised, and non-bounces kept out. ``--flufl`` adds the exact-recipients figure
of GNU Mailman's ``flufl.bounce`` alone; ``--no-flufl`` measures our readers without it;
``--source flufl|sisimai|documented`` restricts to one part of the corpus (flufl.bounce's own
samples flatter flufl.bounce: the other two parts are the fair test of it).

    python bench/bounces.py            # per family and total
    python bench/bounces.py --misses   # also list every message that fell short
"""

from __future__ import annotations

import argparse
import email
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from parsing import parse  # noqa: E402
from parsing.model import AutomationClass  # noqa: E402

CORPUS = ROOT / "tests" / "fixtures" / "bounces"


def cases() -> list[tuple[Path, dict]]:
    return [(p.with_suffix(".eml"), json.loads(p.read_text()))
            for p in sorted(CORPUS.rglob("*.json")) if p.with_suffix(".eml").exists()]


def flufl_recipients(raw: bytes) -> set[str]:
    from flufl.bounce import all_failures

    temporary, permanent = all_failures(email.message_from_bytes(raw))
    return {(a.decode() if isinstance(a, bytes) else a).lower() for a in temporary | permanent}


def timing(rounds: int = 3) -> str:
    """Parse time per corpus message with the flufl.bounce fallback and, as the baseline
    measured in the same run, without it (best of ``rounds``)."""
    from parsing import bounce

    raws = [path.read_bytes() for path, _ in cases()]
    real = bounce._flufl
    best = {}
    try:
        for label, fallback in (("with flufl.bounce", real), ("our readers alone", None)):
            bounce._flufl = fallback or (lambda raw: None)  # type: ignore[assignment]
            times = []
            for _ in range(rounds):
                start = time.perf_counter()
                for raw in raws:
                    parse(raw)
                times.append((time.perf_counter() - start) / len(raws))
            best[label] = min(times)
    finally:
        bounce._flufl = real  # type: ignore[assignment]
    ours, theirs = best["our readers alone"], best["with flufl.bounce"]
    return (f"parse per message: {theirs * 1000:.2f} ms with flufl.bounce fallback, "
            f"{ours * 1000:.2f} ms without (ratio {theirs / ours:.2f}x)")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--misses", action="store_true")
    ap.add_argument("--flufl", action="store_true")
    ap.add_argument("--no-flufl", action="store_true",
                    help="our readers alone, without the flufl.bounce fallback")
    ap.add_argument("--source", help="only the corpus folder NAME (flufl, sisimai, documented)")
    args = ap.parse_args()
    if args.no_flufl:
        from parsing import bounce

        bounce._flufl = lambda raw: None  # type: ignore[assignment]
    rows: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    misses = []
    for path, want in cases():
        if args.source and path.parent.name != args.source:
            continue
        raw = path.read_bytes()
        mail = parse(raw)
        fam = rows[want["family"]]
        kind = want["kind"]
        name = str(path.relative_to(CORPUS))
        if kind == "bounce":
            ok = mail.automation is AutomationClass.BOUNCE
            fam["called bounce"][0] += ok
            fam["called bounce"][1] += 1
            got = {r.address for r in mail.bounce.recipients} if mail.bounce else set()
            exact = got == set(want["recipients"])
            fam["exact recipients"][0] += exact
            fam["exact recipients"][1] += 1
            if args.flufl:
                fam["flufl exact"][0] += flufl_recipients(raw) == set(want["recipients"])
                fam["flufl exact"][1] += 1
            if want["recipients"]:
                # "failed": a report with failed and delayed recipients; only those are final.
                final = set(want.get("failed", want["recipients"] if want["permanent"] else []))
                right = bool(mail.bounce) and mail.bounce.permanent == want["permanent"] and {
                    r.address for r in mail.bounce.recipients if r.permanent} == final
                fam["permanence"][0] += right
                fam["permanence"][1] += 1
                if not right:
                    misses.append((name, "permanence", want["permanent"]))
            if "status" in want:
                statuses = {r.status for r in mail.bounce.recipients} if mail.bounce else set()
                fam["status"][0] += statuses == {want["status"]}
                fam["status"][1] += 1
                if statuses != {want["status"]}:
                    misses.append((name, "status", sorted(map(str, statuses)), want["status"]))
            if "original_message_id" in want:
                found_id = mail.bounce.original_message_id if mail.bounce else None
                fam["original id"][0] += found_id == want["original_message_id"]
                fam["original id"][1] += 1
                if found_id != want["original_message_id"]:
                    misses.append((name, "original id", found_id))
            if not (ok and exact):
                misses.append((name, sorted(got), want["recipients"], mail.automation.value))
        elif kind == "complaint":
            ok = mail.automation is AutomationClass.COMPLAINT
            fam["complaint"][0] += ok
            fam["complaint"][1] += 1
            got = set(mail.complaint.recipients) if mail.complaint else set()
            fam["complaint recipients"][0] += got == set(want["recipients"])
            fam["complaint recipients"][1] += 1
            if "original_message_id" in want:
                found_id = mail.complaint.original_message_id if mail.complaint else None
                fam["original id"][0] += found_id == want["original_message_id"]
                fam["original id"][1] += 1
            if not ok:
                misses.append((name, mail.automation.value))
        else:
            ok = mail.automation.value == kind if kind != "not_bounce" else (
                mail.automation is not AutomationClass.BOUNCE)
            fam[f"kept {kind}"][0] += ok
            fam[f"kept {kind}"][1] += 1
            if not ok:
                misses.append((name, mail.automation.value))
    total: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for family in sorted(rows):
        parts = []
        for metric, (hit, n) in rows[family].items():
            total[metric][0] += hit
            total[metric][1] += n
            parts.append(f"{metric} {hit}/{n}")
        print(f"{family:14} " + "; ".join(parts))
    print("TOTAL          " + "; ".join(
        f"{m} {h}/{n} ({100 * h / n:.1f}%)" for m, (h, n) in total.items()))
    print(timing())
    if args.misses:
        for miss in misses:
            print("MISS", *miss)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
