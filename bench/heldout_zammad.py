"""Score the parser against a held-out corpus: Zammad's mail test data (mailNNN.box + .yml).

    .venv/bin/python bench/heldout_zammad.py /tmp/zammad-heldout [--verbose]

The folder holds raw mails (``mailNNN.box``) and Zammad's expected parse (``mailNNN.yml``:
from_email, from_display_name, subject, body, attachments[].filename). Nothing of it is in
this repository (its licence is not known to fit ours): fetch it yourself, see the README of
the folder. Names listed in ``EXCLUDED`` (one ``name<TAB>reason`` a line) are run but not
scored: files whose 8-bit bytes did not survive the copy.

Each mail goes through the product's entry point, ``ticketgate parse --json``; the display
name and the whole text body, which that JSON does not print, come from ``parsing.parse``, the
function behind it. Compared, loosely where Zammad's taste differs from ours:

- from: the addr-spec, case-insensitively (we lower-case it to match senders);
- name: the display name, whitespace collapsed;
- subject: decoded, whitespace collapsed (runs of U+3000 included);
- attachments: the number and the filenames of the files, leaving out what Zammad stores as
  files but we keep as the body (its ``message.html`` copy of the HTML alternative);
- body: the first meaningful line of Zammad's body (HTML tags removed) appears in our text.

Also printed: the automation class of each mail and any parser defects. Read-only.
"""

from __future__ import annotations

import argparse
import html
import json
import re
import subprocess
import sys
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
FIELDS = ("from", "name", "subject", "attachments", "body")


class _Loader(yaml.SafeLoader):
    """Zammad's yml carries Ruby tags (!ruby/hash:...): read them as plain mappings."""


def _any_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node)
    return loader.construct_scalar(node)  # type: ignore[arg-type]


_Loader.add_multi_constructor("!", _any_tag)


@dataclass
class Result:
    name: str
    scored: bool
    automation: str = ""
    defects: list[str] = field(default_factory=list)
    agree: dict[str, bool | None] = field(default_factory=dict)  # None: not comparable
    detail: dict[str, tuple[object, object]] = field(default_factory=dict)


def squash(text: str) -> str:
    """Whitespace collapsed (NFKC folds U+3000 and NBSP to spaces first)."""
    return " ".join(unicodedata.normalize("NFKC", text).split())


def first_line(body: str) -> str:
    """Zammad's first meaningful line: tags removed, entities decoded, blank lines skipped."""
    text = re.sub(r"<(br|/p|/div|p|div|tr|/tr|li)\b[^>]*>", "\n", body, flags=re.I)
    text = html.unescape(re.sub(r"<[^>]+>", " ", text))
    for line in text.splitlines():
        line = squash(line)
        if line and line != "no visible content":
            return line
    return ""


def expected_files(doc: dict[str, Any]) -> list[str] | None:
    if "attachments" not in doc:
        return None
    files = []
    for att in doc["attachments"] or []:
        prefs = att.get("preferences") or {}
        if att.get("content-alternative") or prefs.get("content-alternative"):
            continue  # Zammad's copy of the HTML body, not a file the sender attached
        files.append(str(att.get("filename", "")))
    return files


def score_one(box: Path, doc: dict[str, Any], cli: dict[str, Any], scored: bool) -> Result:
    from parsing import parse

    mail = parse(box.read_bytes())
    res = Result(box.stem, scored, cli.get("automation", ""),
                 [str(d) for d in cli.get("defects", [])])

    # A key the .yml leaves out is not comparable (some of Zammad's files only hold a subject).
    want = str(doc.get("from_email") or "").lower()
    got = str(cli.get("from") or "")
    res.agree["from"] = None if "from_email" not in doc else want == got
    res.detail["from"] = (want, got)

    want_name = squash(str(doc.get("from_display_name") or ""))
    got_name = squash(mail.from_.name if mail.from_ else "")
    res.agree["name"] = None if "from_display_name" not in doc else want_name == got_name
    res.detail["name"] = (want_name, got_name)

    want_subj, got_subj = squash(str(doc.get("subject") or "")), squash(cli.get("subject", ""))
    res.agree["subject"] = None if "subject" not in doc else want_subj == got_subj
    res.detail["subject"] = (want_subj, got_subj)

    files = expected_files(doc)
    got_files = [a.get("filename") or "" for a in cli.get("attachments", [])]
    res.agree["attachments"] = None if files is None else sorted(files) == sorted(got_files)
    res.detail["attachments"] = (files, got_files)

    line = first_line(str(doc.get("body") or ""))
    ours = squash(mail.text + "\n" + cli.get("visible_reply", ""))
    res.agree["body"] = None if not line else line[:60] in ours
    res.detail["body"] = (line[:60], ours[:120])
    return res


def run_cli(boxes: list[Path]) -> dict[str, dict[str, Any]]:
    out = subprocess.run([str(ROOT / ".venv/bin/ticketgate"), "parse", "--json",
                          *map(str, boxes)], capture_output=True, text=True, check=True)
    docs = [json.loads(line) for line in out.stdout.splitlines() if line.strip()]
    return {Path(d["source"]).stem: d for d in docs}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", type=Path)
    ap.add_argument("--verbose", action="store_true", help="print every mail's line")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    excluded = {}
    if (args.folder / "EXCLUDED").exists():
        for row in (args.folder / "EXCLUDED").read_text().splitlines():
            name, _, why = row.partition("\t")
            excluded[name.strip()] = why
    boxes = sorted(p for p in args.folder.glob("*.box") if p.with_suffix(".yml").exists())
    cli = run_cli(boxes)
    results = []
    for box in boxes:
        doc = yaml.load(box.with_suffix(".yml").read_text(), Loader=_Loader) or {}
        results.append(score_one(box, doc, cli[box.stem], box.stem not in excluded))
    scored = [r for r in results if r.scored]
    print(f"{len(boxes)} mails, {len(scored)} scored ({len(excluded)} excluded: 8-bit bytes)")
    for f in FIELDS:
        vals = [r.agree[f] for r in scored if r.agree[f] is not None]
        print(f"  {f:12} {sum(vals):3}/{len(vals):<3} agree")
    print("automation:", dict(Counter(r.automation for r in results)))
    print("\ndisagreements (expected | ours):")
    for r in scored:
        for f in FIELDS:
            if r.agree[f] is False:
                want, got = r.detail[f]
                print(f"  {r.name} {f}: {want!r} | {got!r}")
    print("\ndefects:")
    for r in results:
        for d in r.defects:
            print(f"  {r.name}: {d}")
    if args.verbose:
        for r in results:
            print(r.name, r.automation, {f: r.agree[f] for f in FIELDS})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
