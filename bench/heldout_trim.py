"""Score the reply trimmer on held-out samples: what a customer wrote versus what was quoted.

    .venv/bin/python bench/heldout_trim.py [--misses] [--cli PATH] [--samples FILE]

The visible reply (``ParsedMail.visible_reply``) is what becomes the case update analysts read
and search indexes, so the trimmer is scored on public reply samples it was never tuned on
(the trimmer was written against discourse/email_reply_trimmer's goldens and our own
``tests/fixtures/trimmer_i18n``). ``bench/heldout_trim.json`` holds each sample's body as the
upstream repository has it and the expected visible reply from that repository's own test (or,
where its test only checks a phrase, the text above the quote header); ``bench/heldout-trim.txt``
lists them with repository, path and commit. Sources: crisp-oss/email-reply-parser (MIT),
alfonsrv/mail-parser-reply (MIT), github/email_reply_parser (MIT), mailgun/talon (Apache-2.0);
their notices are in ``bench/heldout_trim.NOTICE``.

Each body is wrapped in a minimal RFC 5322 message (text/plain; charset=utf-8; the sample's
transfer encoding: four github samples are quoted-printable as upstream stored them) and the
whole set goes through the product's entry point, ``ticketgate parse --json``, in one process.
Compared with the expectation, whitespace runs collapsed:

- exact: the visible reply equals the expected one (or the expected one without its optional
  lines: sign-offs such as "Cordialement / B" that upstream files as a signature and we keep);
- no text lost: every non-blank expected line (optional ones aside) is in the visible reply.
  Losing a customer's words is the worse fault: they vanish from the case and from search;
- no quote kept: no line of the visible reply is a line of the sample that is neither expected
  nor optional (the quote header, the quoted message, Outlook's From:/Sent: block).

Printed per kind (attribution line, Outlook header block, separator line, ...) and per language
of the quote header, then in total. ``--cli`` scores another build (see bench/README.md,
``heldout.py``, for running an older commit's tree). Read-only.
"""

from __future__ import annotations

import argparse
import json
import quopri
import shutil
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script from anywhere

from bench.heldout import run_parse  # ticketgate parse --json, keyed by file name

HERE = Path(__file__).resolve().parent
METRICS = ("exact", "no text lost", "no quote kept")


def squash(text: str) -> str:
    return " ".join(text.split())


def lines_of(text: str) -> list[str]:
    return [squash(line) for line in text.splitlines() if line.strip()]


def eml(sample: dict[str, Any]) -> bytes:
    """The sample as a message: headers, then the body in its transfer encoding, CRLF lines."""
    cte = sample["cte"]
    body = sample["body"].replace("\n", "\r\n").encode("utf-8")
    head = (
        "From: Customer <customer@example.org>\r\nTo: support@example.com\r\n"
        f"Subject: Re: {sample['name']}\r\nMessage-ID: <{sample['name']}@heldout.invalid>\r\n"
        "Date: Mon, 07 Dec 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n"
        f"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: {cte}\r\n\r\n"
    )
    return head.encode("ascii") + body


def decoded_body(sample: dict[str, Any]) -> str:
    if sample["cte"] == "quoted-printable":
        return quopri.decodestring(sample["body"].encode("utf-8")).decode("utf-8")
    return str(sample["body"])


def score(sample: dict[str, Any], visible: str) -> tuple[dict[str, bool], str]:
    optional = {squash(o) for o in sample["optional"]}
    expected = [line for line in lines_of(sample["expected"]) if line not in optional]
    want_all, want_bare = squash(sample["expected"]), " ".join(expected)
    got = squash(visible)
    quoted = set(lines_of(decoded_body(sample))) - set(lines_of(sample["expected"])) - optional
    lost = [line for line in expected if line not in got]
    kept = [line for line in lines_of(visible) if line in quoted]
    verdict = {
        "exact": got in (want_all, want_bare),
        "no text lost": not lost,
        "no quote kept": not kept,
    }
    detail = f"lost {lost[:2]} kept {kept[:2]} got {visible[:160]!r}"
    return verdict, detail


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=Path, default=HERE / "heldout_trim.json")
    ap.add_argument("--cli", default=str(Path(sys.executable).with_name("ticketgate"))
                    if Path(sys.executable).with_name("ticketgate").exists()
                    else shutil.which("ticketgate"))
    ap.add_argument("--misses", action="store_true", help="list every shortfall")
    args = ap.parse_args()
    samples = json.loads(args.samples.read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for sample in samples:
            path = Path(tmp) / f"{sample['name']}.eml"
            path.write_bytes(eml(sample))
            paths.append(path)
        parsed = run_parse(paths, args.cli)
    groups: dict[str, dict[str, list[int]]] = defaultdict(lambda: {m: [0, 0] for m in METRICS})
    misses = []
    for sample in samples:
        row = parsed.get(f"{sample['name']}.eml")
        visible = row.get("visible_reply", "") if row else ""
        verdict, detail = score(sample, visible)
        for group in ("kind " + sample["kind"], "lang " + sample["lang"], "TOTAL"):
            for metric, ok in verdict.items():
                groups[group][metric][0] += ok
                groups[group][metric][1] += 1
        failed = [m for m, ok in verdict.items() if not ok]
        if failed:
            misses.append(f"{sample['name']} [{', '.join(failed)}]: {detail}")
    print(f"{'group':22} " + "  ".join(f"{m:>14}" for m in METRICS))
    for group in sorted(groups, key=lambda g: (g == "TOTAL", g)):
        cells = [f"{h:>3}/{n:<3} {100 * h / n:5.1f}%" for h, n in groups[group].values()]
        print(f"{group:22} " + "  ".join(f"{c:>14}" for c in cells))
    if args.misses:
        print(*misses, sep="\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
