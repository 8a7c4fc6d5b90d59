"""parse(): text and HTML bodies -- charsets, transfer encodings, HTML-only mail, MIME quirks."""

from __future__ import annotations

import base64

import pytest

from parsing import parse
from tests.conftest import FIXTURES


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def text_mail(body: bytes, content_type: str, cte: str = "8bit") -> bytes:
    head = (
        "From: a@x.example\r\nSubject: t\r\nMIME-Version: 1.0\r\n"
        f"Content-Type: {content_type}\r\nContent-Transfer-Encoding: {cte}\r\n\r\n"
    )
    return head.encode("ascii") + body


@pytest.mark.parametrize(
    ("charset", "encoder"),
    [
        ("iso-2022-jp", "iso2022_jp"),
        ("shift_jis", "cp932"),
        ("gb18030", "gb18030"),
        ("gb2312", "gb2312"),
        ("ks_c_5601-1987", "cp949"),
        ("euc-kr", "euc-kr"),
        ("windows-1251", "cp1251"),
        ("koi8-r", "koi8-r"),
    ],
)
def test_body_is_decoded_with_its_charset(charset: str, encoder: str) -> None:
    """Customers write in their own scripts; labels like ks_c_5601-1987 need an alias (CP949)."""
    words = {
        "iso2022_jp": "故障です",
        "cp932": "故障です",
        "gb18030": "打印机坏了",
        "gb2312": "打印机坏了",
        "cp949": "프린터 고장",
        "euc-kr": "프린터 고장",
        "cp1251": "Принтер сломан",
        "koi8-r": "Принтер сломан",
    }[encoder]
    parsed = parse(text_mail(words.encode(encoder), f"text/plain; charset={charset}"))
    assert parsed.text == words
    assert parsed.defects == ()


def test_iso_8859_1_quoted_printable_body() -> None:
    """QP with =FC etc. decodes to umlauts (RFC 2045 6.7)."""
    assert "Vielen Dank für" in parse(fixture("german-aw-iso-8859-1.eml")).text


def test_unknown_charset_falls_back_with_a_defect() -> None:
    """An unknown label is read as UTF-8 (else Windows-1252) and reported, never fatal."""
    parsed = parse(fixture("unknown-charset.eml"))
    assert parsed.text == "The printer says: café au lait.\n"
    assert any("unknown charset 'x-klingon'" in d.description for d in parsed.defects)


def test_invalid_bytes_for_declared_charset_are_replaced_with_a_defect() -> None:
    """Mislabelled mail keeps its readable part; the damage is recorded."""
    parsed = parse(text_mail(b"ok \xff\xfe ok", "text/plain; charset=utf-8"))
    assert parsed.text.startswith("ok ") and parsed.text.endswith(" ok")
    assert any("invalid 'utf-8'" in d.description for d in parsed.defects)


def test_undeclared_8bit_utf8_body() -> None:
    """No charset but valid UTF-8: RFC 6532-era mail is UTF-8."""
    assert parse(b"From: a@x.example\r\n\r\nPr\xc3\xbcfung").text == "Prüfung"


def test_base64_text_body() -> None:
    """Some clients base64-encode even plain text."""
    body = base64.b64encode("Grüße".encode()) + b"\r\n"
    assert parse(text_mail(body, "text/plain; charset=utf-8", "base64")).text == "Grüße"


def test_html_only_mail_is_converted_to_text_keeping_links() -> None:
    """HTML-only replies still need a text body; link targets matter to agents."""
    parsed = parse(fixture("html-only-reply.eml"))
    assert parsed.text.startswith("Grazie, funziona di nuovo.")
    assert "the status page <https://status.example.com/incident/42>" in parsed.text
    assert "color: red" not in parsed.text  # <style> is not text


def test_html_blockquote_becomes_quote_markers() -> None:
    """Quoted HTML turns into '> ' lines so the trimmer can cut it."""
    parsed = parse(fixture("html-only-reply.eml"))
    assert "> Please reply above this line." in parsed.text
    assert "Please reply above" not in parsed.visible_reply


def test_html_is_kept_as_sent() -> None:
    """The HTML body is stored decoded but unchanged (sanitised only when shown)."""
    parsed = parse(fixture("html-only-reply.eml"))
    assert parsed.html is not None
    assert '<a href="https://status.example.com/incident/42">' in parsed.html


def test_html_entities_and_scripts() -> None:
    """Entities are text; scripts and comments are not."""
    html = b"<p>A &amp; B &lt;ok&gt;</p><script>alert(1)</script><!-- hidden --><p>caf&eacute;</p>"
    parsed = parse(text_mail(html, "text/html; charset=utf-8"))
    assert parsed.text == "A & B <ok>\n\ncafé"


def test_huge_html_is_converted_within_bounds() -> None:
    """A 2 MB HTML body must not stall a worker: the converter reads a bounded prefix."""
    html = b"<div><a href='https://x.example/'>link</a> text</div>" * 40_000
    parsed = parse(text_mail(html, "text/html; charset=utf-8"))
    assert parsed.text.startswith("link <https://x.example/> text")
    assert len(parsed.html or "") == len(html)


def test_alternative_prefers_text_plain_and_keeps_html() -> None:
    """multipart/alternative: the text part is the text; the HTML part is kept beside it."""
    parsed = parse(fixture("gmail-reply-quoted.eml"))
    assert parsed.text.startswith("Works now, thanks!\n\nOn Thu, 6 Jun 2024")
    assert parsed.html is not None and parsed.html.startswith('<div dir="ltr">')


def test_apple_mail_split_text_parts_are_joined() -> None:
    """Apple Mail splits the body around inline images; both halves are the reply."""
    parsed = parse(fixture("apple-mail-reply.eml"))
    assert "Here is the error on the display:" in parsed.text
    assert "It appears after every restart." in parsed.text


def test_format_flowed_is_unwrapped() -> None:
    """RFC 3676: soft line breaks are joined back into paragraphs."""
    parsed = parse(fixture("format-flowed-token.eml"))
    assert "mail client wrapped at the soft line break." in parsed.text


def test_visible_reply_cuts_the_quote() -> None:
    """The case update shows what the customer wrote, not our quoted mail."""
    assert parse(fixture("gmail-reply-quoted.eml")).visible_reply == "Works now, thanks!"


def test_crlf_becomes_lf_in_text() -> None:
    """Text is stored with '\\n' line ends whatever the wire format was."""
    assert parse(text_mail(b"a\r\nb\r\n", "text/plain")).text == "a\nb\n"


def test_text_part_over_4_mb_is_cut_with_a_defect() -> None:
    """Decoding is bounded: a 5 MB text part keeps its start and says it was cut."""
    parsed = parse(text_mail(b"x" * (5 * 1024 * 1024), "text/plain"))
    assert 0 < len(parsed.text) <= 1_000_000
    assert any("longer than 4 MB" in d.description for d in parsed.defects)


def test_nul_bytes_in_body_are_removed_with_a_defect() -> None:
    """NUL cannot be stored in PostgreSQL text."""
    parsed = parse(text_mail(b"a\x00b", "text/plain"))
    assert parsed.text == "ab"
    assert any("NUL" in d.description for d in parsed.defects)


def test_missing_content_type_is_text_plain() -> None:
    """RFC 2045 5.2: no Content-Type means text/plain; charset=us-ascii."""
    assert parse(b"From: a@x.example\r\nSubject: x\r\n\r\nhello").text == "hello"


def test_invalid_content_type_reads_as_text_with_a_defect() -> None:
    """RFC 2045 5.2: an unparsable type is read as text/plain."""
    parsed = parse(text_mail(b"hello", "text"))
    assert parsed.text == "hello"
    assert any("invalid Content-Type" in d.description for d in parsed.defects)


def test_multipart_without_boundary_reads_as_text() -> None:
    """A broken multipart still shows its words rather than nothing."""
    parsed = parse(text_mail(b"hello", "multipart/mixed"))
    assert parsed.text == "hello"
    assert any("NoBoundaryInMultipartDefect" in d.description for d in parsed.defects)


def test_missing_close_boundary_keeps_last_part() -> None:
    """Truncated mail: the last part runs to the end and the defect is recorded."""
    raw = text_mail(
        b"--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n", 'multipart/mixed; boundary="b"'
    )
    parsed = parse(raw)
    assert parsed.text == "hello\n"
    assert any("CloseBoundaryNotFoundDefect" in d.description for d in parsed.defects)


def test_boundary_prefix_of_another_line_is_not_a_delimiter() -> None:
    """'--bb' is not a delimiter for boundary 'b' (RFC 2046 5.1.1: the whole line counts)."""
    body = b"--b\r\nContent-Type: text/plain\r\n\r\none\r\n--bb\r\ntwo\r\n--b--\r\n"
    assert parse(text_mail(body, 'multipart/mixed; boundary="b"')).text == "one\n--bb\ntwo"


def test_header_block_without_separator() -> None:
    """A non-header line ends the headers (and is reported) instead of swallowing the body."""
    parsed = parse(b"From: a@x.example\r\nThis is the body\r\nsecond line")
    assert parsed.text == "This is the body\nsecond line"
    assert any("MissingHeaderBodySeparatorDefect" in d.description for d in parsed.defects)


def test_cr_only_line_ends_are_read() -> None:
    """Classic Mac OS mailers end lines with CR alone; headers and body still separate."""
    parsed = parse(b"From: a@x.example\rSubject: mac\r\rline 1\rline 2")
    assert (parsed.subject, parsed.text) == ("mac", "line 1\nline 2")


def test_empty_input_gives_an_empty_mail_with_defects() -> None:
    """Even zero bytes produce a ParsedMail, never an exception."""
    parsed = parse(b"")
    assert (parsed.subject, parsed.text, parsed.from_) == ("", "", None)
    assert any(d.description == "empty message" for d in parsed.defects)


def test_excess_parts_are_reported_not_walked() -> None:
    """Parts are capped so that one message cannot occupy a worker."""
    parts = b"".join(b"--b\r\nContent-Type: text/plain\r\n\r\nx\r\n" for _ in range(1000))
    parsed = parse(text_mail(parts + b"--b--\r\n", 'multipart/mixed; boundary="b"'))
    assert any("more than 200 parts" in d.description for d in parsed.defects)
