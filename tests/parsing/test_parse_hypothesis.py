"""Property tests: hostile mail never makes parse() raise; forged tokens never verify.

parse() stands at the edge of untrusted input, so "never raises" is checked against random bytes,
header soup, deep and broken MIME trees, huge lines, random charsets and random base64. A
``parser`` defect is parse's last-resort net catching a bug, so it counts as a failure here.
"""

from __future__ import annotations

import base64

from hypothesis import given
from hypothesis import strategies as st

from parsing import parse, reference
from parsing.model import ParsedMail, ReferenceSource, TokenCandidate
from parsing.parser import keyword_windows
from tests.conftest import KEY
from tests.parsing.generated import examples

SETTINGS = examples(200)
HEADER_NAMES = [
    "From", "To", "Cc", "Reply-To", "Subject", "Date", "Message-ID", "In-Reply-To",
    "References", "Content-Type", "Content-Transfer-Encoding", "Content-Disposition",
    "Auto-Submitted", "List-Id", "Authentication-Results", "X-Failed-Recipients", "Received",
]  # fmt: skip
CHARSETS = [
    "utf-8", "iso-8859-1", "iso-2022-jp", "shift_jis", "gb18030", "ks_c_5601-1987", "utf-7",
    "utf-16", "punycode", "idna", "x-unknown", "", "\"", "base64", "rot13", "unicode_escape",
]  # fmt: skip
DISPOSITIONS = ["", "inline", "attachment; filename=a", "attachment; filename*=x''y"]
ENCODINGS = ["7bit", "8bit", "base64", "quoted-printable", "x-uuencode", "binary", "bogus", ""]
NASTY = ["=?", "?=", "=?utf-8?b?", "=?x?q?", "<", ">", "\"", "(", ")", ",", ";", ":", "@", "\\",
         "\r", "\n", "\t", " ", "\x00", "é", "€", "--", "boundary=", "begin 644 x", "ref:",
         "case ", "[ref:CASE-1:aaaaaaaaaaaaaaaa]", "multipart/", "charset="]  # fmt: skip
BASE32 = "abcdefghijklmnopqrstuvwxyz234567"


def assert_parsed(raw: bytes) -> None:
    parsed = parse(raw)
    assert isinstance(parsed, ParsedMail)
    assert not [d for d in parsed.defects if d.where == "parser"], parsed.defects


nasty_text = st.lists(st.one_of(st.sampled_from(NASTY), st.text(max_size=20)), max_size=30).map(
    "".join
)


@st.composite
def header_soup(draw: st.DrawFn) -> bytes:
    lines = []
    for _ in range(draw(st.integers(0, 25))):
        name = draw(st.one_of(st.sampled_from(HEADER_NAMES), st.text(max_size=10)))
        value = draw(nasty_text)
        fold = draw(st.sampled_from(["", "\r\n ", "\n\t", "\r\n"]))
        lines.append(f"{name}:{fold}{value}")
    sep = draw(st.sampled_from(["\r\n", "\n", "\r"]))
    body = draw(st.binary(max_size=300))
    return sep.join(lines).encode("utf-8", "surrogatepass") + sep.encode() * 2 + body


@st.composite
def mime_tree(draw: st.DrawFn, depth: int = 0) -> bytes:
    """A MIME entity with random (sometimes wrong) boundaries, charsets and encodings."""
    if depth < 6 and draw(st.booleans()):
        boundary = draw(st.text(alphabet="abc-=_'()+,./:? ", min_size=0, max_size=12))
        children = [draw(mime_tree(depth + 1)) for _ in range(draw(st.integers(0, 4)))]
        used = draw(st.one_of(st.just(boundary), st.text(alphabet="abc-", max_size=4)))
        close = draw(st.sampled_from(["--", "", "-"]))
        subtype = draw(st.sampled_from(["mixed", "alternative", "related", "report", "digest"]))
        body = b"".join(b"--" + used.encode() + b"\r\n" + c + b"\r\n" for c in children)
        body += b"--" + used.encode() + close.encode() + b"\r\n"
        head = f'Content-Type: multipart/{subtype}; boundary="{boundary}"\r\n'
        return head.encode() + b"\r\n" + body
    ctype = draw(st.sampled_from([
        "text/plain", "text/html", "message/rfc822", "message/delivery-status",
        "text/rfc822-headers", "application/ms-tnef", "image/png", "text/plain; format=flowed",
        "nonsense",
    ]))  # fmt: skip
    charset = draw(st.sampled_from(CHARSETS))
    cte = draw(st.sampled_from(ENCODINGS))
    payload = draw(st.binary(max_size=200))
    if cte == "base64" and draw(st.booleans()):
        payload = base64.b64encode(payload)[: draw(st.integers(0, 300))]
    name = draw(st.sampled_from(["", '; name="winmail.dat"', "; name*0*=utf-8''%E2%82; name*1=x"]))
    head = (
        f"Content-Type: {ctype}; charset={charset}{name}\r\n"
        f"Content-Transfer-Encoding: {cte}\r\n"
        f"Content-Disposition: {draw(st.sampled_from(DISPOSITIONS))}\r\n"
    )
    return head.encode() + b"\r\n" + payload


@SETTINGS
@given(st.binary(max_size=2000))
def test_random_bytes_never_raise(raw: bytes) -> None:
    """Whatever arrives on port 25 is parsed into something."""
    assert_parsed(raw)


@SETTINGS
@given(header_soup())
def test_header_soup_never_raises(raw: bytes) -> None:
    """Broken folding, encoded-word fragments, stray NULs and odd line ends in headers."""
    assert_parsed(raw)


@SETTINGS
@given(mime_tree())
def test_random_mime_trees_never_raise(tree: bytes) -> None:
    """Nested, mismatched and unterminated multiparts with random charsets and encodings."""
    assert_parsed(b"From: a@x.example\r\nSubject: t\r\nMIME-Version: 1.0\r\n" + tree)


@SETTINGS
@given(st.integers(1, 3_000_000), st.sampled_from(["Subject", "From", "To", "References"]))
def test_huge_header_lines_never_raise(size: int, name: str) -> None:
    """A single multi-megabyte header line is bounded work, not a crash."""
    assert_parsed(f"{name}: ".encode() + b"a@b " * (size // 4) + b"\r\n\r\nbody")


@SETTINGS
@given(st.integers(1, 3000))
def test_deep_nesting_never_raises(depth: int) -> None:
    """Thousands of nested multiparts hit the depth cap instead of the recursion limit."""
    raw = b"".join(
        b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (i, i)
        for i in range(depth)
    )
    assert_parsed(b"From: a@x.example\r\n" + raw + b"Content-Type: text/plain\r\n\r\nhi\r\n")


numbers = st.one_of(
    st.integers(1, 999_999_999).map(lambda n: f"CASE-{n}"),
    st.integers(1, 999_999_999).map(lambda n: f"TSUP-{n}"),
    st.integers(100_000, 999_999).map(str),
)


@SETTINGS
@given(numbers, st.data())
def test_mutated_mac_never_verifies(number: str, data: st.DataObject) -> None:
    """Changing any character of the signature (case aside) breaks it."""
    mac = reference.sign(number, KEY)
    index = data.draw(st.integers(0, len(mac) - 1))
    other = data.draw(st.sampled_from([c for c in BASE32 if c != mac[index]]))
    forged = mac[:index] + data.draw(st.sampled_from([other, other.upper()])) + mac[index + 1 :]
    token = TokenCandidate(number, forged.lower(), ReferenceSource.BODY)
    assert reference.verify(token, KEY) is False
    parsed = parse(
        f"From: a@x.example\r\nSubject: Re: [ref:{number}:{forged}]\r\n\r\n".encode(), key=KEY
    )
    assert [t.valid for t in parsed.tokens] == [False]


@SETTINGS
@given(numbers, numbers)
def test_mac_of_another_number_never_verifies(number: str, other: str) -> None:
    """A valid token for one case cannot be re-pointed at another case."""
    if reference.canonical_number(number) == reference.canonical_number(other):
        return
    mac = reference.sign(number, KEY)
    assert reference.verify(TokenCandidate(other, mac, ReferenceSource.SUBJECT), KEY) is False


@SETTINGS
@given(
    st.lists(
        st.sampled_from([
            "ref:", "ref#", "REF:", "case", "CASE-", "TSUP-", "ticket", " #", "no. ", "number",
            "1001", "100100", "12345678", ":", ".", "-", " ", "  ", "\n", "\n\n", "x", "é", "İ",
            "tic\u212aet",  # the Kelvin sign lower-cases to an ASCII "k"
            reference.format_token("CASE-1001", KEY), "ckkzpityypjsdydl", "]",
        ]),
        max_size=60,
    ).map("".join)
)  # fmt: skip
def test_keyword_windows_find_what_a_full_search_finds(body: str) -> None:
    """The search shortcut (only text around keywords) never changes what collect() returns."""
    full = reference.collect(thread_ids=(), subject="", body=body, key=KEY)
    windowed = reference.collect(thread_ids=(), subject="", body=keyword_windows(body), key=KEY)
    assert windowed == full


SCAN_PIECES = st.lists(
    st.sampled_from([
        "ref:", ":", "#", ".", " ", "\n", "case", "CA\u017fE", "ca", "se",
        "tsup", "TSUP", "-", "t\u0130c\u212aet", "t\u0131cket", "ticket", "no.", "number",
        "1001", "100100", "1234567890", "é", "İ", "x", "_",
        reference.format_token("CASE-1001", KEY), "ckkzpityypjsdydl", "refref:",
    ]),
    max_size=40,
).map("".join)  # fmt: skip


@SETTINGS
@given(SCAN_PIECES)
def test_number_scan_finds_what_finditer_finds(text: str) -> None:
    """BARE_NUMBER_RE, started only at "case", "tsup", "ticket" (any case, re.I's folds)."""
    fast = [m.span() for m in reference._bare_number_matches(text)]
    assert fast == [m.span() for m in reference.BARE_NUMBER_RE.finditer(text)]

