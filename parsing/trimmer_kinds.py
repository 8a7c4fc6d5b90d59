"""The string of line kinds the reply trimmer cuts by, and the rules that read it.

Place in the flow: ``parsing.trimmer`` gives every line of a reply a one-letter kind and cuts
the reply by the shape of that string; the helpers here look at that string only (never at
the text), each in one pass or with possessive regexes, so their cost is linear in the number
of lines. Split from trimmer.py to keep files short.
"""

from __future__ import annotations

import re

# Line kinds. Upper-case letters (code fences and the lines between them) match none of the
# rules, which is how code blocks are protected from the delimiter cut.
EMPTY, DELIMITER, SIGNATURE, EMBEDDED, HEADER, QUOTE, TEXT = "edsbhqt"
CODE_OPEN, CODE_CLOSE, CODE_EITHER = "cxp"


def signatures_before_text(pattern: str) -> str:
    """Signature lines that text follows (blank lines between) become text.

    A client's "Sent from my iPhone" ends what the author wrote: the quote, the marker or
    nothing comes after it. A line the author's text goes on after is a sentence of theirs that
    happens to start alike: "Sent by courier on Monday, tracking 1234." One pass from the end
    (a regex look-ahead per signature line would rescan runs of blank lines)."""
    if SIGNATURE not in pattern:
        return pattern
    kinds = list(pattern)
    following = ""
    for i in range(len(kinds) - 1, -1, -1):
        if kinds[i] == SIGNATURE and following == TEXT:
            kinds[i] = TEXT
        if kinds[i] != EMPTY:
            following = kinds[i]
    return "".join(kinds)


def drop_header_runs(lines: list[str], pattern: str) -> tuple[list[str], str]:
    """Drop header lines that stand in a run of two or more ("From: ...", "Sent: ...").

    A lone one is the author's: "A: because the disk is full." (Q&A style; "A" is Italian
    Outlook's "To"), "Subject: my invoice is wrong". Upstream drops every header line wherever
    it stands, which cut those sentences from the reply."""
    if HEADER not in pattern:
        return lines, pattern
    keep = [i for i, kind in enumerate(pattern) if kind != HEADER
            or HEADER not in (pattern[i - 1 : i] + pattern[i + 1 : i + 2])]
    return [lines[i] for i in keep], "".join(pattern[i] for i in keep)


def tail_of(pattern: str, kinds: str) -> str:
    """The longest suffix of ``pattern`` made only of ``kinds``."""
    return pattern[len(pattern.rstrip(kinds)) :]


def drop_kind(lines: list[str], pattern: str, kind: str) -> tuple[list[str], str]:
    if kind not in pattern:
        return lines, pattern
    keep = [i for i, k in enumerate(pattern) if k != kind]
    return [lines[i] for i in keep], "".join(pattern[i] for i in keep)


def merge_wrapped_headers(pattern: str) -> str:
    """Mark wrapped header values ("To: a,\n b") as header lines too.

    Upstream (``h+[hte]+h+e``) marks everything from the first header line to a header that an
    empty line follows, whatever lies between: a reply with "A: ..." and later "Subject: ..."
    lines became one header block, and the three-header rule then cut the author's text after
    the first. Here a block is header lines with at most ``_MAX_WRAPPED`` text lines (the
    wrapped value) between each two, ended by an empty line or the end of the reply (a quoted
    block can be the last thing in it). The first such block with a wrapped value and three
    header lines or more (From/Sent/To/Subject; two are as likely the author's "A: ..." and
    "Subject: ..." lines) is marked, its closing empty line too, as upstream does. One pass
    over the header lines.
    """
    at = pattern.find(HEADER)
    while at != -1:
        first = last = at
        wrapped, heads = False, 1
        nxt = pattern.find(HEADER, last + 1)
        while nxt != -1 and nxt - last - 1 <= _MAX_WRAPPED and pattern[last + 1 : nxt] == (
            TEXT * (nxt - last - 1)
        ):
            wrapped, heads = wrapped or nxt - last > 1, heads + 1
            last, nxt = nxt, pattern.find(HEADER, nxt + 1)
        closed = last + 1 == len(pattern) or pattern[last + 1] == EMPTY
        if wrapped and closed and heads >= 3:
            stop = min(last + 2, len(pattern))
            return pattern[:first] + HEADER * (stop - first) + pattern[stop:]
        at = nxt if nxt != -1 and nxt > last else pattern.find(HEADER, last + 1)
    return pattern


# Lines a header's value may be wrapped over ("From: X [mailto:\n x@y]").
_MAX_WRAPPED = 2


def header_block_start(pattern: str) -> int | None:
    """Start of the first run of 3+ header lines (only blanks, quotes, delimiters between)
    that a text line follows, or that holds a quote line after its third header."""
    for run in re.finditer(r"[heqd]+", pattern):
        heads = [i for i, kind in enumerate(run.group()) if kind == HEADER][:3]
        if len(heads) == 3 and (
            pattern[run.end() : run.end() + 1] == TEXT or QUOTE in run.group()[heads[2] :]
        ):
            return run.start() + heads[0]
    return None


def before_separator_length(prefix: str) -> int:
    """Length of the blank/marker/delimiter lines that end ``prefix`` (upstream's
    ``e*(b[eqd]*|b*[ed]*)$``), found by matching the reversed string from its start."""
    rev = prefix[::-1]
    a = re.match(r"[eqd]*+be*+", rev)
    b = re.match(r"[ed]*+b*+e*+", rev)
    return max(len(a.group()) if a else 0, len(b.group()) if b else 0)
