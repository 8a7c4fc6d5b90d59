"""The signed Reference ID that ties a reply back to its case.

Place in the flow: ``workflows.outbound.compose`` calls ``format_token``/``make_message_id`` on
every mail that leaves a case; ``parsing.parse`` calls ``find_tokens``/``verify`` on every mail that
comes in. Pure: the key is passed in, never read from settings.

Shape: ``[ref:CASE-1001:k7q2m4xa9pzr3w5t]``. The signature is an HMAC-SHA256 of the canonical
case number, truncated to 80 bits and written in RFC 4648 base32 (letters and digits 2-7), so it
survives what mail clients do to text: upper/lower case changes (base32 has one case), ``> ``
quoting and format=flowed wrapping (no spaces inside), quoted-printable (no ``=``), and
HTML-to-text. Knowing a case number is not enough to forge one.

Our Message-IDs carry the same token: ``<ref.CASE-1001.k7q2m4xa9pzr3w5t.RANDOM@domain>``, so
In-Reply-To/References thread back even when the subject and body were rewritten (RFC 5322 3.6.4).
"""

from __future__ import annotations

import base64
import functools
import hmac
import re
import secrets

from parsing.memo import remembered
from parsing.model import ReferenceSource, TokenCandidate

MAC_CHARS = 16  # 80 bits of base32

# A case number: Customer Care CASE-n, Technical Support TSUP-n, Project Coordination 6 digits.
_NUMBER = r"(?:CASE|TSUP)-\d{1,9}|\d{6}"
_MAC = f"[A-Za-z2-7]{{{MAC_CHARS}}}"
# Lenient on purpose: clients change case, and some replace ":" or insert a space after it.
# These are the definitions; TOKEN_RE and MESSAGE_ID_RE below are the same patterns spelled out.
TOKEN_RE_I = re.compile(r"ref[:#]\s?(" + _NUMBER + r")[:#.](" + _MAC + r")(?![A-Za-z2-7])", re.I)
MESSAGE_ID_RE_I = re.compile(r"^ref\.(" + _NUMBER + r")\.(" + _MAC + r")\.[^@\s]+@", re.I)

# The same patterns without re.I: each letter spelled as the class re.I gives it, where "s" also
# matches the long s (U+017F) and [A-Za-z] also the dotted and dotless i (U+0130, U+0131), the
# long s and the Kelvin sign (U+212A). A leading "[Rr]" lets the engine skip to the candidates,
# and no character is case-folded while matching: one TOKEN_RE scan of the bench mail's search
# text 55k -> 37k instructions (callgrind). tests/parsing/test_kind_and_search_fastpaths.py
# checks the classes over all of Unicode and the patterns against the re.I ones.
_S = "[Ss\u017f]"
_NUMBER_SPELLED = rf"(?:[Cc][Aa]{_S}[Ee]|[Tt]{_S}[Uu][Pp])-\d{{1,9}}|\d{{6}}"
_MAC_CHAR = "[A-Za-z2-7\u0130\u0131\u017f\u212a]"
TOKEN_RE = re.compile(
    rf"[Rr][Ee][Ff][:#]\s?({_NUMBER_SPELLED})[:#.]({_MAC_CHAR}{{{MAC_CHARS}}})(?!{_MAC_CHAR})"
)
MESSAGE_ID_RE = re.compile(
    rf"^[Rr][Ee][Ff]\.({_NUMBER_SPELLED})\.({_MAC_CHAR}{{{MAC_CHARS}}})\.[^@\s]+@"
)
# Bare case numbers people write: "CASE-1001", "TSUP-1234", "case 100100", "ticket #100123".
# Bounded repeats: two adjacent unbounded \s* made this quadratic on long runs of spaces.
BARE_NUMBER_RE = re.compile(
    r"\b((?:CASE|TSUP)-\d{3,9})\b"
    r"|\b(?:case|ticket)[ \t]{0,3}(?:(?:no\.?|number)[ \t]{0,3})?#?[ \t]{0,3}(\d{6})\b",
    re.I,
)


# Why find_bare_numbers starts the regex only where its first word is: with re.I and a leading
# "\b" the engine tries every position of the text (16 us for the 369 characters collect()
# searches for the bench mail); ``bytes.find`` on an ASCII-folded copy skips to the few places a
# match can start (10 us). TOKEN_RE needs no such help: its literal "ref" already lets the
# engine skip ahead (4 us; this way 6.5 us). Non-ASCII characters that re.I matches to a letter
# of "case", "tsup" or "ticket" (long s, dotted and dotless i, Kelvin sign) fold to it one for
# one, so offsets stay the same; every other non-ASCII character becomes "?".
_FOLD = {0x17F: "s", 0x130: "i", 0x131: "i", 0x212A: "k"}
_NUMBER_STARTS = (b"case", b"tsup", b"ticket")


def ascii_folded(text: str) -> bytes:
    """``text`` as re.I compares it to ASCII letters: one lower-case byte a character."""
    if not text.isascii() and any(c in text for c in "\u017f\u0130\u0131\u212a"):
        text = text.translate(_FOLD)
    return text.encode("ascii", "replace").lower()


def _bare_number_matches(text: str) -> list[re.Match[str]]:
    """``list(BARE_NUMBER_RE.finditer(text))``: every match begins with one of
    ``_NUMBER_STARTS`` (as re.I reads them), so trying only there gives the same leftmost,
    non-overlapping matches."""
    folded = ascii_folded(text)
    candidates = sorted({at for word in _NUMBER_STARTS for at in _find_all(folded, word)})
    found: list[re.Match[str]] = []
    end = 0
    for at in candidates:
        if at >= end:
            match = BARE_NUMBER_RE.match(text, at)
            if match is not None:
                found.append(match)
                end = match.end()
    return found


def _find_all(data: bytes, word: bytes) -> list[int]:
    found = []
    at = data.find(word)
    while at >= 0:
        found.append(at)
        at = data.find(word, at + 1)
    return found


def canonical_number(number: str) -> str:
    return number.strip().upper()


@functools.lru_cache(maxsize=4096)  # a thread quotes one case's token in ids, subject and body
def sign(number: str, key: bytes) -> str:
    """The lower-case base32 MAC of ``number`` under ``key``."""
    digest = hmac.new(key, b"ticketgate-ref-v1:" + canonical_number(number).encode(), "sha256")
    return base64.b32encode(digest.digest()[:10]).decode("ascii").lower()


def format_token(number: str, key: bytes) -> str:
    """The token as it appears in subjects and bodies."""
    number = canonical_number(number)
    return f"[ref:{number}:{sign(number, key)}]"


def make_message_id(number: str, key: bytes, domain: str) -> str:
    """A fresh Message-ID (without angle brackets) that carries the case's token."""
    number = canonical_number(number)
    return f"ref.{number}.{sign(number, key)}.{secrets.token_hex(8)}@{domain}"


def verify(candidate: TokenCandidate, key: bytes) -> bool:
    """True when the candidate's MAC is the one ``key`` gives its number (constant time)."""
    return _verify(candidate.number, candidate.mac, key)


def _verify(number: str, mac: str, key: bytes) -> bool:
    return same_mac(mac, sign(number, key))


def same_mac(found: str, expected: str) -> bool:
    """``found`` (as a mail wrote it) is ``expected`` (lower-case base32), in constant time.

    The token patterns accept the letters ``re.I`` folds to ASCII (dotless i, long s, Kelvin
    sign; see TOKEN_RE), so a MAC may hold non-ASCII characters, and ``hmac.compare_digest``
    raises ``TypeError`` on a non-ASCII ``str``: one "ı" in a quoted token made the parse fail
    and a customer's mail was kept as ``no_sender``. Compared as UTF-8 bytes, such a MAC is
    simply wrong (base32 is ASCII, RFC 4648 6)."""
    return hmac.compare_digest(found.lower().encode("utf-8", "replace"), expected.encode())


def find_in_message_ids(ids: tuple[str, ...]) -> list[TokenCandidate]:
    """Tokens carried by our Message-IDs among In-Reply-To/References values."""
    found = []
    for value in ids:
        match = MESSAGE_ID_RE.match(value.strip().strip("<>"))
        if match:
            found.append(
                TokenCandidate(
                    canonical_number(match.group(1)), match.group(2).lower(), ReferenceSource.THREAD
                )
            )
    return found


def find_tokens(text: str, source: ReferenceSource) -> list[TokenCandidate]:
    """Every token-shaped string in ``text``, in order of appearance."""
    return [
        TokenCandidate(canonical_number(m.group(1)), m.group(2).lower(), source)
        for m in TOKEN_RE.finditer(text)
    ]


def find_bare_numbers(text: str) -> list[str]:
    """Case numbers mentioned without a token, canonical and de-duplicated, in order."""
    seen: dict[str, None] = {}
    for match in _bare_number_matches(text):
        seen.setdefault(canonical_number(match.group(1) or match.group(2)), None)
    return list(seen)


Found = tuple[tuple[str, str, ReferenceSource], ...]


def collect(
    *,
    thread_ids: tuple[str, ...],
    subject: str,
    body: str,
    key: bytes | None,
) -> tuple[tuple[TokenCandidate, ...], tuple[str, ...]]:
    """All tokens (precedence order, verified when ``key`` is given) and bare numbers.

    Bare numbers exclude those that appear inside a token: a token is a reference, not a mention.
    """
    found, mentioned = scan(subject, body)
    # In-Reply-To is usually also the last References id: each distinct id is read once (its
    # candidates would be dropped as duplicates below anyway).
    from_ids: Found = ()
    for value in dict.fromkeys(thread_ids):
        from_ids += _message_id_token(value)
    tokens = _candidates(tuple(dict.fromkeys(from_ids + found)), key)
    if not mentioned:
        return tokens, ()
    tokened = {t.number for t in tokens}
    return tokens, tuple(n for n in mentioned if n not in tokened)


# Every reply quotes our own mail: its subject ("Re: ... [ref:...]"), its In-Reply-To (our
# Message-ID) and the keyword windows of its body (our footer, "update case CASE-1001 ...
# Reference: [ref:...]") recur from message to message. ``scan``, ``_message_id_token`` and
# ``_candidates`` are pure functions of strings (and the key) with immutable answers, so these
# are kept process-wide: collect 22 -> 3 us CPU for the bench mail, whose subject, ids and
# windows were all seen before (best of 5 x 20k runs). Bounded: inputs up to _SCAN_CACHE_CHARS
# characters, at most _CACHE_SIZE answers each (emptied when full): a few MB at most.
_SCAN_CACHE_CHARS = 4096
_CACHE_SIZE = 512
MAX_CACHED_TOKENS = 8
_scan_cache: dict[tuple[str, str], tuple[Found, tuple[str, ...]]] = {}
_id_cache: dict[str, Found] = {}
_candidate_cache: dict[tuple[Found, bytes | None], tuple[TokenCandidate, ...]] = {}


def scan(subject: str, body: str) -> tuple[Found, tuple[str, ...]]:
    """``scan_uncached(subject, body)``, remembered for short inputs."""
    if len(subject) + len(body) > _SCAN_CACHE_CHARS:
        return scan_uncached(subject, body)
    return remembered(_scan_cache, (subject, body), _CACHE_SIZE, scan_uncached, subject, body)


def scan_uncached(subject: str, body: str) -> tuple[Found, tuple[str, ...]]:
    """(number, mac, source) of every token in the subject, then the body, in order; and every
    bare number of both with the tokens cut out (canonical, de-duplicated, in order)."""
    # One TOKEN_RE scan of subject + "\n" + body serves the subject's tokens, the body's and the
    # text stripped of them, instead of three scans (collect 314k -> 259k instructions for the
    # bench mail, callgrind). Only a token that runs from the subject's end across the "\n"
    # (its "\s?") needs the two parts scanned apart.
    searched = subject + "\n" + body
    matches = list(TOKEN_RE.finditer(searched))
    if not matches:
        return (), tuple(find_bare_numbers(searched))
    cut = len(subject) + 1
    if any(m.start() < cut <= m.end() for m in matches):
        in_subject = list(TOKEN_RE.finditer(subject))
        in_body = list(TOKEN_RE.finditer(body))
    else:
        in_subject = [m for m in matches if m.start() < cut]
        in_body = [m for m in matches if m.start() >= cut]
    found = tuple(
        [(canonical_number(m.group(1)), m.group(2).lower(), ReferenceSource.SUBJECT)
         for m in in_subject]
        + [(canonical_number(m.group(1)), m.group(2).lower(), ReferenceSource.BODY)
           for m in in_body]
    )
    parts: list[str] = []
    at = 0
    for match in matches:
        parts += (searched[at : match.start()], " ")
        at = match.end()
    stripped = "".join(parts) + searched[at:]
    return found, tuple(find_bare_numbers(stripped))


def _message_id_token(value: str) -> Found:
    """(number, mac, THREAD) of the token in one of our Message-IDs, remembered (see above)."""
    if len(value) > _SCAN_CACHE_CHARS:
        return _message_id_token_uncached(value)
    return remembered(_id_cache, value, _CACHE_SIZE, _message_id_token_uncached, value)


def _message_id_token_uncached(value: str) -> Found:
    return tuple((t.number, t.mac, t.source) for t in find_in_message_ids((value,)))


def _candidates(unique: Found, key: bytes | None) -> tuple[TokenCandidate, ...]:
    """The (verified) TokenCandidates of distinct (number, mac, source) triples, remembered (see
    above): a frozen dataclass costs about 0.6 us to build."""
    if len(unique) > MAX_CACHED_TOKENS or not (key is None or type(key) is bytes):
        return _candidates_uncached(unique, key)
    return remembered(_candidate_cache, (unique, key), _CACHE_SIZE, _candidates_uncached,
                      unique, key)


def _candidates_uncached(unique: Found, key: bytes | None) -> tuple[TokenCandidate, ...]:
    return tuple(
        TokenCandidate(number, mac, source, None if key is None else _verify(number, mac, key))
        for number, mac, source in unique
    )
