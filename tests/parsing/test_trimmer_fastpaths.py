"""The reply trimmer's fast paths give what the line-by-line code they replaced gives.

The trimmer skips work with whole-text searches and cheaper tests (see the comments in
``parsing.trimmer``, ``trimmer_wrapped``, ``trimmer_patterns`` and ``trimmer_i18n``). Each
reference below is the code as it was before, kept here as the definition of the result;
Hypothesis compares the two on generated text full of the strings the rules look for.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from parsing import trimmer as T
from parsing import trimmer_i18n as I18N
from parsing import trimmer_patterns as P
from parsing import trimmer_wrapped as W

# Fragments that reach every rule the fast paths skip: openers (with the letters that fold to
# "i"), verbs, dates and non-ASCII digits, addresses, colons, quote marks, odd whitespace.
PIECES = [
    "\n", "\n", "\n", " ", "\t", "\u00a0", "\x0b", "\u2028", "\x85", "\u3000",
    ">", "> ", ">>>>> \"Bob\" == Bob <b@x.org> writes:", "|", "JD> ", "-", "--", "*",
    "On ", "on ", "İn message ", "ın message ", "Am ", "Le ", "Dňa ", "El ", "在", "At ",
    "wrote", "wrote:", " wrote on ", "schrieb", " schrieb am ", " via Meta wrote:",
    "napisał(a):", "пише:", "написал:", "пользователь ", "a écrit :", "escribió", "写道：",
    "2016", "12.03.2024", "10:15", "١٢٣٤", "2016-10-24 15:36 GMT+02:00 Foo <",
    "<", ">:", "<a@b.co>", "<foo@bar.com>:", "a@b.co", ":", "：", "\u200f",
    "Sent from my phone", "From: x", "Date: 2016", "-----Original Message-----",
    "```", "<<< a <<<", ">>> a >>>", "Mon, 1 Jan", "Jan", "x", "é", "—",
    "-----BEGIN PGP SIGNED MESSAGE-----\n", "-----begin pgp signed message-----\n",
    "-----BEGIN PGP SIGNED MEßAGE-----\n", "Hash: SHA256\n", "\n-----BEGIN PGP SIGNATURE-----\n",
    "\n-----END PGP SIGNATURE-----", "-----", "\nUnsubscribe: a@b.co", "\nunsubscribe: x@y",
    "\nhttp://x.example/u", "ſ",
]  # fmt: skip
# Attribution lines as clients wrap them, in halves, for the multi-line header joiner.
WRAPPED = [
    "2016-10-24 15:36 GMT+02:00 Foo <", "foo@bar.com>:", "2016-10-24 15:36 GMT+02:00 Foo",
    "<foo@bar.com>:", "<foo@bar.com>", "foo@bar.com>", "12.03.2024 Foo Bar", "napisał(a):",
    "Dnia 12.03.2024 o 10:15, Jan <jan@x.pl>", "wrote:",
    "суббота, 14 марта 2015 г. пользователь etewiah", "написал:", "12.03.2024 10:15, Иван",
    "пишет:", "Max <x@y.z> schrieb am Fr., 28.", "Apr. 2017 um 11:53 Uhr:", "Uhr:",
    "On Mon, 12 Mar 2024, Jane", "<jane@x.com> wrote:", "On Mon, Jane wrote:",
    "Am 18.09.2013 um 16:24 schrieb codinghorror", "<info@discourse.org>:", "2024",
    "Le mar. 12 mars 2024 à 10:15, Marie <m@x.fr> a", "écrit :", "Op 12 mrt. 2024 schreef Piet",
    "2024年3月12日 10:15", "写道：", "ti 12.3.2024 klo 10.15 Jukka", "kirjoitti:", "", "text",
]  # fmt: skip
TEXT = st.lists(st.sampled_from(PIECES) | st.characters(), max_size=60).map("".join)
LINE = TEXT.map(lambda text: text.replace("\n", " "))
QUOTING = st.sampled_from(["", "", "> ", ">", " ", "JD> ", "| "])
LINES = st.lists(
    st.tuples(QUOTING, st.sampled_from(WRAPPED) | LINE).map("".join), max_size=12
).map("\n".join)
TEXTS = TEXT | LINES
# Localised header names and signatures, for the gate in front of LINE_KIND_LOCALISED (the
# references here predate those words, so they stay out of PIECES).
LOCALISED_LINE = st.lists(st.sampled_from([
    "Od", "Temat", "DW", "Komu", "Dato", "dato", "Kime", "Inviato", "Enviado el", "Envoyé",
    "**", " *", "*", ":", "：", " ", "\t", "OUTLOOK", "Obtener Outlook para ", "x", "5",
    "SCARICA OUTLOOK PER ", "outlook voor ios downloaden", "Update 5", "2024", "é",
]) | st.characters(), max_size=12).map("".join)
SETTINGS = settings(max_examples=1500, deadline=None)


# --------------------------------------------------------------------------- references

_BIDI = dict.fromkeys(map(ord, "\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
                                "\u2066\u2067\u2068\u2069"))


def is_attribution_reference(line: str) -> bool:
    if not line.isascii():
        line = line.translate(_BIDI)
    text = line.strip().lstrip(">").strip()
    if not text or len(text) > I18N.MAX_ATTRIBUTION or text[-1] not in ":：":
        return False
    low = text.lower()
    if not any(I18N._word_in(low, closer) for closer in I18N._ALL):
        return False
    return I18N._YEAR.search(text) is not None or I18N._TIME.search(text) is not None


def embedded_by_content_reference(line: str) -> bool:
    if ":" not in line and "：" not in line and not line.rstrip().endswith(
            ("wrote", "schrieb", ">")):
        return False
    return (
        P.date_someone_wrote(line)
        or P.date_someone_email(line)
        or P.someone_wrote_on_date(line)
        or P.someone_via_something_wrote(line)
        or P.someone_email_wrote(line)
        or is_attribution_reference(line)
    )


def classify_reference(line: str) -> str:
    stripped = line.strip()
    if not stripped:
        return T.EMPTY
    if not stripped.strip(P.DELIMITER_CHARS):
        return T.DELIMITER
    if len(line) <= P.MAX_LINE:
        m = P.LINE_KIND.match(line)
        if (m and m["signature"] is not None) or ("](" in line and P.is_signature(line)):
            return T.SIGNATURE
        if (m and m["embedded"] is not None) or embedded_by_content_reference(line):
            return T.EMBEDDED
        if m:
            return T.HEADER
    if stripped.startswith(">"):
        return T.QUOTE
    if line.startswith("```"):
        return T.CODE_EITHER if P.CODE_CLOSE.match(line) else T.CODE_OPEN
    if stripped.startswith("```") and P.CODE_CLOSE.match(line):
        return T.CODE_CLOSE
    return T.TEXT


def join_wrapped_markers_reference(lines: list[str]) -> list[str]:
    out: list[str] = []
    digits = [P.FOUR_DIGITS.search(line) is not None for line in lines]
    i, n = 0, len(lines)
    while i < n:
        line = lines[i]
        span = 0
        if len(line) <= P.MAX_LINE and (
            P.ON_DATE_OPENER.match(line)
            or "wrote" in line
            or "schrieb" in line
            or (i + 1 < n and digits[i])
        ):
            span = wrapped_span_reference(lines, i)
        out.append(W._join(lines[i : i + span + 1]) if span else line)
        i += span + 1
    return out


def wrapped_span_reference(lines: list[str], i: int) -> int:
    first = lines[i]
    last = min(len(lines) - 1, i + W._MAX_JOIN)
    if P.ON_DATE_OPENER.match(first):
        if P.ON_DATE_SOMEONE_WROTE.match(first):
            return W._through_colon_line(lines, i, last) if P.OPEN_ENDED_WROTE.match(first) else 0
        following = [line[: P.MAX_LINE].lower() for line in lines[i + 1 : last + 1]]
        if P.ON_DATE_CLOSER.search("\n".join(following)):
            for k, low in enumerate(following, start=i + 1):
                if P.ON_DATE_CLOSER.search(low):
                    joined = W._join(lines[i : k + 1])
                    if len(joined) <= P.MAX_LINE and P.ON_DATE_SOMEONE_WROTE.match(joined):
                        return k - i
    m = P.SOMEONE_WROTE_ON_DATE.search(first) if "wrote" in first or "schrieb" in first else None
    if m and m.start() >= 1 and ":" not in first[m.end() :]:
        return W._through_colon_line(lines, i, last)
    if not P.FOUR_DIGITS.search(first):
        return 0
    span = 0
    if i + 1 <= last and any(c in lines[i + 1] for c in P.DATE_SOMEONE_WROTE_CLOSERS):
        span = int(P.date_someone_wrote(W._join(lines[i : i + 2])[: P.MAX_LINE]))
    if not span and ("<" in first or (i + 1 <= last and lines[i + 1].startswith("<"))):
        for k in range(i + 1, last + 1):
            if W._header_field(lines[k]):
                break  # an Outlook block's "Sent:"/"To:" line (673f4ad): no address wraps on
            if lines[k].endswith((">", ">:")):
                joined = W._join(lines[i : k + 1])
                if len(joined) <= P.MAX_LINE and P.date_someone_email(joined):
                    span = k - i
                    break
    if not is_attribution_reference(first):
        for k in range(i + 1, min(last, i + 2) + 1):
            if I18N.has_closer(lines[k]):
                joined = W._join(lines[i : k + 1])
                if len(joined) <= P.MAX_LINE and is_attribution_reference(joined):
                    return k - i
                break
    return 0 if span and P.is_embedded(first) else span


def drop_pgp_reference(lines: list[str]) -> list[str]:
    if lines[0].upper() == "-----BEGIN PGP SIGNED MESSAGE-----":
        rest = 1
        if rest < len(lines) and re.fullmatch(r"Hash: \w+", lines[rest]):
            rest += 1
        while rest < len(lines) and not lines[rest].strip():
            rest += 1
        lines = lines[rest:] or [""]
    try:
        start = lines.index("-----BEGIN PGP SIGNATURE-----")
        end = len(lines) - 1 - lines[::-1].index("-----END PGP SIGNATURE-----")
    except ValueError:
        return lines
    return [*lines[:start], "", *lines[end + 1 :]] if end > start else lines


def drop_unsubscribe_footer_reference(lines: list[str]) -> list[str]:
    for back in (1, 2):
        if len(lines) < back:
            break
        line = lines[-back]
        if (
            len(line) <= P.MAX_LINE
            and P.UNSUBSCRIBE.match(line)
            and (back == 1 or re.fullmatch(r".+http:.+", lines[-1][: P.MAX_LINE]))
        ):
            return lines[:-back]
    return lines


def preprocess_reference(text: str) -> list[str]:
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    if not text:
        return []
    lines = text.split("\n")
    lines = drop_pgp_reference(lines)
    lines = drop_unsubscribe_footer_reference(lines)
    lines = T._unwrap_enclosed_quotes(lines)
    lines = [T._normalise_quote_prefix(T._drop_alias_header(line)) for line in lines]
    lines = join_wrapped_markers_reference(lines)
    return "\n".join(lines).strip().split("\n")


# --------------------------------------------------------------------------- comparisons


@SETTINGS
@given(LINE)
def test_attribution_test_matches_the_reference(line: str) -> None:
    """Removing bidirectional marks with a regex is what str.translate did."""
    assert I18N.is_attribution(line) == is_attribution_reference(line)


@SETTINGS
@given(LINE)
def test_marker_content_rules_match_the_reference(line: str) -> None:
    """Trying each marker rule only where its text is gives the chain's answer."""
    assert P.embedded_by_content(line) == embedded_by_content_reference(line)


@SETTINGS
@given(LINE)
def test_line_kinds_match_the_reference(line: str) -> None:
    """A quoted line is classified by the marker rules alone, as the full test did."""
    assert T._classify(line) == classify_reference(line)


@SETTINGS
@given(LINE | LOCALISED_LINE)
def test_localised_gate_lets_every_match_through(line: str) -> None:
    """may_be_localised (and its copy in _classify) is False only where the old gate was or
    LINE_KIND_LOCALISED finds nothing."""
    old_gate = (line.find(":", 0, P.HEADER_NAME_REACH) != -1 or not line.isascii()
                or "utlook" in line)
    if old_gate and not P.may_be_localised(line):
        assert P.LINE_KIND_LOCALISED.match(line) is None
    assert P.may_be_localised(line) <= old_gate


def test_localised_gate_passes_localised_lines() -> None:
    """ASCII lines the localised rules take get past the gate."""
    for line in ("Od: Jan <jan@x.pl>", "**Temat** : x", " *Dato:* 12.03.2024", "DW:\tAli",
                 "SCARICA OUTLOOK PER iOS: x", "Obtener Outlook para Android: 1", "kime: Ali"):
        assert P.LINE_KIND_LOCALISED.match(line) is not None, line
        assert P.may_be_localised(line), line
        assert T._classify(line) in (T.HEADER, T.SIGNATURE), line


@SETTINGS
@given(TEXTS)
def test_preprocessed_lines_match_the_reference(text: str) -> None:
    """Whole-text prefilters leave the lines the per-line passes produced."""
    assert T._preprocess(text) == preprocess_reference(text)


@SETTINGS
@given(TEXTS)
def test_armour_and_footer_gates_match_the_reference(text: str) -> None:
    """The PGP armour and list footer are dropped as without their gates."""
    lines = text.split("\n")
    assert T._drop_pgp(lines, text) == drop_pgp_reference(lines)
    assert T._drop_unsubscribe_footer(lines) == drop_unsubscribe_footer_reference(lines)


@SETTINGS
@given(TEXTS)
def test_wrapped_headers_match_the_reference(text: str) -> None:
    """Only some lines are tried as a wrapped header's start; the joins are the same."""
    lines = text.split("\n")
    assert W.join_wrapped_markers(lines, text) == join_wrapped_markers_reference(lines)


@SETTINGS
@given(TEXTS)
def test_remembered_spans_are_the_computed_ones(text: str) -> None:
    """A span depends on its line and the _MAX_JOIN after it only: the remembered answer for
    the same window (asked twice, so once from the cache) is the one computed in place."""
    lines = text.split("\n")
    for i in range(len(lines)):
        assert W._span_at(lines, i) == W._span_at(lines, i) == W._wrapped_span(lines, i)


def test_remembered_spans_stay_bounded_and_skip_long_windows() -> None:
    """The span cache empties when full and never keeps a window past _SPAN_CACHE_CHARS."""
    for n in range(W._SPAN_CACHE_SIZE + 10):
        W._span_at([f"On {n} Jan 2024, Bob <", "bob@x.example> wrote:"], 0)
    assert len(W._span_cache) <= W._SPAN_CACHE_SIZE
    long_window = ["On Mon, 2 Jan 2024, Bob <", "x" * W._SPAN_CACHE_CHARS, "bob@x> wrote:"]
    assert W._span_at(long_window, 0) == W._wrapped_span(long_window, 0)
    assert tuple(long_window) not in W._span_cache


def test_line_start_opener_search_agrees_with_the_line_regex() -> None:
    """ON_DATE_OPENER_LINES tries ON_DATE_OPENER at every line start: its leading class is
    "\\s" less "\\n" plus "<>-", and its look-ahead admits every character that one of the
    words' first letters matches (case-folded)."""
    every = "".join(map(chr, range(sys.maxunicode + 1)))
    leading = set(re.findall(rf"[{P._LINE_SPACE}<>\-]", every))
    assert leading == set(re.findall(r"[\s<>-]", every)) - {"\n"}
    firsts = "|".join(word[0] for word in P._OPENERS.split("|"))
    ahead = set(re.findall(rf"[{P._OPENER_FIRSTS}]", every, re.I))
    assert ahead == set(re.findall(firsts, every, re.I))


@SETTINGS
@given(TEXTS)
def test_one_line_start_pass_finds_what_the_two_searches_find(text: str) -> None:
    """LINE_STARTS gives QUOTE_PREFIX_TO_REWRITE's matches, and ON_DATE_OPENER_LINES' when
    nothing is rewritten; the joiner given those openers joins what it joins finding them."""
    lines = text.split("\n")
    rewrite = [m.start() for m in P.QUOTE_PREFIX_TO_REWRITE.finditer("\n" + text)]
    openers = [m.start() for m in P.ON_DATE_OPENER_LINES.finditer("\n" + text)]
    new_lines, new_text, found = T._normalise_quote_prefixes(lines, text)
    assert new_text == "\n".join(new_lines)
    if rewrite:
        assert found is None
        assert new_lines == [T._normalise_quote_prefix(line) for line in lines]
    else:
        assert found == openers
        assert (new_lines, new_text) == (lines, text)
        assert W.join_wrapped_markers(lines, text, found) == W.join_wrapped_markers(lines, text)
    assert W._candidates(lines, text, openers) == W._candidates(lines, text)


def test_localised_kinds_are_found_through_their_gate() -> None:
    """LINE_KIND then LINE_KIND_LOCALISED behind may_be_localised classify every line of the
    held-out samples and the i18n fixtures as one regex holding all the words would."""
    root = Path(__file__).resolve().parents[2]
    lines = [line for s in json.loads((root / "bench" / "heldout_trim.json").read_text())
             for line in s["body"].splitlines()]
    for path in (root / "tests" / "fixtures" / "trimmer_i18n").glob("*.txt"):
        lines += path.read_text(encoding="utf-8").splitlines()
    whole = re.compile(
        f"(?P<signature>(?i:{P.SIGNATURE.pattern}))|(?P<embedded>{P.EMBEDDED_ANCHORED.pattern})"
        f"|(?P<header>{P.HEADER_WITH_DATE.pattern}|(?i:{P.HEADER_WITH_TEXT.pattern}))"
    )
    for line in lines:
        if len(line) > P.MAX_LINE:
            continue
        m = P.LINE_KIND.match(line)
        if m is None and P.may_be_localised(line):
            m = P.LINE_KIND_LOCALISED.match(line)
        w = whole.match(line)
        assert (m and m.lastgroup) == (w and w.lastgroup), line
