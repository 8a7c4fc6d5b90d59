"""Header fields -> typed values: addresses, Message-IDs, the date, Authentication-Results.

Place in the flow: ``parsing.parse`` hands the top-level fields from ``parsing.mime`` to the
functions here; each returns a value plus the defects it worked around. Only the fields that
routing decides on are interpreted; everything else travels as (name, decoded value) pairs.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from email.utils import getaddresses, parsedate_to_datetime

import authres

from parsing import _mailparser, authresults
from parsing.decode import decode_words
from parsing.memo import remembered
from parsing.model import Address, AuthResult, Defect

MAX_ADDRESS_INPUT = 16 * 1024  # characters of an address field parsed (the parser is pure Python)
MAX_ADDRESSES = 500
MAX_IDS = 500  # Message-IDs kept from References
MAX_AUTH_RESULTS = 20
MAX_SUBJECT = 16 * 1024

# The common shapes, "Name <user@host>" and "user@host", without the stdlib's character-by-
# character parser; anything with quotes, comments or groups goes to getaddresses.
_SIMPLE_MAILBOX = re.compile(r"\s*([^\"<>,;:()\\]*?)\s*<([^<>\s,;:()\"\\@]+@[^<>\s,;:()\"\\]+)>\s*")
_BARE_ADDRESS = re.compile(r"\s*([^<>\s,;:()\"\\@]+@[^<>\s,;:()\"\\]+)\s*")
# An RFC 2047 encoded-word as _quote_special_words looks for it: "?" and '"' cannot occur in
# it, so quoting it needs no escapes; the text class stops at the next "?": linear time.
_WORD = re.compile(r'=\?[^?\s"]{1,64}\?[bBqQ]\?([^?"\r\n]*)\?=')
_SPECIALS = frozenset(',;:<>@()[]\\ \t')
_MSG_ID = re.compile(r"<([^<>\s]{1,998})>")
_COMMENT = re.compile(r"\([^()]*\)")
# RFC 5322 3.3's date-time as nearly every client writes it: "Mon, 2 Dec 2026 10:14:00 +0100",
# anything after the zone (a "(UTC)" comment) ignored, as parsedate_to_datetime ignores it.
_COMMON_DATE = re.compile(
    r"(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), )?([0-9]{1,2}) "
    r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) ([0-9]{4}) "
    r"([0-9]{2}):([0-9]{2})(?::([0-9]{2}))? ([+-])([0-9]{2})([0-9]{2})(?:\s.*)?",
    re.S,
)
_MONTHS = {name: number for number, name in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)}


def decode_value(value: str) -> tuple[str, str | None]:
    """A header value with RFC 2047 encoded-words decoded (values arrive unfolded)."""
    return decode_words(value)


def subject(value: str | None) -> tuple[str, list[Defect]]:
    """The decoded subject with whitespace collapsed (folding and tabs become one space)."""
    if not value:
        return "", []
    text, problem = decode_words(value)
    defects = [Defect("subject", problem)] if problem else []
    text = " ".join(text.split())
    if len(text) > MAX_SUBJECT:
        defects.append(Defect("subject", f"subject longer than {MAX_SUBJECT} characters; cut"))
        text = text[:MAX_SUBJECT]
    return text, defects


# Address fields recur from mail to mail (our own address in every To, a customer's From in all
# their mails, a thread's Message-IDs in every In-Reply-To and References), and ``addresses`` and
# ``id_list`` are pure functions of the values with immutable answers (frozen Address and Defect,
# tuples; the defects are handed out as a new list each time): their answers are kept
# process-wide, as parsing.reference keeps its scans. The bench mail's From, To, Message-ID,
# In-Reply-To and References: 151k -> 72k instructions, of it From 27k -> 12k, To
# 20k -> 6k (callgrind). Bounded: values up to
# _CACHE_CHARS characters, at most _CACHE_SIZE answers each (emptied when full).
_CACHE_CHARS = 1024
_CACHE_SIZE = 512
_address_cache: dict[tuple[str, ...], tuple[tuple[Address, ...], tuple[Defect, ...]]] = {}
_id_cache: dict[tuple[str, ...], tuple[str, ...]] = {}


def addresses(values: list[str], where: str) -> tuple[tuple[Address, ...], list[Defect]]:
    """Mailboxes of an address-list field (RFC 5322 3.4); group syntax flattens to members."""
    if not values:
        return (), []
    if sum(map(len, values)) > _CACHE_CHARS:
        return addresses_uncached(values, where)
    found, defects = remembered(_address_cache, (where, *values), _CACHE_SIZE,
                                _frozen_addresses, values, where)
    return found, list(defects)


def _frozen_addresses(values: list[str], where: str
                      ) -> tuple[tuple[Address, ...], tuple[Defect, ...]]:
    found, defects = addresses_uncached(values, where)
    return found, tuple(defects)


def addresses_uncached(values: list[str], where: str
                       ) -> tuple[tuple[Address, ...], list[Defect]]:
    """``addresses(values, where)``, computed."""
    if not values:
        return (), []
    defects: list[Defect] = []
    joined = ", ".join(values)
    if len(joined) > MAX_ADDRESS_INPUT:
        defects.append(Defect(where, f"field longer than {MAX_ADDRESS_INPUT} characters; cut"))
        joined = joined[:MAX_ADDRESS_INPUT]
    # Parse before decoding RFC 2047: a decoded display name may contain "," or "<".
    joined = _quote_special_words(joined)
    pairs = _simple_pairs(joined)
    if pairs is None:
        try:
            pairs = getaddresses([joined])
        except (RecursionError, ValueError, IndexError, TypeError) as exc:
            problem = f"unparsable address field ({type(exc).__name__})"
            return (), [*defects, Defect(where, problem)]
    found = []
    rejected = False
    for name, addr in pairs[:MAX_ADDRESSES]:
        addr = addr.strip()
        local, at, domain = addr.rpartition("@")
        if not at or not local or not domain or len(addr.split()) != 1:
            rejected = rejected or bool(addr or name)
            continue
        display, word_problem = decode_words(name)
        if word_problem:
            defects.append(Defect(where, word_problem))
        found.append(Address(addr.lower(), " ".join(display.split()).strip("\"' ")))
    if rejected:
        defects.append(Defect(where, "unparsable mailbox skipped"))
    return tuple(found), defects


def _quote_special_words(value: str) -> str:
    """Encoded-words that hold an address special, each made one quoted-string.

    RFC 2047 5(3) keeps "," and the other specials out of an encoded-word in a phrase, but
    mailers write "=?iso-8859-1?Q?B=FCrling,=20Andreas?= <a@example.com>": read as RFC 5322
    syntax, the comma splits the name into two broken mailboxes ("=20Andreas?=" the name of
    the one kept). Quoted, the word stays one display name and decodes as any other. Words
    already inside a quoted-string or a comment, or free of specials, are left as they are.
    """
    if "=?" not in value:
        return value
    out: list[str] = []
    pos = 0
    where = _Structure()
    i = 0
    while i < len(value):
        char = value[i]
        if where.outside(char) and char == "=":
            match = _WORD.match(value, i)
            if match and not _SPECIALS.isdisjoint(match.group(1)):
                out.append(value[pos:i])
                out.append('"' + match.group(0) + '"')
                pos = i = match.end()
                continue
        i += 1
    out.append(value[pos:])
    return "".join(out)


def _simple_pairs(value: str) -> list[tuple[str, str]] | None:
    """(name, address) pairs when every item has a simple shape, else None."""
    if '"' in value or "(" in value or ":" in value:
        return None
    pairs = []
    for item in value.split(","):
        # _SIMPLE_MAILBOX needs a "<": without one its lazy name group tries every length
        # before failing (the bench mail's To: 27.7k -> 20.4k instructions, callgrind).
        match = (_SIMPLE_MAILBOX.fullmatch(item) if "<" in item else None) or (
            _BARE_ADDRESS.fullmatch(item))
        if match is None:
            if item.strip():
                return None
            continue
        groups = match.groups()
        pairs.append((groups[0], groups[1]) if len(groups) == 2 else ("", groups[0]))
    return pairs


def sender(values: list[str]) -> tuple[Address | None, tuple[Address, ...], list[Defect]]:
    """The first From mailbox and all of them, over every From field.

    RFC 5322 3.6 allows one From field, which may list several mailboxes (3.6.2: then a Sender
    is required). Routing acts for one person, so ``workflows.inbound.decide`` refuses to link a
    mail whose From names more than one; here we only report what is there.
    """
    if not values:
        return None, (), [Defect("from", "no From header")]
    if not any(_bare_at(value) for value in values):
        # '"alice@acme.example"' alone is a quoted local part with no domain (RFC 5322 3.4.1):
        # getaddresses unquotes it into alice@acme.example, while a DMARC verifier finds no
        # From domain to judge, so a stranger's mail would pass as a designated contact's.
        return None, (), [Defect("from", f"unparsable From (no domain) {values[0][:120]!r}")]
    found, defects = addresses(values, "from")
    if not found:
        return None, (), [*defects, Defect("from", f"unparsable From {values[0][:120]!r}")]
    if len(found) > 1 or len(values) > 1:
        defects.append(Defect("from", f"{len(values)} From field(s) with {len(found)} "
                                      "mailboxes"))
    return found[0], found, defects


def _bare_at(value: str) -> bool:
    """Whether ``value`` has an "@" outside quoted strings and comments (RFC 5322 3.2.4,
    3.2.2): only such an "@" separates a local part from a domain."""
    if '"' not in value and "(" not in value and "\\" not in value:
        # Nothing opens a quoted string, a comment or a quoted pair: every character stands
        # outside (the bench mail's From, with the
        # change above: 49.1k -> 27.0k instructions, callgrind).
        return "@" in value
    where = _Structure()
    return any(where.outside(char) and char == "@" for char in value)


class _Structure:
    """Where a header value's characters stand, fed one at a time: inside a quoted string
    (RFC 5322 3.2.4), a comment (3.2.2, nested) or a quoted pair, or outside all three."""

    __slots__ = ("depth", "escaped", "quoted")

    def __init__(self) -> None:
        self.quoted = self.escaped = False
        self.depth = 0

    def outside(self, char: str) -> bool:
        """Take ``char``; whether it stands outside quoted strings and comments (a quote,
        parenthesis or backslash that opens or closes one does not)."""
        if self.escaped:
            self.escaped = False
        elif char == "\\":
            self.escaped = True
        elif self.quoted:
            self.quoted = char != '"'
        elif char == '"' and self.depth == 0:
            self.quoted = True
        elif char == "(":
            self.depth += 1
        elif char == ")" and self.depth:
            self.depth -= 1
        else:
            return self.depth == 0
        return False


def message_id(value: str | None) -> str | None:
    """The msg-id without angle brackets (RFC 5322 3.6.4), forgiving missing brackets."""
    if not value:
        return None
    match = _MSG_ID.search(value)
    if match:
        return match.group(1)
    token = value.strip().strip("<>").split()
    return token[0][:998] if token else None


def id_list(values: list[str]) -> tuple[str, ...]:
    """In-Reply-To/References ids in order, without brackets; bare ids when nobody bracketed."""
    if not values:
        return ()
    if sum(map(len, values)) > _CACHE_CHARS:
        return id_list_uncached(values)
    return remembered(_id_cache, tuple(values), _CACHE_SIZE, id_list_uncached, values)


def id_list_uncached(values: list[str]) -> tuple[str, ...]:
    """``id_list(values)``, computed."""
    found: list[str] = []
    for value in values:
        ids = _MSG_ID.findall(value)
        if not ids:
            ids = [t.strip("<>,;") for t in value.split() if "@" in t]
        found.extend(i for i in ids if i)
    unique = list(dict.fromkeys(found))
    if len(unique) > MAX_IDS:  # keep the root and the most recent ancestors
        unique = unique[: MAX_IDS // 2] + unique[-MAX_IDS // 2 :]
    return tuple(unique)


def date(value: str | None) -> tuple[dt.datetime | None, list[Defect]]:
    """An aware datetime; obsolete syntax (RFC 5322 4.3) goes to mail-parser's reader."""
    if value is None:
        return None, []
    value = value.strip()[:200]
    if not value:
        return None, [Defect("date", "empty Date header")]
    common = common_date(value)
    if common is not None:
        return common, []
    try:
        parsed = parsedate_to_datetime(value)
    except (ValueError, TypeError, IndexError, OverflowError):
        parsed = None
    if parsed is not None and parsed.tzinfo is not None and parsed.year >= 1900:
        return parsed, []
    # The stdlib refused, lost the zone, or read an obsolete 2/3-digit year literally.
    fallback = _mailparser.obsolete_date(value)
    if fallback is not None:
        return fallback, []
    if parsed is not None and parsed.year >= 1900:
        if value.endswith("-0000"):  # RFC 5322 3.3: UTC, local zone unknown; not a defect
            return parsed.replace(tzinfo=dt.UTC), []
        problem = f"zone not understood in {value!r}; assumed UTC"
        return parsed.replace(tzinfo=dt.UTC), [Defect("date", problem)]
    return None, [Defect("date", f"unparsable Date {value!r}")]


def common_date(value: str) -> dt.datetime | None:
    """``parsedate_to_datetime``'s answer for the common shape with a numeric zone other than
    -0000 (RFC 5322 3.3: UTC, zone unknown) and a year from 1900, else None: one regex and no
    token shuffling (the bench mail's Date 40k -> 26k instructions, callgrind)."""
    match = _COMMON_DATE.fullmatch(value)
    if match is None:
        return None
    day, month, year, hour, minute, second, sign, zone_hours, zone_minutes = match.groups()
    offset = int(zone_hours) * 3600 + int(zone_minutes) * 60
    if int(year) < 1900 or (sign == "-" and not offset):
        return None
    try:
        return dt.datetime(int(year), _MONTHS[month], int(day), int(hour), int(minute),
                           int(second or 0), tzinfo=_zone(-offset if sign == "-" else offset))
    except ValueError:  # out of range: the general path reports it
        return None


@functools.lru_cache(maxsize=64)
def _zone(offset: int) -> dt.timezone:
    """The zone ``parsedate_to_datetime`` makes for ``offset`` seconds, made once (6k instr.)."""
    return dt.timezone(dt.timedelta(seconds=offset))


def auth_results(values: list[str]) -> tuple[AuthResult, ...]:
    """``Authentication-Results`` (RFC 8601) read by ``authresults.read``, or where it declines
    by the ``authres`` package: one ``AuthResult`` per DMARC verdict (a verifier may report one
    per From domain, RFC 7489 6.6.1), or one with ``dmarc=None`` for a header that carries no
    DMARC verdict.

    A header authres refuses as a whole (one malformed clause, e.g. a sender-chosen
    ``smtp.mailfrom`` it cannot tokenize) is read again clause by clause, so a clause we cannot
    read never hides a ``dmarc=fail`` beside it.
    """
    results: list[AuthResult] = []
    for value in values[:MAX_AUTH_RESULTS]:
        text = " ".join(value[:8192].split())
        authserv_id, verdicts = _auth_header(text)
        if authserv_id is None:
            continue
        if not verdicts:
            results.append(AuthResult(authserv_id, None, None))
        results.extend(AuthResult(authserv_id, dmarc, domain) for dmarc, domain in verdicts)
    return tuple(results)


def _auth_header(text: str) -> tuple[str | None, list[tuple[str, str | None]]]:
    """(authserv-id, [(dmarc result, header.from domain)]) of one header value."""
    # authres: 0.68 ms for the 273-character header of bench/process.py; the fast reader: 12 us.
    fast = authresults.read(text)
    return fast if fast is not None else _authres_header(text)


def _authres_header(text: str) -> tuple[str | None, list[tuple[str, str | None]]]:
    """``_auth_header`` by the ``authres`` package, for what the fast reader declines."""
    try:
        header = authres.parse_value(text)
    except (authres.AuthResError, ValueError, IndexError, AttributeError, TypeError):
        header = None
    if header is not None:
        return header.authserv_id, _verdicts(header.results)
    # Clause by clause: the authserv-id (and its optional version) first, then each resinfo.
    authserv, _, rest = _COMMENT.sub(" ", text).partition(";")
    tokens = authserv.split()
    if not tokens:
        return None, []
    verdicts: list[tuple[str, str | None]] = []
    for clause in rest.split(";"):
        if "dmarc" not in clause.lower():
            continue
        try:
            verdicts += _verdicts(authres.parse_value(f"{tokens[0]}; {clause.strip()}").results)
        except (authres.AuthResError, ValueError, IndexError, AttributeError, TypeError):
            result = clause.partition("=")[2].split()
            if clause.strip().lower().startswith("dmarc") and result:
                verdicts.append((result[0].lower(), None))  # the verdict, about no domain
    return tokens[0], verdicts


def _verdicts(results: list[authres.core.AuthenticationResult]) -> list[tuple[str, str | None]]:
    found = []
    for result in results:
        if (result.method or "").lower() != "dmarc":
            continue
        domain = None
        for prop in result.properties:
            if (prop.type or "").lower() == "header" and (prop.name or "").lower() == "from":
                domain = str(prop.value).rpartition("@")[2].lower().rstrip(".") or None
        found.append(((result.result or "").lower(), domain))
    return found
