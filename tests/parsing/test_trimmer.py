"""Reply trimming against discourse/email_reply_trimmer's goldens, plus one test per behaviour.

Goldens live in ``<corpus>/email_reply_trimmer``: ``emails/X.txt`` in, ``trimmed/X.txt`` the
visible reply, ``elided/X.txt`` what was cut; ``embedded/`` and ``before/`` are the goldens for
:func:`extract_embedded_email`. Everything is compared after stripping whitespace at both ends.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parsing.trimmer import TrimmedReply, extract_embedded_email, trim_reply, visible_reply
from tests.conftest import corpus_root

MIN_PASS_RATE = 0.95
# Goldens whose upstream taste we leave on purpose, with the reason; not counted.
DIVERGES = {
    # Upstream drops the text under a quote as "99% of the times the signature"; it may be an
    # answer, and losing a customer's words costs more than keeping a signature (talon keeps it;
    # bench/heldout_trim.py, talon's reply_wraps_quotations).
    "embedded_email_1.txt": "text below the quote is kept",
}


def golden_root() -> Path:
    root = corpus_root() / "email_reply_trimmer"
    if root.is_dir():
        return root
    if os.environ.get("TICKETGATE_REQUIRE_SERVICES") == "1":
        pytest.fail(f"the reply-trimmer goldens are required in CI but {root} is missing")
    pytest.skip(f"reply-trimmer goldens not found at {root} (set TICKETGATE_CORPUS)")


def read(path: Path) -> str:
    # Raw text, possibly CRLF: decoding must not fail on a stray byte.
    return path.read_bytes().decode("utf-8", errors="replace")


@pytest.mark.corpus
def test_golden_pass_rate() -> None:
    """At least 95% of the upstream goldens trim to exactly the expected visible reply."""
    root = golden_root()
    names = sorted(p.name for p in (root / "emails").glob("*.txt") if p.name not in DIVERGES)
    assert names, f"no goldens under {root / 'emails'}"
    visible_fail, elided_fail = [], []
    for name in names:
        got = trim_reply(read(root / "emails" / name))
        if got.visible.strip() != read(root / "trimmed" / name).strip():
            visible_fail.append(name)
        if got.elided.strip() != read(root / "elided" / name).strip():
            elided_fail.append(name)
    visible_rate = 1 - len(visible_fail) / len(names)
    elided_rate = 1 - len(elided_fail) / len(names)
    summary = (
        f"trimmer goldens: visible {visible_rate:.1%}, elided {elided_rate:.1%} of {len(names)}"
        f"; visible failures {visible_fail}; elided failures {elided_fail}"
    )
    print(summary)
    assert visible_rate >= MIN_PASS_RATE, summary


@pytest.mark.corpus
def test_embedded_email_goldens() -> None:
    """Forwarded / Outlook-quoted messages split into the embedded mail and the text before it."""
    root = golden_root()
    names = sorted(p.name for p in (root / "embedded").glob("*.txt"))
    assert names, f"no goldens under {root / 'embedded'}"
    failed = []
    for name in names:
        got = extract_embedded_email(read(root / "emails" / name))
        want = (read(root / "embedded" / name).strip(), read(root / "before" / name).strip())
        if got is None or (got[0].strip(), got[1].strip()) != want:
            failed.append(name)
    assert failed == []


def test_quoted_block_is_removed() -> None:
    """A "> " quote below the answer is the old message, not part of the reply."""
    got = trim_reply("Thanks, that fixed it.\n\n> Have you tried turning it off?\n> Support\n")
    assert got.visible == "Thanks, that fixed it."
    assert got.elided == "> Have you tried turning it off?\n> Support"


def test_on_date_wrote_header_is_removed() -> None:
    """The "On <date>, X wrote:" attribution goes with the quote it introduces."""
    got = trim_reply(
        "Yes, Tuesday works.\r\n\r\n"
        "On Mon, Jan 8, 2024 at 10:00 AM, Alice Example <alice@example.com> wrote:\r\n"
        "> Can we meet on Tuesday?\r\n"
    )
    assert got.visible == "Yes, Tuesday works."
    assert got.elided.startswith("On Mon, Jan 8, 2024")


def test_german_am_schrieb_header_is_removed() -> None:
    """German clients write "Am <date> schrieb X:"; it is a quote header like "On ... wrote:"."""
    got = trim_reply(
        "Danke, erledigt.\n\n"
        "Am 03.02.2016 um 15:35 schrieb Max Mustermann <max@example.com>:\n\n"
        "> Bitte das Passwort zurücksetzen.\n"
    )
    assert got.visible == "Danke, erledigt."
    assert "schrieb Max Mustermann" in got.elided


def test_outlook_original_message_block_is_removed() -> None:
    """Outlook's "-----Original Message-----" and From/Sent/To/Subject block start the old mail."""
    got = trim_reply(
        "Please close the ticket.\n\n"
        "-----Original Message-----\n"
        "From: Support <support@example.com>\n"
        "Sent: Monday, January 8, 2024 10:00 AM\n"
        "To: Bob <bob@example.com>\n"
        "Subject: Ticket #42\n\n"
        "Your ticket has been resolved.\n"
    )
    assert got.visible == "Please close the ticket."
    assert got.elided.endswith("Your ticket has been resolved.")


def test_dash_dash_signature_is_removed() -> None:
    """Everything after the "-- " signature separator is the sender's signature."""
    got = trim_reply("The printer is on fire again.\n\n-- \nBob Builder\nFacilities\n")
    assert got == TrimmedReply(
        visible="The printer is on fire again.", elided="-- \nBob Builder\nFacilities"
    )


def test_reply_without_quote_is_kept_whole() -> None:
    """With nothing quoted or signed, every line the author wrote stays visible."""
    text = "Hello,\n\nThe invoice says 120 EUR.\nFrom my point of view it should be 100 EUR.\n\nBob"
    assert trim_reply(text) == TrimmedReply(visible=text, elided="")


def test_empty_body_gives_empty_reply() -> None:
    """An empty body has nothing to show and nothing to hide."""
    assert trim_reply("") == TrimmedReply(visible="", elided="")


@pytest.mark.parametrize(
    "text",
    [
        "> \n" * 200_000,
        "a" * 1_000_000,
        "On " * 300_000,
        "On x\n" * 100_000,
        "From: x\nTo: y\nSubject: z\n" * 20_000,
    ],
    ids=["200k-quote-lines", "1MB-line", "On-repeated", "On-lines", "header-lines"],
)
def test_pathological_input_returns(text: str) -> None:
    """Hostile bodies must come back (linear matching, no catastrophic backtracking)."""
    got = trim_reply(text)
    assert isinstance(got.visible, str)
    assert isinstance(got.elided, str)


# Fragments that steer random bodies into every line kind and the multi-line header joiner.
PIECES = ["a", " ", "\n", "\r", ">", "-", ":", "On ", "wrote", "From: x", "```", "<a@b.co>", "2016"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(PIECES) | st.characters(), max_size=80).map("".join))
def test_any_text_trims_without_raising(text: str) -> None:
    """Bodies arrive from strangers: no input may make the trimmer raise."""
    got = trim_reply(text)
    assert isinstance(got.visible, str)
    assert isinstance(got.elided, str)
    assert visible_reply(text) == got.visible  # parse()'s shortcut: the same visible reply


def test_visible_reply_is_trim_replys_visible() -> None:
    """parse() takes ``visible_reply`` (no elided part): the same text as ``trim_reply``."""
    root = golden_root()
    for path in sorted((root / "emails").glob("*.txt")):
        text = read(path)
        assert visible_reply(text) == trim_reply(text).visible, path.name
