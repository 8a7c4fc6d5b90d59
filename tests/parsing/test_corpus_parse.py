"""Every real-world message in the shared corpus goes through parse() without an error.

The corpus (``mikel_mail/`` from the Ruby mail gem, ``rt_emails/`` from Request Tracker) is full
of what breaks parsers: bad dates, unparsable From, illegal boundaries, odd transfer encodings,
ISO-2022-JP, GB18030, Lotus Notes uuencode, nested rfc822, DSNs. Skipped when the corpus is
absent (a fresh clone); a failure instead when TICKETGATE_REQUIRE_SERVICES=1 (CI).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from parsing import parse
from parsing.model import ParsedMail
from tests.conftest import ROOT, corpus_root

FOLDERS = ("mikel_mail", "rt_emails")


def _corpus_files() -> list[str]:
    """Relative paths of every file under the corpus folders (any extension), for ids."""
    root = Path(os.environ.get("TICKETGATE_CORPUS", ROOT.parent / "shared" / "corpus"))
    return sorted(
        str(path.relative_to(root))
        for folder in FOLDERS
        if (root / folder).is_dir()
        for path in (root / folder).rglob("*")
        if path.is_file()
    )


CORPUS_FILES = _corpus_files()


@pytest.mark.corpus
@pytest.mark.parametrize("relative", CORPUS_FILES or ["corpus-missing"])
def test_corpus_message_parses(relative: str) -> None:
    """Mail nobody on this team wrote still parses: a ParsedMail, no parser-internal error."""
    raw = (corpus_root() / relative).read_bytes()
    parsed = parse(raw)
    assert isinstance(parsed, ParsedMail)
    assert not [d for d in parsed.defects if d.where == "parser"], parsed.defects
