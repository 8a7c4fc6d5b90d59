"""Attribution lines ("On <date>, X <x@y> wrote:") that the sender's client wrapped.

Place in the flow: ``parsing.trimmer`` calls ``join_wrapped_markers`` while preprocessing a
reply, before it classifies the lines; a re-joined attribution is one line the classifier
recognises as the start of the quoted part. Split from trimmer.py to keep files short.
"""

from __future__ import annotations

from parsing import trimmer_i18n
from parsing import trimmer_patterns as P

# Wrapped "On ..., X wrote:" headers are re-joined over at most this many following lines.
_MAX_JOIN = 4


def join_wrapped_markers(lines: list[str]) -> list[str]:
    """Re-join "On <date>, X <x@y> wrote:" headers that the sender's client wrapped.

    Only a handful of following lines are ever considered, and only when the first line looks
    like an opener and a later one like a closer, so this stays linear.
    """
    out: list[str] = []
    digits = _four_digit_lines(lines)
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
            span = _wrapped_span(lines, i)
        out.append(_join(lines[i : i + span + 1]) if span else line)
        i += span + 1
    return out


# ASCII digits -> "0", so "0000" marks four in a row (UTF-8 encodes no other character with
# bytes below 0x80).
_DIGIT_BYTES = bytes.maketrans(b"123456789", b"000000000")


def _four_digit_lines(lines: list[str]) -> list[bool]:
    """``FOUR_DIGITS.search(line)`` for every line: the regex steps through each character
    (55 us for the 30 lines of the bench mail); one ``bytes.translate`` over all of them and a
    substring test per line costs 20 us. Lines with other characters may hold non-ASCII
    digits, which only the regex knows."""
    marked = "\n".join(lines).encode("utf-8", "surrogatepass").translate(_DIGIT_BYTES)
    return [
        b"0000" in mark if line.isascii() else P.FOUR_DIGITS.search(line) is not None
        for mark, line in zip(marked.split(b"\n"), lines, strict=True)
    ]


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
    if not P.FOUR_DIGITS.search(first):
        return 0
    span = 0
    if i + 1 <= last and any(c in lines[i + 1] for c in P.DATE_SOMEONE_WROTE_CLOSERS):
        span = int(P.date_someone_wrote(_join(lines[i : i + 2])[: P.MAX_LINE]))
    # "2016-10-24 15:36 GMT+02:00 Foo <\nfoo@bar.com>:": the address may wrap, but the "<"
    # is on the first line or starts the second, as upstream's regex demands.
    if not span and ("<" in first or (i + 1 <= last and lines[i + 1].startswith("<"))):
        for k in range(i + 1, last + 1):
            if lines[k].endswith((">", ">:")):
                joined = _join(lines[i : k + 1])
                if len(joined) <= P.MAX_LINE and P.date_someone_email(joined):
                    span = k - i
                    break
    # Attributions in other languages wrapped before their verb ("... <jan@x.pl>\nnapisał(a):"):
    # the verb's line belongs to the header even when the first line alone looks like one.
    if not trimmer_i18n.is_attribution(first):
        for k in range(i + 1, min(last, i + 2) + 1):
            if trimmer_i18n.has_closer(lines[k]):
                joined = _join(lines[i : k + 1])
                if len(joined) <= P.MAX_LINE and trimmer_i18n.is_attribution(joined):
                    return k - i
                break
    # A line that already is a complete header keeps its neighbours to itself.
    return 0 if span and P.is_embedded(first) else span


def _through_colon_line(lines: list[str], i: int, last: int) -> int:
    """Span up to the first later line holding a colon, if that line ends the header."""
    for k in range(i + 1, last + 1):
        if ":" in lines[k]:
            return k - i if lines[k].rstrip().endswith(":") else 0
    return 0


def _join(lines: list[str]) -> str:
    # A line break plus the next line's indentation becomes one space; blank lines vanish.
    return " ".join([lines[0], *(line.lstrip() for line in lines[1:] if line.strip())])
