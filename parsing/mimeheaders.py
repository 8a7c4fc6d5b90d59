"""Header blocks of a message or part -> (name, value) fields (RFC 5322 2.2, RFC 6532).

Place in the flow: ``parsing.mime`` reads every part's header block with ``parse_headers``;
``parsing.bodies`` reads returned header blocks (text/rfc822-headers) with it too. Values come
out unfolded and decoded to str (UTF-8, or the part's charset for raw 8-bit); RFC 2047
encoded-words are left for ``parsing.headers``. Problems are reported with the stdlib's defect
names, as in ``parsing.mime``.
"""

from __future__ import annotations

import re

from parsing.decode import decode_text

MAX_HEADERS = 1000  # header fields kept per part
MAX_HEADER_VALUE = 32 * 1024  # characters kept of one header value

# One field and its folded lines (RFC 5322 2.2, 2.2.3); the name is printable ASCII except ":"
# (3.6.8), and obsolete whitespace before the colon is allowed (4.5). Linear: a continuation
# needs a newline followed by a space or tab, so the two repetitions cannot overlap.
_FIELD = re.compile(rb"([!-9;-~]{1,256})[ \t]*:([^\n]*(?:\n[ \t][^\n]*)*)(?:\n|\Z)")
_CONTINUATION = re.compile(rb"[ \t][^\n]*(?:\n[ \t][^\n]*)*(?:\n|\Z)")
# The common header block, checked in one pass: every line a field or a fold of one, up to an
# empty line (possessive: nothing to backtrack into). Group 1: the fields.
_FIELDS_BLOCK = re.compile(rb"((?:[!-9;-~]{1,256}+[ \t]*+:[^\n]*+\n(?:[ \t][^\n]*+\n)*+)*+)\r?\n")
# _FIELD over such a block once decoded (and stripped of CRs): every match is the next field.
# The WSP after the colon is left out of the value: stripping it would cost a copy of each.
_DECODED_FIELD = re.compile(r"([!-9;-~]{1,256}+)[ \t]*+:[ \t]*+([^\n]*+(?:\n[ \t][^\n]*+)*+)\n")
_CHARSET_HINT = re.compile(rb'charset\s*=\s*"?([A-Za-z0-9_.:-]{1,40})', re.I)
# Fields every message's own header has (RFC 5322 3.6: From and Date are required, the rest
# near-universal). Body text seldom holds one of them followed by an empty line.
_MESSAGE_FIELD = re.compile(
    rb"(?:from|to|cc|subject|date|message-id|mime-version|content-type|received|return-path"
    rb"|reply-to|sender)[ \t]*:", re.I)
_STRAY_LOOKAHEAD = 200  # lines looked at past a non-header line of a message's header
_DAMAGE_RUN = 4  # non-field lines in a row that may still be damage inside a message's header
# Fields a message's header holds at most once (RFC 5322 3.6's table; RFC 2045 for the MIME
# ones). A second one past a run of text lines is a quoted header block in the body.
_ONCE_ONLY = frozenset((
    b"from", b"sender", b"reply-to", b"to", b"cc", b"bcc", b"subject", b"date", b"message-id",
    b"in-reply-to", b"references", b"mime-version", b"content-type",
    b"content-transfer-encoding"))


def guess_legacy_charset(value: bytes) -> str:
    """A charset for raw 8-bit header bytes that carry no label (pre-RFC 6532 clients).

    Russian mail of that era is KOI8-R or windows-1251, which put lower- and upper-case
    Cyrillic at swapped byte ranges; real text is mostly lower case, so the charset that reads
    the bytes as mostly lower-case letters is the one the sender used. Otherwise windows-1252.
    """
    high = sum(b >= 0xC0 for b in value)
    ascii_letters = sum(65 <= b <= 90 or 97 <= b <= 122 for b in value)
    # Cyrillic text is nearly all high bytes; Latin text with accents is mostly ASCII letters.
    if high < 4 or high < 2 * ascii_letters or high * 2 < sum(b >= 0x80 for b in value):
        return "windows-1252"
    lower_koi = sum("а" <= c <= "я" for c in value.decode("koi8-r", "replace"))
    lower_cp = sum("а" <= c <= "я" for c in value.decode("windows-1251", "replace"))
    if max(lower_koi, lower_cp) * 2 < high:
        return "windows-1252"
    return "koi8-r" if lower_koi >= lower_cp else "windows-1251"


def parse_headers(
    buf: bytes, start: int, end: int, *, message: bool = False
) -> tuple[list[tuple[str, str]], int, list[str]]:
    """Header fields (unfolded, decoded to str) and where the body starts. ``message``: this is
    a whole message's header (not a MIME part's), which may carry a stray line (see
    ``read_fields``)."""
    problems: list[str] = []
    pos = start
    if buf.startswith(b"From ", start, end):  # an mbox separator line, not a header
        eol = buf.find(b"\n", start, end)
        pos = eol + 1 if eol >= 0 else end
    leading = _CONTINUATION.match(buf, pos, end)
    if leading is not None:
        problems.append("FirstHeaderLineIsContinuationDefect")
        pos = leading.end()
    found = common_block(buf, pos, end) or read_fields(buf, start, pos, end, problems,
                                                       message=message)
    return found[0], found[1], problems


def common_block(buf: bytes, pos: int, end: int) -> tuple[list[tuple[str, str]], int] | None:
    """``read_fields``' answer for the common block, or None: UTF-8, ended by an empty line,
    every line a field or a fold, nothing to report.

    One regex checks the block and finds its end, one decode and one ``findall`` split it,
    instead of a match, two decodes and a replace per field (the bench mail's root headers:
    258k -> 123k instructions, callgrind)."""
    match = _FIELDS_BLOCK.match(buf, pos, end)
    # The block's length bounds every value's: no value can need cutting (MAX_HEADER_VALUE).
    if match is None or match.end(1) - pos > MAX_HEADER_VALUE:
        return None
    try:
        # Every value of a block that is UTF-8 as a whole is UTF-8 (fields split at "\n").
        text = buf[pos : match.end(1)].decode("utf-8")
    except UnicodeDecodeError:
        return None
    if "\x00" in text:
        return None
    if "\r" in text:  # in a well-formed block every CR is inside a value, where it goes
        text = text.replace("\r", "")
    found = _DECODED_FIELD.findall(text)
    if len(found) > MAX_HEADERS:
        return None
    # Unfold (RFC 5322 2.2.3) as _decode_fields does: drop the line breaks, keep the WSP.
    fields = [(name, (value.replace("\n", "") if "\n" in value else value).strip(" \t"))
              for name, value in found]
    return fields, match.end()


def read_fields(
    buf: bytes, start: int, pos: int, end: int, problems: list[str], *, message: bool = False
) -> tuple[list[tuple[str, str]], int]:
    """Fields from ``pos`` and where the body starts, field by field, whatever the block holds;
    ``start`` is where the part's header begins (its charset hint may be before ``pos``).

    A line that is neither a field nor a fold ends the header (RFC 5322 2.1: the body follows
    an empty line; without one the stdlib starts the body there too). In a message's own
    header (``message``) a short run of such lines can be damage inside the header instead: a
    relay's banner above it ("---- Original email message ----") or folds that lost their
    leading space (a Received field's "by ...", "for ...", date lines). Ending there would lose
    the From and Subject below it, so the run is kept as part of the field before it (dropped
    when it is the first), and reported, when ``_damage_run`` finds the header going on past
    it."""
    raw: list[tuple[bytes, bytes]] = []
    body_start = end
    while pos < end:
        if buf.startswith(b"\n", pos, end) or buf.startswith(b"\r\n", pos, end):
            body_start = buf.find(b"\n", pos, end) + 1  # the empty line (RFC 5322 2.1)
            break
        match = _FIELD.match(buf, pos, end)
        resume = -1 if match is not None or not message else _damage_run(buf, pos, end, raw)
        if resume > 0:
            if raw and len(raw) <= MAX_HEADERS:
                damage = b" ".join(buf[pos:resume].split())
                raw[-1] = (raw[-1][0], raw[-1][1] + b" " + damage)
            problems.append("non-header line inside the header block, read as part of it")
            pos = resume
            continue
        if match is None:
            problems.append("MissingHeaderBodySeparatorDefect: body starts at a non-header line")
            body_start = pos
            break
        if len(raw) < MAX_HEADERS:
            raw.append((match.group(1), match.group(2)))
        elif len(raw) == MAX_HEADERS:
            problems.append(f"more than {MAX_HEADERS} header fields; rest ignored")
            raw.append((b"", b""))  # marks the problem as reported; dropped below
        pos = match.end()
    if len(raw) > MAX_HEADERS:
        raw.pop()
    return _decode_fields(raw, buf, start, body_start, problems), body_start


def _damage_run(buf: bytes, pos: int, end: int, before: list[tuple[bytes, bytes]]) -> int:
    """Where the header resumes after the non-field line at ``pos``, when that line starts a
    run of damage inside it; else -1 (the body starts at ``pos``).

    Damage: at most ``_DAMAGE_RUN`` non-empty lines (one above the first field: folds need a
    field to continue), right after them a field, and from there the block holds a field every
    message has, no second copy of a field a header holds once (``_ONCE_ONLY``, counting the
    fields ``before``), and then the empty line that ends a header (RFC 5322 2.1). A reply
    sent without that empty line fails it: its text runs on past a few lines, or reaches a
    quoted "From:/Sent:/To:/Subject:" block, whose From repeats the header's own."""
    resume = -1
    # Above the first field only a banner line: several lines there are a body sent alone.
    for _ in range(_DAMAGE_RUN if before else 1):
        eol = buf.find(b"\n", pos, end)
        if eol < 0:
            return -1
        pos = eol + 1
        if buf.startswith(b"\n", pos, end) or buf.startswith(b"\r\n", pos, end):
            return -1
        if _FIELD.match(buf, pos, end) is not None:
            resume = pos
            break
    if resume < 0:
        return -1
    once = {name.lower() for name, _ in before} & _ONCE_ONLY
    seen = False
    for _ in range(_STRAY_LOOKAHEAD):
        if buf.startswith(b"\n", pos, end) or buf.startswith(b"\r\n", pos, end):
            return resume if seen else -1
        match = _FIELD.match(buf, pos, end)
        if match is None:  # a later run of damage: judged on its own when reached
            eol = buf.find(b"\n", pos, end)
            if eol < 0:
                return -1
            pos = eol + 1
            continue
        name = match.group(1).lower()
        if name in once:
            return -1
        if name in _ONCE_ONLY:
            once.add(name)
        seen = seen or _MESSAGE_FIELD.match(buf, pos, end) is not None
        pos = match.end()
    return -1


def _decode_fields(
    raw: list[tuple[bytes, bytes]], buf: bytes, start: int, stop: int, problems: list[str]
) -> list[tuple[str, str]]:
    fields = []
    fallback = None
    for name, value in raw:
        if b"\n" in value or b"\r" in value:  # unfold: drop the line breaks, keep the WSP
            value = value.replace(b"\r", b"").replace(b"\n", b"")
        if value.isascii():
            text = value.decode("ascii")
        else:
            # RFC 6532 allows UTF-8; older clients send their local charset raw. The part's own
            # charset parameter is the best guess for that.
            try:
                text = value.decode("utf-8")
            except UnicodeDecodeError:
                if fallback is None:
                    hint = _CHARSET_HINT.search(buf, start, stop)
                    fallback = hint.group(1).decode("ascii") if hint else ""
                text, _ = decode_text(value, fallback or guess_legacy_charset(value))
                problems.append(f"8-bit header {name[:40].decode('ascii')!r} is not UTF-8")
        if "\x00" in text:
            text = text.replace("\x00", "")
            problems.append("NUL character removed from a header")
        if len(text) > MAX_HEADER_VALUE:
            text = text[:MAX_HEADER_VALUE]
            problems.append(f"header {name[:40].decode('ascii')!r} truncated")
        fields.append((name.decode("ascii"), text.strip(" \t")))
    return fields
