"""The MIME and header readers' fast paths give what the general readers give, on generated input.

Each fast path reads only the common shape and declines (None, or the general reader) for the
rest; these properties check that wherever it answers, its answer is the general reader's.
"""

from __future__ import annotations

from email.utils import parsedate_to_datetime

from hypothesis import given
from hypothesis import strategies as st

from parsing import headers, mime, mimeheaders
from tests.parsing.generated import examples

SETTINGS = examples(500)

NAMES = ["From", "Subject", "Received", "DKIM-Signature", "X-A", "a b", "", "Nö", "X:Y",
         "x" * 257]  # fmt: skip
# Mostly what real values hold, plus what makes the fast path decline.
PIECES = ["a", "b c", " ", "\t", "\n ", "\n\t", "\r\n ", ":", ";", "é", "€", "=?utf-8?q?x?=",
          "\r", "\n", "\r\n", "\x00", "From "]  # fmt: skip
RAW_PIECES = [b"\xe9", b"\xff\xfe", b"charset=koi8-r", b"\xc3"]


@st.composite
def header_block(draw: st.DrawFn) -> bytes:
    """Header lines, mostly well formed: folds, CRLF or LF, odd names, 8-bit and NUL values."""
    lines = []
    for _ in range(draw(st.integers(0, 12))):
        name = draw(st.sampled_from(NAMES[:5]) | st.sampled_from(NAMES) | st.text(max_size=6))
        colon = draw(st.sampled_from([": ", ":", " :", ":\t", ""]))
        pieces = draw(st.lists(st.sampled_from(PIECES[:8]) | st.sampled_from(PIECES), max_size=8))
        raw = draw(st.lists(st.sampled_from(RAW_PIECES), max_size=1)) if draw(st.booleans()) else []
        value = "".join(pieces).encode("utf-8") + b"".join(raw)
        lines.append(name.encode("utf-8", "surrogatepass") + colon.encode() + value)
    eol = draw(st.sampled_from([b"\n", b"\r\n"]))
    end = draw(st.sampled_from([eol, eol, b"", b" x\n"]))
    return eol.join(lines) + eol + end + b"body\n"


@SETTINGS
@given(header_block(), st.integers(0, 3))
def test_common_block_reads_what_the_field_loop_reads(block: bytes, offset: int) -> None:
    buf = b"x" * offset + block
    fast = mimeheaders.common_block(buf, offset, len(buf))
    problems: list[str] = []
    general = mimeheaders.read_fields(buf, offset, offset, len(buf), problems)
    assert fast is None or (fast == general and problems == [])


def test_common_block_reads_a_folded_crlf_header() -> None:
    block = b"Received: from a\r\n\tby b;\r\n Mon\r\nSubject:  Hi \r\nX-Empty:\r\n\r\nbody"
    fields = [("Received", "from a\tby b; Mon"), ("Subject", "Hi"), ("X-Empty", "")]
    assert mimeheaders.common_block(block, 0, len(block)) == (fields, block.index(b"body"))


TYPES = ["text/plain", "Multipart/Alternative", "a/b", " text/html ", "text", "text/", "x/é", ""]
PARAM_NAMES = ["charset", "BOUNDARY", "name", "file.name", "a_b", "", "x*", "x*0*", "né"]
VALUES = ["utf-8", '"utf-8"', '"==_a b;c=="', '""', "", '"a\\"b"', '"open', "a b", "%e2'x", "é"]
SPACES = ["", " ", "\t", " \n ", " "]


@st.composite
def content_type(draw: st.DrawFn) -> str:
    """``type/subtype; name=value ...``, mostly the common shape, sometimes not."""
    out = [draw(st.sampled_from(TYPES[:4]) | st.sampled_from(TYPES) | st.text(max_size=6))]
    for _ in range(draw(st.sampled_from([0, 1, 1, 1, 2, 3]))):
        space = st.sampled_from(SPACES[:2]) | st.sampled_from(SPACES)
        name = draw(st.sampled_from(PARAM_NAMES[:3]) | st.sampled_from(PARAM_NAMES))
        value = draw(st.sampled_from(VALUES[:3]) | st.sampled_from(VALUES) | st.text(max_size=4))
        out += [";", draw(space), name, draw(space), "=", draw(space), value, draw(space)]
    out += draw(st.sampled_from([[], [], [";"], ["; "], [";;"], ["x"]]))
    return "".join(out)


@SETTINGS
@given(content_type())
def test_content_type_fast_path_reads_what_the_general_reader_reads(value: str) -> None:
    assert mime.parse_content_type(value, "text/plain") == mime.parse_content_type_general(value)


@SETTINGS
@given(content_type())
def test_params_fast_path_reads_what_the_general_reader_reads(value: str) -> None:
    rest = value.partition(";")[2]
    assert mime.parse_params(rest) == mime.parse_params_general(rest)


def test_simple_params_keep_the_first_of_a_repeated_name() -> None:
    rest = ' filename="a.pdf"; size=12; FILENAME=b.pdf; creation-date="Mon, 2 Dec 2026 09:14"'
    assert mime.parse_params(rest) == {
        "filename": "a.pdf", "size": "12", "creation-date": "Mon, 2 Dec 2026 09:14"
    }  # fmt: skip


DATE_PIECES = {
    "weekday": ["", "Mon, ", "Sun, ", "Xyz, ", "Mon,"],
    "day": ["2", "02", "31", "0", "30", "123", "٢"],
    "month": ["Dec", "Feb", "dec", "December", "Foo"],
    "year": ["2026", "1900", "1899", "0099", "26", "9999"],
    "time": ["10:14:00", "10:14", "23:59:60", "24:00:00", "9:14:00", "10.14"],
    "zone": ["+0100", "+0000", "-0000", "-0830", "+2400", "+0199", "GMT", "0100"],
    "tail": ["", " (UTC)", "  (PST)", " x y", "\t", "x"],
}


@st.composite
def date_value(draw: st.DrawFn) -> str:
    """RFC 5322 dates, mostly the common shape, with pieces the fast reader must decline."""
    parts = {key: draw(st.sampled_from(pieces[:2]) | st.sampled_from(pieces))
             for key, pieces in DATE_PIECES.items()}
    return "{weekday}{day} {month} {year} {time} {zone}{tail}".format(**parts)


@SETTINGS
@given(date_value())
def test_common_date_reads_what_the_stdlib_reads(value: str) -> None:
    common = headers.common_date(value)
    assert common is None or repr(common) == repr(parsedate_to_datetime(value))


def test_common_date_keeps_the_zone() -> None:
    common = headers.common_date("Mon, 2 Dec 2026 10:14:00 -0830 (PST)")
    assert common is not None and common.isoformat() == "2026-12-02T10:14:00-08:30"
