"""parse(raw) -> ParsedMail: the one entry point from raw bytes to a frozen, typed message.

Place in the flow: a worker re-reads a committed inbound row and calls ``parse`` on its raw
bytes; threading and ``workflows.inbound.decide`` read only the ``ParsedMail`` this returns. Pure:
no I/O, no settings, no imports from ``gateway`` or ``workflows``; the reference key is passed in.

The steps, each in its own module: ``mime`` splits the bytes into a bounded tree of parts,
``headers`` reads the fields routing needs, ``bodies`` picks text/HTML and the attachments
(``tnef`` unpacks winmail.dat), ``trimmer`` cuts quotes from the text, ``reference`` finds and
verifies case tokens, ``classify`` names the kind of sender, ``bounce`` reads failure reports
and ``arf`` abuse complaints.

It never raises: what is wrong with a message becomes a ``Defect`` and parsing goes on. Every
loop is bounded (parts, depth, header lines, bytes decoded, characters searched), so one message
costs well under a second whatever it contains; a typical 5 KB reply costs a fraction of a
millisecond.
"""

from __future__ import annotations

import re

from parsing import arf, bodies, bounce, classify, headers, mime, reference
from parsing.htmltext import MAX_HTML, strip_tags
from parsing.memo import remembered
from parsing.model import AutomationClass, Defect, ParsedMail
from parsing.trimmer import visible_reply

MAX_TEXT = 1_000_000  # characters of text body kept in ParsedMail.text
MAX_TRIM = 256 * 1024  # characters handed to the reply trimmer
SEARCH_HEAD = 256 * 1024  # characters searched for tokens from the start of the body...
SEARCH_TAIL = 64 * 1024  # ...and from its end, where a long thread quotes our first mail
MAX_THREAD_IDS = 100  # Message-IDs searched for our tokens
CLASSIFY_HEAD = 8 * 1024  # characters of text the bounce-body rules look at

# reference.BARE_NUMBER_RE has two "\s*" around an optional group: a long run of whitespace
# after "case" makes it quadratic. Runs of two characters keep every token and number intact.
_WHITESPACE_RUN = re.compile(r"(\s\s)\s+")
# Every token contains "ref" and every bare number "case", "tsup" or "ticket" (see the patterns
# in parsing.reference), so only text around those words needs the (slow) regex search.
_KEYWORDS = (b"ref", b"case", b"tsup", b"ticket")
_WINDOW_BEFORE = 8  # context for the "\b" before a keyword
_WINDOW_AFTER = 80  # longer than any token (about 40) or "ticket number #123456"
MAX_WINDOWS = 500  # per keyword


def parse(raw: bytes, *, key: bytes | None = None, loop_id: str | None = None) -> ParsedMail:
    """Everything routing needs from one raw message. Never raises; see ``defects``.

    ``loop_id``: our X-Ticketgate-Loop value; only that value marks our own mail come back
    (None: any value does)."""
    try:
        data = bytes(raw)
    except (TypeError, ValueError):
        data = str(raw).encode("utf-8", "replace")
    try:
        return _parse(data, key, loop_id)
    except Exception as exc:
        # Last resort at the edge of untrusted input: a parser bug must not lose the message.
        # The worker keeps the raw bytes; this defect makes the failure visible and replayable.
        return ParsedMail(
            message_id=None,
            subject="",
            from_=None,
            defects=(Defect("parser", f"internal error {type(exc).__name__}: {exc}"[:300]),),
        )


def _parse(raw: bytes, key: bytes | None, loop_id: str | None) -> ParsedMail:
    tree = mime.parse_tree(raw)
    defects: list[Defect] = []
    if not raw.strip():
        defects.append(Defect("message", "empty message"))
    defects.extend(tree.defects)
    fields: dict[str, list[str]] = {}
    for name, value in tree.root.headers:
        fields.setdefault(name.lower(), []).append(value)

    subject, found = headers.subject(_first(fields, "subject"))
    defects += found
    from_, from_all, found = headers.sender(fields.get("from", []))
    defects += found
    sender_field, found = headers.addresses(fields.get("sender", []), "sender")
    defects += found
    reply_to, found = headers.addresses(fields.get("reply-to", []), "reply-to")
    defects += found
    to, found = headers.addresses(fields.get("to", []), "to")
    defects += found
    cc, found = headers.addresses(fields.get("cc", []), "cc")
    defects += found
    date, found = headers.date(_first(fields, "date"))
    defects += found
    message_id = headers.message_id(_first(fields, "message-id"))
    in_reply_to = headers.id_list(fields.get("in-reply-to", []))
    references = headers.id_list(fields.get("references", []))

    content = bodies.extract(tree)
    defects += content.defects
    text = content.text
    if len(text) > MAX_TEXT:
        defects.append(Defect("body", f"text longer than {MAX_TEXT} characters; cut"))
        text = text[:MAX_TEXT]

    tokens, case_numbers = reference.collect(
        thread_ids=_thread_ids(in_reply_to, references),
        subject=subject,
        body=_search_text(text, content.html, content.text_from_html),
        key=key,
    )
    automation, rules = classify.classify(
        classify.Facts(
            headers=fields,
            subject=subject,
            sender=from_,
            message_id=message_id,
            content_type=tree.root.content_type,
            report_type=tree.root.params.get("report-type", "").lower(),
            text_head=text[:CLASSIFY_HEAD],
            hops=len(fields.get("received", [])),
            key=key,
            loop_id=loop_id,
        )
    )
    bounce_info = None
    if automation is AutomationClass.BOUNCE:
        bounce_info = bounce.extract(
            subject=subject,
            failed_header=fields.get("x-failed-recipients", []),
            text=text,
            delivery_status=content.delivery_status,
            message_headers=content.message_headers,
            raw=raw,
            exclude=tuple(a.email for a in (from_, *to) if a is not None),
            in_reply_to=in_reply_to,
        )
    complaint = None
    if automation is AutomationClass.COMPLAINT:
        complaint = arf.extract(attachments=content.attachments,
                                message_headers=content.message_headers, text=text)
    visible, found = _visible(text)
    defects += found
    return ParsedMail(
        message_id=message_id,
        subject=subject,
        from_=from_,
        reply_to=reply_to,
        to=to,
        cc=cc,
        date=date,
        in_reply_to=in_reply_to,
        references=references,
        text=text,
        html=content.html,
        visible_reply=visible,
        attachments=tuple(content.attachments),
        automation=automation,
        automation_rules=rules,
        bounce=bounce_info,
        complaint=complaint,
        auth_results=headers.auth_results(fields.get("authentication-results", [])),
        tokens=tokens,
        case_numbers=case_numbers,
        defects=tuple(defects),
        headers=_decoded_headers(tree.root.headers),
        from_all=from_all,
        from_fields=len(fields.get("from", [])),
        sender_field=sender_field,
    )


def _decoded_headers(fields: list[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    # Most values hold no encoded-word: testing for "=?" here skips two calls per field
    # (all 14 fields of the bench mail: 25 -> 4 us). Such a field's pair is kept as it is, and a
    # list comprehension spares the generator's resumption per field (4.0 -> 2.4 us).
    return tuple([pair if "=?" not in pair[1] else (pair[0], headers.decode_value(pair[1])[0])
                  for pair in fields])


def _first(fields: dict[str, list[str]], name: str) -> str | None:
    values = fields.get(name)
    return values[0] if values else None


def _thread_ids(in_reply_to: tuple[str, ...], references: tuple[str, ...]) -> tuple[str, ...]:
    """In-Reply-To first, then the oldest and newest References (RFC 5322 3.6.4 order)."""
    half = MAX_THREAD_IDS // 2
    refs = references
    if len(refs) > MAX_THREAD_IDS:
        refs = refs[:half] + refs[-half:]
    return in_reply_to[:half] + refs


def _search_text(text: str, html: str | None, text_from_html: bool) -> str:
    """What to search for tokens: the text, plus the HTML's visible text where that differs
    (a token may survive in only one alternative), cut to the keyword windows."""
    body = keyword_windows(_head_and_tail(text))
    extra = ""
    if html and not text_from_html:
        extra = html_windows(html)
    return joined_windows(body, extra)


# html_windows skips at most this many keywords inside tags ("href") before it settles for the
# quiet prefix it has.
_MAX_TAG_SKIPS = 8


def html_windows(html: str) -> str:
    """``keyword_windows(_head_and_tail(strip_tags(html)))``, without stripping the HTML's quiet
    prefix: the part before the "<" that precedes its first visible keyword.

    A reply's HTML quotes our mail, keywords and all, at its end; what the author wrote above
    has none. The tags of ``html[c:]`` for a "<" at ``c`` are the tags of ``html`` from ``c``
    (no tag holds a "<"), its text is the text that follows the prefix's (an entity cannot run
    into the space or "<" it starts with), and with no keyword, no "&", no dotted capital I and
    no Kelvin sign in the prefix, its windows are the whole text's once the first keyword is
    ``_WINDOW_BEFORE`` characters in (each window then starts inside it, at the same distance
    from its keyword). tests/parsing/test_html_windows.py checks this against stripping it all.
    The bench mail's HTML: 219k -> 176k instructions (callgrind; the folding and keyword search of
    the whole HTML, 110k, is most of what is left: it costs more than stripping the prefix's tags).
    """
    head = html[:MAX_HTML]
    cut = _quiet_prefix(head)
    if cut > 0:
        rest = strip_tags(head[cut:])
        if cut + len(rest) <= SEARCH_HEAD + SEARCH_TAIL and "\u0130" not in rest:
            windows, first = _windows(rest)
            if first < 0 or first >= _WINDOW_BEFORE:
                return windows
    return keyword_windows(_head_and_tail(strip_tags(html)))


def _quiet_prefix(html: str) -> int:
    """Where a "<" of ``html`` starts that no keyword outside a tag, no "&", dotted capital I
    or Kelvin sign precedes (0: none found)."""
    if "\u0130" in html or "\u212a" in html:
        return 0
    folded = html.encode("ascii", "replace").lower()
    first = len(html)
    for keyword in _KEYWORDS:
        at = folded.find(keyword, 0, first + len(keyword))
        for _ in range(_MAX_TAG_SKIPS):
            if at < 0 or at >= first:
                break
            close = _tag_end(html, at)
            if close < 0:
                break
            at = folded.find(keyword, close, first + len(keyword))
        if 0 <= at < first:
            first = at
    cut = html.rfind("<", 0, first)
    if cut <= 0 or html.find("&", 0, cut) >= 0:
        return 0
    return cut


def _tag_end(html: str, at: int) -> int:
    """Where the tag that ``at`` lies in ends (after its ">"), as ``strip_tags`` reads tags
    (``<[^<>]*>``); -1 when ``at`` is in the text."""
    start = html.rfind("<", 0, at)
    if start < 0 or html.find(">", start, at) >= 0:
        return -1
    end = html.find(">", at)
    if end < 0 or html.find("<", at, end) >= 0:
        return -1
    return end + 1


# The windows of every reply quote our own mail's footer, so the same pairs recur (see
# reference.scan): joining them is remembered process-wide, 5 -> 0.5 us CPU for the bench mail
# (best of 5 x 20k runs). Bounded like reference's caches: a few MB at most.
_JOIN_CACHE_CHARS = 4096
_JOIN_CACHE_SIZE = 512
_join_cache: dict[tuple[str, str], str] = {}


def joined_windows(body: str, extra: str) -> str:
    """``joined_windows_uncached(body, extra)``, remembered for short windows."""
    if len(body) + len(extra) > _JOIN_CACHE_CHARS:
        return joined_windows_uncached(body, extra)
    return remembered(_join_cache, (body, extra), _JOIN_CACHE_SIZE, joined_windows_uncached,
                      body, extra)


def joined_windows_uncached(body: str, extra: str) -> str:
    """The text's windows, then the HTML's where they differ, white-space runs collapsed."""
    # Equal word lists are equal texts up to whitespace, without joining them: 37k -> 23k
    # instructions for the bench mail (callgrind).
    if extra and extra.split() != body.split():
        body = body + "\n\n" + extra
    return collapse_whitespace(body)


def collapse_whitespace(text: str) -> str:
    """``_WHITESPACE_RUN.sub(r"\\1", text)``: every run of three or more white-space characters
    cut to its first two. A function as the replacement, not the template: re expands a
    template in Python for every match (35k -> 21k instructions for the bench mail's search
    text, callgrind)."""
    return _WHITESPACE_RUN.sub(_first_group, text)


def _first_group(match: re.Match[str]) -> str:
    return match.group(1)


def _head_and_tail(text: str) -> str:
    if len(text) <= SEARCH_HEAD + SEARCH_TAIL:
        return text
    return text[:SEARCH_HEAD] + "\n\n" + text[-SEARCH_TAIL:]


def keyword_windows(body: str) -> str:
    r"""The parts of ``body`` around token/number keywords, in order, blank-line separated.

    ``reference.collect`` finds the same tokens and numbers in this as in ``body``, at a
    fraction of the cost: the blank line between windows cannot be bridged by the single
    ``\s?`` a token allows, and each window starts before its keyword. (A number more than
    about 70 characters of whitespace after "case" is no longer found; nobody writes that.)
    """
    if "\u0130" in body:  # the one character that lower-cases to two; search everything
        return body
    return _windows(body)[0]


def _windows(body: str) -> tuple[str, int]:
    """``keyword_windows(body)`` of a ``body`` without a dotted capital I, and where its first
    keyword starts (-1: none)."""
    # The keywords are ASCII, and only the Kelvin sign lower-cases to an ASCII letter, so ASCII
    # lower-casing of a copy with "?" for every other character finds them at the same offsets
    # as str.lower(), which costs about 50 instructions a character on non-ASCII text (the
    # bench mail: keyword_windows 188k -> 137k instructions on the text, 254k -> 129k on the
    # HTML's).
    lowered = (body.lower() if "\u212a" in body else body).encode("ascii", "replace").lower()
    found = []
    for keyword in _KEYWORDS:
        if keyword in _UNBORDERED:
            parts = lowered.split(keyword, MAX_WINDOWS)
            if len(parts) > 1:
                found += _starts(parts, len(keyword))
        else:
            index = lowered.find(keyword)
            if index >= 0:
                found += _occurrences(lowered, keyword, index)
    if not found:
        return "", -1
    # Keywords differ in their first two letters, so no two start at the same index; sorted by
    # index, the windows [index - 8, index + 80] are sorted by start and by end, and one pass
    # merges those that touch (tests/parsing/test_parse_caches.py: as sorting and merging spans).
    # keyword_windows 140k -> 112k instructions on the bench mail's text, as on its HTML's; parse
    # 1,810k -> 1,752k (callgrind).
    found.sort()
    pieces = []
    first = found[0]
    start, end = max(0, first - _WINDOW_BEFORE), first + _WINDOW_AFTER
    for index in found:
        if index - _WINDOW_BEFORE > end:
            pieces.append(body[start:end])
            start = index - _WINDOW_BEFORE
        end = index + _WINDOW_AFTER
    pieces.append(body[start:end])
    return "\n\n".join(pieces), first


# Keywords whose occurrences cannot overlap each other (no proper prefix is also a suffix, as
# "t" is of "ticket"): split finds them all, the first MAX_WINDOWS of them, in one call instead of
# a find a hit (the bench mail's keyword windows: its text's 112k -> 106k instructions, the
# HTML's after the quiet prefix 41k -> 34k; callgrind).
_UNBORDERED = frozenset(k for k in _KEYWORDS
                        if not any(k.startswith(k[-n:]) for n in range(1, len(k))))


def _starts(parts: list[bytes], size: int) -> list[int]:
    """Where the separators of ``parts`` (a split at a ``size``-byte keyword) start."""
    found = []
    at = -size
    for part in parts[:-1]:
        at += len(part) + size
        found.append(at)
    return found


def _occurrences(lowered: bytes, keyword: bytes, index: int) -> list[int]:
    """Where ``keyword`` starts in ``lowered``, from ``index`` (one), at most MAX_WINDOWS."""
    found = [index]
    for _ in range(MAX_WINDOWS - 1):
        index = lowered.find(keyword, index + 1)
        if index < 0:
            break
        found.append(index)
    return found


def _visible(text: str) -> tuple[str, list[Defect]]:
    """The trimmed reply; the trimmer is another module's heuristics, so it is fenced in."""
    try:
        return visible_reply(text[:MAX_TRIM]), []
    except Exception as exc:  # a trimming bug must cost the trim, not the message
        return text[:MAX_TRIM].strip(), [Defect("trimmer", f"{type(exc).__name__}: {exc}"[:200])]
