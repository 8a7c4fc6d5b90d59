"""Issue 15's later parse fast paths give what the general code gives.

Each test compares a fast path with the plain code it stands in for, on Hypothesis input
biased toward the strings the fast path keys on, so that it answers a good share of cases.
"""

from __future__ import annotations

import re
import sys

from hypothesis import given, settings
from hypothesis import strategies as st

from parsing import reference
from parsing import trimmer as T
from parsing.parser import _WHITESPACE_RUN, collapse_whitespace

from .test_trimmer_fastpaths import LINE, WRAPPED

SETTINGS = settings(max_examples=1500, deadline=None)

# Lines that recur, so that the process-wide kind cache answers most of them, beside new ones.
RECURRING = st.sampled_from([*WRAPPED, ">", "> ", "> --", "-- ", "On Mon, Care wrote:",
                             "> Reference: [ref:CASE-1001:qwpd4ne4k6lbb5x2]", "```", " ``` ",
                             "Sent from my phone", "From: x", "x" * 501, "> " + "x" * 499])


@SETTINGS
@given(st.lists(st.lists(RECURRING | LINE, max_size=12), max_size=6), st.integers(1, 8))
def test_cached_line_kinds_are_the_kinds(bodies: list[list[str]], size: int) -> None:
    """The process-wide cache of line kinds (tiny here, so it fills and empties) answers what
    classifying each line afresh answers, across several bodies."""
    saved = T._KIND_CACHE_SIZE
    T._KIND_CACHE_SIZE = size
    try:
        for lines in bodies:
            assert T._classify_all(lines) == "".join(T._classify(line) for line in lines)
            assert len(T._kind_cache) <= size
    finally:
        T._KIND_CACHE_SIZE = saved
        T._kind_cache.clear()


# --------------------------------------------------------------------------- reference tokens

TOKEN = "[ref:CASE-1001:qwpd4ne4k6lbb5x2]"
TOKEN_PIECES = st.lists(
    st.sampled_from([
        "ref:", "REF#", "rEf.", "ref: ", "ref.", "CASE-1001", "caſe-12", "TSUP-1234", "tſup-9",
        "100100", ":", "#", ".", " ", "\n", "x", "@", "@x.org", "é", "İ", "ı", "\u017f",
        "\u212a", "K", "ref:caſe-7:", "ref.tſup-9.", "ſ" * 16,
        "qwpd4ne4k6lbb5x2", "QWPD4NE4K6LBB5X2", "qwpd4ne4", "8", TOKEN, TOKEN[5:],
    ]) | st.characters(),
    max_size=16,
).map("".join)  # fmt: skip


def _found(pattern: re.Pattern[str], text: str) -> list[tuple[tuple[int, int], tuple[str, ...]]]:
    return [(m.span(), m.groups()) for m in pattern.finditer(text)]


def test_spelled_out_classes_are_the_case_insensitive_ones() -> None:
    """Every character of Unicode: the spelled-out letter classes match where re.I matches."""
    pairs = [("s", reference._S), ("[A-Za-z2-7]", reference._MAC_CHAR)]
    pairs += [(c, f"[{c}{c.upper()}]") for c in "refcatup"]
    for folded, spelled in pairs:
        a, b = re.compile(folded, re.I), re.compile(spelled)
        assert [c for c in map(chr, range(sys.maxunicode + 1))
                if bool(a.fullmatch(c)) != bool(b.fullmatch(c))] == [], folded


@SETTINGS
@given(TOKEN_PIECES)
def test_spelled_out_token_pattern_finds_what_re_i_finds(text: str) -> None:
    assert _found(reference.TOKEN_RE, text) == _found(reference.TOKEN_RE_I, text)


@SETTINGS
@given(TOKEN_PIECES)
def test_spelled_out_message_id_pattern_matches_as_re_i(text: str) -> None:
    for value in (text, "ref." + text, text.strip().strip("<>")):
        got, want = reference.MESSAGE_ID_RE.match(value), reference.MESSAGE_ID_RE_I.match(value)
        assert (got and (got.span(), got.groups())) == (want and (want.span(), want.groups()))


@SETTINGS
@given(st.lists(st.sampled_from([
    "<ref.CASE-1001.qwpd4ne4k6lbb5x2.1@x>", "ref.CASE-1001.QWPD4NE4K6LBB5X2.2@x", "<a@b>",
    "ref.TSUP-12.aaaaaaaaaaaaaaaa.3@y", "ref.100100.bbbbbbbbbbbbbbbb.4@z",
]), max_size=8), TOKEN_PIECES)
def test_thread_ids_read_once_each_give_the_same_tokens(ids: list[str], body: str) -> None:
    """collect reads each distinct id once; every id read, duplicates dropped after, is the same."""
    tokens, _ = reference.collect(thread_ids=tuple(ids), subject="", body=body, key=None)
    from_ids = [(t.number, t.mac, t.source) for t in reference.find_in_message_ids(tuple(ids))]
    in_body = [(t.number, t.mac, t.source)
               for t in reference.find_tokens("\n" + body, reference.ReferenceSource.BODY)]
    assert [(t.number, t.mac, t.source) for t in tokens] == list(dict.fromkeys(from_ids + in_body))


# --------------------------------------------------------------------------- search text

SPACED = st.lists(
    st.sampled_from([" ", "  ", "\n", "\t", "\u00a0", "\u2028", "\x85", "\u3000", "x", "case",
                     "é", "\\1", "\\g<0>"]) | st.characters(), max_size=30,
).map("".join)


@SETTINGS
@given(SPACED)
def test_collapsed_white_space_is_the_template_substitution(text: str) -> None:
    """A run of three or more white-space characters keeps its first two, as before."""
    assert collapse_whitespace(text) == _WHITESPACE_RUN.sub(r"\1", text)
