"""Reply trimming: the part of a reply its author wrote, without quotes and signatures.

Place in the flow: called by ``parsing.parse`` on the text body; the visible reply becomes the
case update people read, while the full text is kept beside it.

The approach follows discourse/email_reply_trimmer: every line gets a one-letter kind (empty,
delimiter, signature, embedded-email marker, header, quote, code fence, text), and the reply is
cut by looking at the shape of that string of letters ("text, then a marker, then only quotes"
means everything from the marker on was quoted). Everything is line by line with capped line
lengths and possessive or bounded regexes, so the cost stays linear in the size of the body.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

from parsing import trimmer_patterns as P
from parsing.memo import keep
from parsing.trimmer_kinds import (
    CODE_CLOSE,
    CODE_EITHER,
    CODE_OPEN,
    DELIMITER,
    EMBEDDED,
    EMPTY,
    HEADER,
    QUOTE,
    SIGNATURE,
    TEXT,
    before_separator_length,
    drop_header_runs,
    drop_kind,
    header_block_start,
    merge_wrapped_headers,
    signatures_before_text,
    tail_of,
)
from parsing.trimmer_wrapped import join_wrapped_markers, split_glued_marker


@dataclass(frozen=True, slots=True)
class TrimmedReply:
    visible: str
    elided: str



# Rules over the string of kinds. Quantifiers are possessive where giving characters back can
# never produce a match, which keeps each search linear in the number of lines.
_CODE_BLOCK = re.compile(r"[cp][etd]*+[xp]")
_REPLY_AT_END = re.compile(r"b[^t]++t[et]*+$")
_MARKER_AFTER_TEXT = re.compile(r"te*+b")
_MARKER_THEN_QUOTE = re.compile(r"te*+b[eqbh]*+([te]*+)$")
_THREE_HEADERS = re.compile(r"t[eq]*+h{3}")

# A marker followed by this many lines of text is probably the author's inline reply rather
# than a quoted message, so the text after it is kept (upstream uses the same threshold).
_MAX_TEXT_AFTER_QUOTE = 7


def trim_reply(text: str) -> TrimmedReply:
    """Split ``text`` into what the author wrote and what was quoted or signed."""
    lines, kept = _lines_and_kept(text)
    if not lines:
        return TrimmedReply(visible="", elided="")
    return TrimmedReply(visible="\n".join(kept).strip(), elided=_elided(lines, kept))


def visible_reply(text: str) -> str:
    """``trim_reply(text).visible``: parse() keeps no elided part, and walking the lines for it
    cost 18k instructions a bench mail (callgrind)."""
    return "\n".join(_lines_and_kept(text)[1]).strip()


def _lines_and_kept(text: str) -> tuple[list[str], list[str]]:
    """The preprocessed lines of ``text`` and those of them the author wrote."""
    lines = _preprocess(text)
    if not lines:
        return [], []
    pattern = _classify_all(lines)
    if EMBEDDED in pattern:
        lines, pattern = _split_glued_markers(lines, pattern)
    return lines, _trim_lines(lines, pattern)


def extract_embedded_email(text: str) -> tuple[str, str] | None:
    """Return ``(embedded, before)`` for a forwarded / Outlook-quoted message, else ``None``.

    ``embedded`` starts at the quoted header block; ``before`` is what precedes it, minus the
    separator and marker lines.
    """
    lines = _preprocess(text)
    pattern = _classify_all(lines)
    index = header_block_start(pattern)
    if index is not None:
        embedded = "\n".join(lines[index:]).strip()
    else:
        # Apple Mail wraps forwarded messages in "> " quotes after its marker line.
        m = re.search(r"b(?:[ed]*+q|[eqd]*+t)", pattern)
        if m is None:
            return None
        index = m.start()
        embedded = "\n".join(re.sub(r"^>\s*", "", line) for line in lines[index + 1 :]).strip()
    before_end = index - before_separator_length(pattern[:index])
    return embedded, "\n".join(lines[:before_end]).strip()


# --------------------------------------------------------------------------- preprocessing


def _preprocess(text: str) -> list[str]:
    """Normalise line endings and exotic quoting, re-join wrapped headers; return the lines."""
    if "\r" in text:  # a memchr; the two-character replace scans slower (parse() gives LF)
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = text.strip()
    if not text:
        return []
    lines = split = text.split("\n")
    lines = _drop_pgp(lines, text)
    lines = _drop_unsubscribe_footer(lines)
    # Whole-text tests spare the per-line passes where no line can need them (the steps above
    # only drop lines, and "> " prefixes make neither string). A one-character test goes first:
    # it is a memchr, where a longer string is searched character by character once the text
    # is not Latin-1 (_preprocess 292k -> 279k instructions a bench mail, callgrind).
    if "<" in text and "<<<" in text:
        lines = _unwrap_enclosed_quotes(lines)
    if '"' in text and '>>>>> "' in text:
        lines = [_drop_alias_header(line) for line in lines]
    if lines is not split:
        text = "\n".join(lines)
    lines, text, openers = _normalise_quote_prefixes(lines, text)
    lines = join_wrapped_markers(lines, text, openers)
    if lines and lines[0][:1].strip() and lines[-1][-1:].strip():
        return lines  # nothing for the strip below to take (3k instructions a bench mail)
    return "\n".join(lines).strip().split("\n")


def _drop_pgp(lines: list[str], text: str) -> list[str]:
    """``lines`` (of ``text``) without the armour of clear-signed mail. Gates spare most mail an
    upper-casing and a ValueError (9.6k -> 3.8k instructions, callgrind): only a line starting
    "-----" upper-cases to the header, and a line equal to the signature's start is in text."""
    if lines[0][:5] == "-----" and lines[0].upper() == "-----BEGIN PGP SIGNED MESSAGE-----":
        rest = 1
        if rest < len(lines) and re.fullmatch(r"Hash: \w+", lines[rest]):
            rest += 1
        while rest < len(lines) and not lines[rest].strip():
            rest += 1
        lines = lines[rest:] or [""]
    if "-----BEGIN PGP SIGNATURE-----" not in text:
        return lines
    try:
        start = lines.index("-----BEGIN PGP SIGNATURE-----")
        end = len(lines) - 1 - lines[::-1].index("-----END PGP SIGNATURE-----")
    except ValueError:
        return lines
    return [*lines[:start], "", *lines[end + 1 :]] if end > start else lines


def _drop_unsubscribe_footer(lines: list[str]) -> list[str]:
    # Mailing-list footers ("Unsubscribe: x@y" and maybe a URL line) at the very end.
    for back in (1, 2):
        if len(lines) < back:
            break
        line = lines[-back]
        if (
            line[:1] in "uU"  # what UNSUBSCRIBE (re.I) can start with: 5.8k -> 3.6k (callgrind)
            and len(line) <= P.MAX_LINE
            and P.UNSUBSCRIBE.match(line)
            and (back == 1 or re.fullmatch(r".+http:.+", lines[-1][: P.MAX_LINE]))
        ):
            return lines[:-back]
    return lines


def _drop_alias_header(line: str) -> str:
    # '>>>>> "Bob" == Bob Smith <bob@x> writes:' (Emacs/Gnus attribution) carries no text.
    if '>>>>> "' in line and " writes:" in line and len(line) <= P.MAX_LINE:
        return P.ALIAS_QUOTE_HEADER.sub("", line, count=1)
    return line


def _unwrap_enclosed_quotes(lines: list[str]) -> list[str]:
    """Rewrite '>>> name >>> ... <<< name <<<' and '>>>> ... <<<<' blocks as '> ' quotes."""
    closers: dict[str, list[int]] = {}
    for i, line in enumerate(lines):
        key = _enclosed_key(line, "<") if line.startswith("<<<") else None
        if key is not None:
            closers.setdefault(key, []).append(i)
    if not closers:
        return lines
    out: list[str] = []
    i = 0
    while i < len(lines):
        key = _enclosed_key(lines[i], ">")
        ends = closers.get(key, []) if key is not None else []
        # The first matching closer after at least one line of content.
        at = bisect.bisect_right(ends, i + 1)
        if at == len(ends):
            out.append(lines[i])
            i += 1
            continue
        end = ends[at]
        out.extend("> " + line for line in lines[i + 1 : end])
        i = end + 1
    return out


def _enclosed_key(line: str, mark: str) -> str | None:
    """The block name of an enclosed-quote fence line ("" for a bare fence), else None."""
    if len(line) > P.MAX_LINE or not line.startswith(mark * 3):
        return None
    if P.ENCLOSED_FENCE[mark].fullmatch(line):
        return ""
    m = (P.ENCLOSED_OPEN if mark == ">" else P.ENCLOSED_CLOSE).fullmatch(line)
    return m.group(1).strip() if m else None


def _normalise_quote_prefixes(
    lines: list[str], text: str
) -> tuple[list[str], str, list[int] | None]:
    """``_normalise_quote_prefix`` of every line, ``text`` being the lines joined; returns both,
    and where ``ON_DATE_OPENER_LINES`` matches in "\n" + text when nothing was rewritten.

    Only the lines ``QUOTE_PREFIX_TO_REWRITE`` finds can change: one search over the text
    instead of two calls a line (89k -> 43k instructions a bench mail, callgrind). The opener
    lines come from the same pass (``LINE_STARTS``), sparing the joiner its own."""
    starts: list[int] = []
    openers: list[int] = []
    for m in P.LINE_STARTS.finditer("\n" + text):
        (openers if m.lastgroup is None else starts).append(m.start())
    if not starts:
        return lines, text, openers
    lines = lines.copy()
    for i in P.line_numbers(text, starts):
        lines[i] = _normalise_quote_prefix(lines[i])
    return lines, "\n".join(lines), None


def _normalise_quote_prefix(line: str) -> str:
    # "JD> text", "| text" and "> > text" all become plain "> " quoting.
    if (">" not in line and "|" not in line) or len(line) > P.MAX_LINE:
        return line
    m = P.QUOTE_PREFIX.match(line)
    if m is None or not m.group().strip(P.BL_CHARS + ">"):
        return line  # already plain "> " quoting
    return P.QUOTE_MARK.sub(">", m.group()) + line[m.end() :]


# --------------------------------------------------------------------------- classification


# Lines repeat within a body (quoted blank ">" lines, separators) and across messages: every
# reply quotes our own outgoing mail ("> Customer Care — reply to this email ...", "> Reference:
# ...", "On ..., Care wrote:"). ``_classify`` is a pure function of the line, so its answers are
# kept process-wide: _classify_all 166k -> 23k instructions a bench mail (callgrind), whose
# quoted lines are all seen before. Bounded: lines up to MAX_LINE characters (longer ones skip
# every regex anyway), and emptied when full, so at most a few MB whatever arrives.
_KIND_CACHE_SIZE = 2048
_kind_cache: dict[str, str] = {}


def _classify_all(lines: list[str]) -> str:
    cache = _kind_cache
    kinds = []
    for line in lines:
        kind = cache.get(line)
        if kind is None:
            kind = _classify(line)
            if len(line) <= P.MAX_LINE:
                keep(cache, line, kind, _KIND_CACHE_SIZE)
        kinds.append(kind)
    return "".join(kinds)


def _classify(line: str) -> str:
    stripped = line.strip()
    if not stripped:
        return EMPTY
    if not stripped.strip(P.DELIMITER_CHARS):
        return DELIMITER
    if stripped[0] == ">":
        # After blanks and ">" no signature or header rule can match (each starts with a word),
        # so a quoted line is a marker or a quote: the marker rules alone decide (22k -> 15k
        # instructions for a quoted sentence, callgrind).
        return EMBEDDED if len(line) <= P.MAX_LINE and P.is_embedded(line) else QUOTE
    if len(line) <= P.MAX_LINE:
        m = P.LINE_KIND.match(line)
        # P.may_be_localised inlined (a call costs more than the tests): most lines are prose.
        if m is None and (not line.isascii() or "utlook" in line or (
                (colon := line.find(":", 0, P.HEADER_NAME_REACH)) != -1
                and P.ascii_localised_head(line, colon))):
            m = P.LINE_KIND_LOCALISED.match(line)
        if (m and m["signature"] is not None) or ("](" in line and P.is_signature(line)):
            return SIGNATURE
        if (m and m["embedded"] is not None) or P.embedded_by_content(line):
            return EMBEDDED
        if m:
            return HEADER
    if line.startswith("```"):
        return CODE_EITHER if P.CODE_CLOSE.match(line) else CODE_OPEN
    if stripped.startswith("```") and P.CODE_CLOSE.match(line):
        return CODE_CLOSE
    return TEXT


def _split_glued_markers(lines: list[str], pattern: str) -> tuple[list[str], str]:
    """Marker lines that start with the author's words ("thanks On ..., X wrote:") become two
    lines, the words and the marker, so cutting at the marker keeps the words."""
    out, kinds, done = [], [], 0
    at = pattern.find(EMBEDDED)
    while at != -1:
        split = split_glued_marker(lines[at])
        if split is not None:
            out += [*lines[done:at], *split]
            kinds += [pattern[done:at], _classify(split[0]), EMBEDDED]
            done = at + 1
        at = pattern.find(EMBEDDED, at + 1)
    if not done:
        return lines, pattern
    return [*out, *lines[done:]], "".join([*kinds, pattern[done:]])


# --------------------------------------------------------------------------- trimming


def _trim_lines(lines: list[str], pattern: str) -> list[str]:
    """Apply the cutting rules to ``lines`` whose kinds are ``pattern``; return what is kept."""
    # Delimiters inside code blocks are content, not a signature separator.
    pattern = _CODE_BLOCK.sub(lambda m: m.group().upper(), pattern)

    # Everything after the first delimiter ("-- ", "____", "====") is signature or footer.
    cut = pattern.find(DELIMITER)
    if cut != -1:
        lines, pattern = lines[:cut], pattern[:cut]
    pattern = signatures_before_text(pattern)
    lines, pattern = drop_kind(lines, pattern, SIGNATURE)

    # Bottom-posting: marker, quote, then the reply at the end.
    if _REPLY_AT_END.match(pattern):
        return lines[pattern.index(TEXT) :]

    # Text, then a marker that no quote follows: the marker starts the old message.
    last_quote = pattern.rfind(QUOTE)
    m = _MARKER_AFTER_TEXT.search(pattern, last_quote + 1)
    if m:
        lines, pattern = lines[: m.start() + 1], pattern[: m.start() + 1]

    # Text, then a marker followed by the quote (unless a long inline answer follows). Text
    # below "> " quotes is the author's (a closing, an answer under the last quoted question:
    # talon keeps it), so only the marker and the quotes go; upstream cuts it as "99% of the
    # times the signature", but a lost answer costs more than a kept signature. Text straight
    # after the marker, with no quote between, is the old message quoted without "> ".
    m = _MARKER_THEN_QUOTE.search(tail_of(pattern, "eqbht"))
    if m and m.group(1).count(TEXT) < _MAX_TEXT_AFTER_QUOTE:
        cut = len(pattern) - len(tail_of(pattern, "eqbht")) + m.start() + 1
        after = len(pattern) - len(m.group(1))
        if TEXT in m.group(1) and QUOTE in pattern[cut:after]:
            gap = EMPTY if pattern[after - 1] == EMPTY else ""  # keep the paragraph break
            lines = [*lines[:cut], *[""] * len(gap), *lines[after:]]
            pattern = pattern[:cut] + gap + pattern[after:]
        else:
            lines, pattern = lines[:cut], pattern[:cut]

    # A trailing run of quotes / markers goes, keeping the line just before it.
    tail = len(tail_of(pattern, "qbe"))
    if tail:
        cut = len(pattern) - tail
        keep = cut if cut > 0 and pattern[cut - 1] == TEXT else cut + 1
        lines, pattern = lines[:keep], pattern[:keep]

    lines, pattern = drop_kind(lines, pattern, EMBEDDED)
    pattern = merge_wrapped_headers(pattern)

    # At least three header lines after text: an Outlook-style quoted message starts there.
    m = _THREE_HEADERS.search(pattern)
    if m:
        lines, pattern = lines[: m.start() + 1], pattern[: m.start() + 1]
    lines, pattern = drop_header_runs(lines, pattern)

    # Trailing quotes and blank lines go once there is some text to keep.
    tail = len(tail_of(pattern, "eq"))
    if tail and TEXT in pattern:
        lines = lines[: len(pattern) - tail]
    return lines


def _elided(original: list[str], kept: list[str]) -> str:
    # Walk both lists in step: every original line not matched by the next kept line was elided.
    elided: list[str] = []
    k = 0
    for line in original:
        if k < len(kept) and line == kept[k]:
            k += 1
        else:
            elided.append(line)
    return "\n".join(elided).strip()
