"""Octets to text: charsets, RFC 2047 encoded-words, transfer encodings, format=flowed.

Place in the flow: ``parsing.mime`` splits the raw bytes into parts, then ``parsing.headers`` and
``parsing.bodies`` call the helpers here to turn header values and part payloads into ``str``.
Every helper is total: bad input gives a best-effort result plus a problem description, never an
exception, because a customer's broken mail client is not a reason to lose their message.
"""

from __future__ import annotations

import binascii
import codecs
import functools
import re

# What senders write -> the Python codec that actually decodes what they send. Mostly the WHATWG
# Encoding Standard's lesson: labels name a subset of what clients really emit.
_ALIASES = {
    # Korean: Outlook labels CP949 text "ks_c_5601-1987" (a character set, not an encoding).
    "ks_c_5601-1987": "cp949",
    "ks_c_5601-1989": "cp949",
    "ks_c_5601": "cp949",
    "ksc5601": "cp949",
    "ksc_5601": "cp949",
    "euc-kr": "cp949",
    # Chinese: GB18030 is a superset of GB2312 and GBK.
    "gb2312": "gb18030",
    "gb_2312-80": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "cp936": "gb18030",
    "euc-cn": "gb18030",
    # Japanese: Windows' Shift_JIS (CP932) has the NEC/IBM extensions real mail uses.
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "ms_kanji": "cp932",
    "windows-31j": "cp932",
    "csshiftjis": "cp932",
    # Western: ISO-8859-1 labels are Windows-1252 in practice (WHATWG).
    "iso-8859-1": "cp1252",
    "iso8859-1": "cp1252",
    "iso_8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "l1": "cp1252",
    "windows-874": "cp874",
    "tis-620": "cp874",
    "iso-8859-8-i": "iso-8859-8",
    "iso-8859-6-i": "iso-8859-6",
    "unicode-1-1-utf-7": "utf-7",
    "utf8": "utf-8",
    "x-mac-roman": "mac_roman",
    "macintosh": "mac_roman",
}
# Labels that say "I do not know": treat like a missing charset, without a defect.
_UNKNOWN_LABELS = frozenset({"unknown", "unknown-8bit", "x-unknown", "x-user-defined", "default"})
# Python codecs that are not mail charsets; some are slow on hostile input (punycode is quadratic).
_REFUSED = frozenset(
    {"punycode", "idna", "unicode-escape", "raw-unicode-escape", "undefined", "mbcs", "oem"}
)
# Strict decoding failed: try these supersets before replacing characters (ISO-2022-JP mail
# often carries half-width katakana or JIS X 0212, which only the extended codecs know).
_SUPERSETS = {
    "iso2022_jp": ("iso2022_jp_ext", "iso2022_jp_2", "iso2022_jp_3"),
    "euc_jp": ("euc_jis_2004", "cp932"),
    "ascii": ("utf-8", "cp1252"),
    "cp1252": ("latin-1",),
}


@functools.lru_cache(maxsize=256)
def codec_for(label: str) -> str | None:
    """The Python codec name for a charset label, or None when unknown or refused."""
    name = label.strip().strip("\"'").lower()
    name = _ALIASES.get(name, name)
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError, TypeError):
        return None
    if info.name in _REFUSED or not getattr(info, "_is_text_encoding", True):
        return None
    return info.name


@functools.lru_cache(maxsize=256)
def _reading(charset: str | None) -> tuple[str, str | None]:
    """``(label, codec)`` of a charset parameter as ``decode_text`` reads it: label "" when it
    names no charset (absent, empty or an "I do not know" label), codec None when unknown or
    refused. Remembered: a body's charset is read twice (``decode_text``, ``decodes_nul_free``)
    and mail names a handful of them (the bench mail's two parts: 32k -> 26k instructions for
    both calls, callgrind)."""
    label = (charset or "").strip().strip("\"'")[:64]
    if not label or label.lower() in _UNKNOWN_LABELS:
        return "", None
    return label, codec_for(label)


def decode_text(data: bytes, charset: str | None) -> tuple[str, str | None]:
    """``data`` as text in ``charset``; the second value describes a problem, if any."""
    label, codec = _reading(charset)
    if not label:
        return (data.decode("ascii") if data.isascii() else _guess(data)), None
    if codec is None:
        return _guess(data), f"unknown charset {label!r}; decoded as UTF-8 or Windows-1252"
    try:
        return data.decode(codec), None
    except (UnicodeError, LookupError, ValueError):
        pass
    for superset in _SUPERSETS.get(codec, ()):
        try:
            return data.decode(superset), None
        except (UnicodeError, LookupError, ValueError):
            continue
    try:
        text = data.decode(codec, "replace")
    except (UnicodeError, LookupError, ValueError):  # a codec that even fails to replace
        return _guess(data), f"cannot decode as {label!r}; decoded as UTF-8 or Windows-1252"
    return text, f"invalid {label!r} data; undecodable bytes replaced"


# Codecs (as ``codec_for`` names them) that give U+0000 only for the byte 0x00: UTF-8 (Python
# refuses the overlong C0 80) and ASCII-compatible single-byte charsets. UTF-7 ("+AAA-") and
# UTF-16/32 can make a NUL of other bytes, so they are not here.
_NUL_ONLY_FROM_NUL_BYTE = frozenset(
    {"ascii", "utf-8", "cp1252", "iso8859-1", "iso8859-2", "iso8859-15", "cp1250", "cp1251",
     "koi8-r"}
)


def decodes_nul_free(data: bytes, charset: str | None) -> bool:
    """True when ``decode_text(data, charset)`` certainly holds no U+0000; False: it may.

    ``"\x00" in text`` is a character-by-character loop once text is not Latin-1 (CPython's
    memchr shortcut needs a non-zero low byte): the bench mail's two UCS-2 bodies, 25k
    instructions of 170k in ``bodies.extract`` (callgrind). ``b"\x00" in data`` is memchr.
    tests/parsing/test_body_fastpaths.py checks this against decoding.
    """
    if b"\x00" in data:
        return False
    label, codec = _reading(charset)
    # Unknown labels are read as UTF-8 or Windows-1252 and no label as ASCII, UTF-8 or
    # Windows-1252; the supersets of ASCII and Windows-1252 (_SUPERSETS) are in the set too.
    return not label or codec is None or codec in _NUL_ONLY_FROM_NUL_BYTE


def _guess(data: bytes) -> str:
    """Undeclared 8-bit text: UTF-8 when it is valid (RFC 6532 world), else Windows-1252."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", "replace")


# RFC 2047 section 2: encoded-word = "=?" charset "?" encoding "?" encoded-text "?=". The
# classes exclude "?", so every attempt ends at the next "?": linear time. Section 2 also
# forbids spaces in an encoded-word, but mailers write them ("=?us-ascii?Q?ABC / 123?=") and
# readers (Zammad, Python's email.header) decode them: shown raw, the subject is unreadable.
# Spaces and tabs only: values arrive unfolded, and a line break still ends an attempt.
_ENCODED_WORD = re.compile(r"=\?([^?\s]{1,64})\?([bBqQ])\?([^?\r\n]*)\?=")


def _raw_iso2022(value: str) -> str:
    """A header that carries ISO-2022-JP (RFC 1468) as raw escape sequences instead of
    encoded-words, as Japanese mail systems long wrote it (KDDI's "メールエラー通知"): the
    bytes are 7-bit, so they arrive as ASCII text with ESC in it."""
    try:
        return value.encode("ascii").decode("iso2022_jp")
    except (UnicodeError, LookupError):
        return value


def decode_words(value: str) -> tuple[str, str | None]:
    """Decode RFC 2047 encoded-words in an (unfolded) header value."""
    if "\x1b" in value:
        value = _raw_iso2022(value)
    if "=?" not in value:
        return value, None
    out: list[str] = []
    problem = None
    pos = 0
    pending_charset: str | None = None
    pending = bytearray()
    for match in _ENCODED_WORD.finditer(value):
        gap = value[pos : match.start()]
        # RFC 2047 6.2: whitespace between two adjacent encoded-words is not displayed.
        if not (pending_charset is not None and not gap.strip()):
            if pending_charset is not None:
                text, issue = decode_text(bytes(pending), pending_charset)
                out.append(text)
                problem = problem or issue
                pending_charset, pending = None, bytearray()
            out.append(gap)
        # RFC 2231 section 5 lets a language follow the charset: "utf-8*en".
        charset = match.group(1).partition("*")[0]
        data, issue = _word_bytes(match.group(2), match.group(3))
        problem = problem or issue
        # Adjacent words in one charset are joined before decoding: clients split multi-byte
        # characters across words although RFC 2047 5 forbids it.
        if pending_charset is not None and charset.lower() != pending_charset.lower():
            text, issue = decode_text(bytes(pending), pending_charset)
            out.append(text)
            problem = problem or issue
            pending = bytearray()
        pending_charset = charset
        pending += data
        pos = match.end()
    if pending_charset is not None:
        text, issue = decode_text(bytes(pending), pending_charset)
        out.append(text)
        problem = problem or issue
    out.append(value[pos:])
    return "".join(out), problem


def _word_bytes(encoding: str, text: str) -> tuple[bytes, str | None]:
    raw = text.encode("utf-8", "replace")
    if encoding in "qQ":
        return binascii.a2b_qp(raw, header=True), None
    return decode_base64(raw)


def decode_base64(data: bytes) -> tuple[bytes, str | None]:
    """Lenient base64: skips junk characters, repairs missing padding, keeps what decodes."""
    try:
        return binascii.a2b_base64(data), None
    except (binascii.Error, ValueError):
        pass
    # Truncated or padded wrongly: keep only alphabet characters and cut to whole quanta.
    clean = re.sub(rb"[^A-Za-z0-9+/]", b"", data)
    clean = clean[: len(clean) - len(clean) % 4]
    try:
        decoded = binascii.a2b_base64(clean)
        return decoded, "invalid base64 (truncated or bad padding); partly decoded"
    except (binascii.Error, ValueError):
        return b"", "invalid base64; payload dropped"


def decode_uu(data: bytes) -> tuple[bytes, str | None]:
    """uuencode (``begin 644 name`` ... ``end``), as Lotus Notes and x-uuencode parts send it."""
    out = bytearray()
    problem = None
    started = False
    for line in data.splitlines():
        if not started:
            if line.startswith(b"begin "):
                started = True
            continue
        stripped = line.rstrip(b"\r")
        if stripped.strip() in (b"end", b"`", b""):
            if stripped.strip() == b"end":
                break
            continue
        try:
            out += binascii.a2b_uu(stripped)
        except binascii.Error:
            # Broken encoders pad lines oddly; the length byte says how much is real data.
            count = (((stripped[0] - 32) & 63) + 2) // 3 * 4
            try:
                out += binascii.a2b_uu(stripped[: count + 1])
            except binascii.Error:
                problem = "invalid uuencoded line skipped"
    if not started:
        return data, "uuencoded part without a begin line; kept as sent"
    return bytes(out), problem


def decode_transfer(data: bytes, cte: str) -> tuple[bytes, str | None]:
    """Undo the Content-Transfer-Encoding (RFC 2045 section 6)."""
    if cte in ("", "7bit", "8bit", "binary"):
        return data, None
    if cte == "base64":
        return decode_base64(data)
    if cte == "quoted-printable":
        return binascii.a2b_qp(data), None
    if cte in ("x-uuencode", "uuencode", "x-uue", "uue"):
        return decode_uu(data)
    return data, f"unknown Content-Transfer-Encoding {cte[:40]!r}; payload kept as sent"


def normalize_cte(value: str | None) -> str:
    """The transfer encoding token, forgiving what broken mailers write ("7-bit", "base64;")."""
    if not value:
        return ""
    token = value.strip().partition(";")[0].strip().strip("\"'").lower()
    if token in ("7-bit", "7bits", "plain", "text/plain", "text/html", "none", "7 bit"):
        return "7bit"
    if token in ("8-bit", "8bits", "8 bit"):
        return "8bit"
    if token.startswith("quoted-printable") or token in ("qp", "quoted printable"):
        return "quoted-printable"
    return token


MAX_UNFLOW = 512 * 1024  # characters unflowed; the rest of a longer body is kept as sent


def unflow(text: str, *, delsp: bool) -> str:
    """Undo RFC 3676 format=flowed: join soft-broken lines of the same quote depth.

    A line ending in a space is continued by the next line (section 4.2); ``delsp=yes`` means the
    sender inserted that space and it goes (section 4.3), which is what lets a long token such as
    ``[ref:CASE-1001:...]`` be broken mid-word and still be found after decoding.
    """
    rest = ""
    if len(text) > MAX_UNFLOW:
        cut = text.rfind("\n", 0, MAX_UNFLOW) + 1 or MAX_UNFLOW
        text, rest = text[:cut], text[cut:]
    out: list[str] = []
    para: list[str] = []
    para_depth = -1
    for line in text.split("\n"):
        line = line.removesuffix("\r")
        depth = len(line) - len(line.lstrip(">"))
        content = line[depth:]
        if content.startswith(" "):  # space-stuffing (section 4.4)
            content = content[1:]
        if para and depth != para_depth:  # a quote-depth change ends a paragraph (4.5)
            out.append(_quoted(para_depth, "".join(para)))
            para = []
        flowed = content.endswith(" ") and content != "-- "
        if flowed:
            para.append(content[:-1] if delsp else content)
            para_depth = depth
        elif para:
            para.append(content)
            out.append(_quoted(para_depth, "".join(para)))
            para = []
        else:
            out.append(_quoted(depth, content))
    if para:
        out.append(_quoted(para_depth, "".join(para)))
    return "\n".join(out) + rest


def _quoted(depth: int, content: str) -> str:
    return ">" * depth + (" " if depth and content else "") + content
