"""Reply attribution lines in many languages end the visible reply (parsing.trimmer_i18n).

Each ``tests/fixtures/trimmer_i18n/LANG.txt`` is a reply, the attribution line its client
writes in that language (as Gmail, Outlook, Thunderbird or Apple Mail word it), and the quote;
``LANG.visible.txt`` is the reply alone.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from parsing.trimmer import trim_reply
from parsing.trimmer_i18n import is_attribution

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "trimmer_i18n"
NAMES = sorted(p.name.removesuffix(".txt") for p in FIXTURES.glob("*.txt")
               if not p.name.endswith(".visible.txt"))


def test_at_least_twenty_languages_have_a_fixture() -> None:
    """Issue 14 asks for 20 languages; the file names start with the language code."""
    assert len({name.split("-")[0] for name in NAMES}) >= 20


@pytest.mark.parametrize("name", NAMES)
def test_attribution_line_leaves_the_visible_reply(name: str) -> None:
    """The visible reply is the customer's words, without the attribution or the quote."""
    got = trim_reply((FIXTURES / f"{name}.txt").read_text(encoding="utf-8"))
    assert got.visible.strip() == (FIXTURES / f"{name}.visible.txt").read_text().strip()


@pytest.mark.parametrize(
    "line",
    [
        "Jan napisał: proszę o kontakt jutro.",  # no closing colon: a sentence
        "Иван пишет, что принтер не работает:",  # no date or time
        "Skrev du till mig igår?",
        "The report I wrote in 2023 covers this",
    ],
)
def test_sentences_with_a_verb_of_writing_are_not_attributions(line: str) -> None:
    """The reply's own sentences keep their place: all three signs are needed."""
    assert not is_attribution(line)
