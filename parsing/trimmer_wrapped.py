"""Attribution lines ("On <date>, X <x@y> wrote:") that the sender's client wrapped.

Place in the flow: ``parsing.trimmer`` calls ``join_wrapped_markers`` while preprocessing a
reply, before it classifies the lines; a re-joined attribution is one line the classifier
recognises as the start of the quoted part. Split from trimmer.py to keep files short.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from itertools import accumulate, count
from operator import add

from parsing import trimmer_i18n
from parsing import trimmer_patterns as P
from parsing.memo import remembered

# Wrapped "On ..., X wrote:" headers are re-joined over at most this many following lines.
_MAX_JOIN = 4


def join_wrapped_markers(
    lines: list[str], text: str, openers: list[int] | None = None
) -> list[str]:
    """Re-join "On <date>, X <x@y> wrote:" headers that the sender's client wrapped;
    ``text`` is the lines joined with "\n", ``openers`` (if known) where
    ``ON_DATE_OPENER_LINES`` matches in "\n" + text.

    Only a handful of following lines are ever considered, and only when the first line looks
    like an opener and a later one like a closer, so this stays linear.
    """
    out: list[str] = []
    done = 0  # lines[:done] are in out
    for i in _candidates(lines, text, openers):
        if i < done:
            continue  # inside a header joined already
        span = _span_at(lines, i)
        if span:
            out.extend(lines[done:i])
            out.append(_join(lines[i : i + span + 1]))
            done = i + span + 1
    if not done:
        return lines
    out.extend(lines[done:])
    return out


def _candidates(lines: list[str], text: str, openers: list[int] | None = None) -> list[int]:
    """Lines that ``_wrapped_span`` may find a header at, in order: every line no longer than
    ``MAX_LINE`` that it gives a span to is among them. Such a line is an opener
    (``ON_DATE_OPENER``), holds "wrote" or "schrieb", or (``_may_go_on``) holds a "<" or
    comes just before one or two lines holding a "<" or a colon.

    Each is found with a search over the whole text instead of tests line by line; the hits
    are mapped back to line numbers (join_wrapped_markers 473k -> 228k instructions a bench
    mail, callgrind). tests/parsing/test_trimmer_fastpaths.py checks the spans against testing
    every line.
    """
    # Where each line ends in text (its "\n", or len(text)): a hit's line is a bisection of
    # this, not a count of the newlines before the hit (111k -> 85k instructions a bench mail,
    # callgrind).
    ends = list(map(add, accumulate(map(len, lines)), count()))
    found: set[int] = set()
    if openers is None:
        openers = [m.start() for m in P.ON_DATE_OPENER_LINES.finditer("\n" + text)]
    for at in openers:
        found.add(bisect_left(ends, at))
    for word, before, upto in _WORDS:
        at = text.find(word)
        while at != -1:
            line = bisect_left(ends, at)
            found.update(range(max(0, line - before), line + 1 - upto))
            at = text.find(word, ends[line])  # one hit a line is enough
    # An empty line starts no header (every rule needs an opener, a verb or a year on it): the
    # blank line before "On ..., X wrote:" is the one before a colon line in most replies.
    return sorted(i for i in found if 0 < len(lines[i]) <= P.MAX_LINE)


# Words that make a line a candidate, with the lines they make candidates: the line holding
# "wrote" or "schrieb", the one holding "<" and the one before it, the two before a colon.
_WORDS = (("wrote", 0, 0), ("schrieb", 0, 0), ("<", 1, 0), (":", 2, 1), ("：", 2, 1))


def _may_go_on(lines: list[str], i: int, last: int) -> bool:
    """Whether a header starting at line ``i`` with a date could go on to a later line: the
    address is there ("<" on the first line or starting the next), or one of the next two
    lines ends with the verb and a colon. Past its opener and "wrote" rules, each rule of
    ``_wrapped_span`` needs one of these."""
    if i + 1 > last:
        return False
    nxt = lines[i + 1]
    if "<" in lines[i] or nxt.startswith("<") or ":" in nxt or "：" in nxt:
        return True
    return i + 2 <= last and (":" in lines[i + 2] or "：" in lines[i + 2])


# A span is a pure function of the header's line and the _MAX_JOIN lines after it, and the
# candidates of a reply are mostly the quoted lines of our own mail (its footer, the lines
# around "> Reference: [ref:...]"), the same from reply to reply: answers are kept
# process-wide, as the trimmer keeps line kinds. join_wrapped_markers 156k -> 107k
# instructions a bench mail (callgrind). Bounded: windows up to _SPAN_CACHE_CHARS characters,
# at most _SPAN_CACHE_SIZE answers (emptied when full).
_SPAN_CACHE_CHARS = 2048
_SPAN_CACHE_SIZE = 512
_span_cache: dict[tuple[str, ...], int] = {}


def _span_at(lines: list[str], i: int) -> int:
    """``_wrapped_span(lines, i)``, remembered for short windows."""
    window = tuple(lines[i : i + _MAX_JOIN + 1])
    if sum(map(len, window)) > _SPAN_CACHE_CHARS:
        return _wrapped_span(lines, i)
    return remembered(_span_cache, window, _SPAN_CACHE_SIZE, _wrapped_span, list(window), 0)


def _wrapped_span(lines: list[str], i: int) -> int:
    """How many following lines belong to a header starting at line ``i`` (0 if none)."""
    first = lines[i]
    last = min(len(lines) - 1, i + _MAX_JOIN)
    if P.ON_DATE_OPENER.match(first):
        if P.ON_DATE_SOMEONE_WROTE.match(first):
            # "Am ... schrieb X <x@y" whose closing ">:" was wrapped onto a later line.
            return _through_colon_line(lines, i, last) if P.OPEN_ENDED_WROTE.match(first) else 0
        # Closer words are searched in lower-cased text: re.I alternations are ~10x slower.
        following = [line[: P.MAX_LINE].lower() for line in lines[i + 1 : last + 1]]
        if P.ON_DATE_CLOSER.search("\n".join(following)):
            for k, low in enumerate(following, start=i + 1):
                if P.ON_DATE_CLOSER.search(low):
                    joined = _join(lines[i : k + 1])
                    if len(joined) <= P.MAX_LINE and P.ON_DATE_SOMEONE_WROTE.match(joined):
                        return k - i
    # "X <x@y> schrieb am Fr., 28.\nApr. 2017 um 11:53 Uhr:"
    m = P.SOMEONE_WROTE_ON_DATE.search(first) if "wrote" in first or "schrieb" in first else None
    if m and m.start() >= 1 and ":" not in first[m.end() :]:
        return _through_colon_line(lines, i, last)
    if not _may_go_on(lines, i, last) or not P.FOUR_DIGITS.search(first):
        return 0
    span = 0
    if i + 1 <= last and any(c in lines[i + 1] for c in P.DATE_SOMEONE_WROTE_CLOSERS):
        span = int(P.date_someone_wrote(_join(lines[i : i + 2])[: P.MAX_LINE]))
    # "2016-10-24 15:36 GMT+02:00 Foo <\nfoo@bar.com>:": the address may wrap, but the "<"
    # is on the first line or starts the second, as upstream's regex demands.
    if not span and ("<" in first or (i + 1 <= last and lines[i + 1].startswith("<"))):
        for k in range(i + 1, last + 1):
            if _header_field(lines[k]):
                break  # an Outlook block's "Sent:"/"To:" line: not the address wrapping on
            if lines[k].endswith((">", ">:")):
                joined = _join(lines[i : k + 1])
                if len(joined) <= P.MAX_LINE and P.date_someone_email(joined):
                    span = k - i
                    break
    # Attributions in other languages wrapped before their verb ("... <jan@x.pl>\nnapisał(a):"):
    # the verb's line belongs to the header even when the first line alone looks like one.
    # The joined header ends as the verb's line does, and must end with a colon: an ASCII line
    # that does not cannot end one, so without such a line the loop below finds nothing (a
    # quoted template line of the bench mail: 66k -> 40k instructions, callgrind).
    verb_lines = range(i + 1, min(last, i + 2) + 1)
    if any(_may_end_attribution(lines[k]) for k in verb_lines) and not (
        trimmer_i18n.is_attribution(first)
    ):
        for k in verb_lines:
            if trimmer_i18n.has_closer(lines[k]):
                joined = _join(lines[i : k + 1])
                if len(joined) <= P.MAX_LINE and trimmer_i18n.is_attribution(joined):
                    return k - i
                break
    # A line that already is a complete header keeps its neighbours to itself.
    return 0 if span and P.is_embedded(first) else span


def _header_field(line: str) -> bool:
    """An Outlook header line ("Sent: ...", "To: ..."), which a wrapped address never is."""
    if ":" not in line and "：" not in line:
        return False
    line = line[: P.MAX_LINE]
    return P.HEADER_WITH_DATE.match(line) is not None or P.HEADER_WITH_TEXT.match(line) is not None


def _may_end_attribution(line: str) -> bool:
    """False when ``line`` is ASCII and its last non-blank character is no colon (a full-width
    colon or a bidirectional mark after the colon needs non-ASCII)."""
    return not line.isascii() or line.rstrip().endswith(":")


def _through_colon_line(lines: list[str], i: int, last: int) -> int:
    """Span up to the first later line holding a colon, if that line ends the header."""
    for k in range(i + 1, last + 1):
        if ":" in lines[k]:
            return k - i if lines[k].rstrip().endswith(":") else 0
    return 0


def _join(lines: list[str]) -> str:
    # A line break plus the next line's indentation becomes one space; blank lines vanish.
    return " ".join([lines[0], *(line.lstrip() for line in lines[1:] if line.strip())])


# An opener of ``ON_DATE_SOMEONE_WROTE`` after a blank or "-" inside a line: where an attribution
# glued to the author's last line may start. Case-sensitive: clients capitalise the opener.
_GLUED_OPENER = re.compile(r"[ \t-](?=(?:On|Le|Am|El|Il|Em|Op) )")
_MAX_GLUED_TRIES = 3


def split_glued_marker(line: str) -> tuple[str, str] | None:
    """``(text, attribution)`` for a line whose end is a whole "On <date>, X wrote:" header
    ("reply On Wed, Apr 4, 2012 at 3:59 PM, bob@x.com wrote:", "ok--- On ..."), else None.

    Some clients, and HTML parts flattened to text, glue the attribution to the author's last
    line; the classifier then marks the whole line as the start of the quote and the author's
    words on it were cut. At most ``_MAX_GLUED_TRIES`` openers are tried, each one anchored
    match on a line capped at ``MAX_LINE`` characters."""
    if len(line) > P.MAX_LINE or line.lstrip().startswith(">"):
        return None
    for m in list(_GLUED_OPENER.finditer(line))[:_MAX_GLUED_TRIES]:
        head, tail = line[: m.end()].rstrip(" \t-"), line[m.end() :]
        if any(c.isalnum() for c in head) and P.ON_DATE_SOMEONE_WROTE.match(tail):
            return head, tail
    return None
