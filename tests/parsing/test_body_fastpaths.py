"""The body decoder's fast paths give what the general code gives.

``decode.decodes_nul_free`` lets ``bodies._body_text`` skip the slow ``"\\x00" in text`` of a
non-Latin-1 body: whenever it says True, the decoded text must hold no NUL.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from parsing.bodies import extract
from parsing.decode import _NUL_ONLY_FROM_NUL_BYTE, decode_text, decodes_nul_free
from parsing.mime import parse_tree

CHARSETS = [
    None, "", "utf-8", "UTF-8", '"utf-8"', "utf8", "us-ascii", "iso-8859-1", "latin1",
    "windows-1252", "iso-8859-15", "iso-8859-2", "windows-1250", "windows-1251", "koi8-r",
    "utf-7", "unicode-1-1-utf-7", "utf-16", "utf-16-le", "utf-32", "x-unknown", "unknown-8bit",
    "no-such-charset", "shift_jis", "iso-2022-jp", "gb2312", "big5", "hz", "euc-kr",
]  # fmt: skip
# Bytes that make NULs or trip decoders: zeros, UTF-7 "+AAA-", overlong C0 80, BOMs, escapes.
CHUNKS = [b"\x00", b"+AAA-", b"+AAAA-", b"\xc0\x80", b"\xff\xfe", b"\xfe\xff", b"\x1b$B",
          b"~{", b"a", b"\xe2\x80\x94", b"\x80", b"\r\n", b"+-", b"\xe0\x80\x80"]  # fmt: skip


@settings(max_examples=1500, deadline=None)
@given(
    st.lists(st.one_of(st.sampled_from(CHUNKS), st.binary(max_size=8)), max_size=12),
    st.sampled_from(CHARSETS),
)
def test_nul_free_claim_holds_after_decoding(chunks: list[bytes], charset: str | None) -> None:
    data = b"".join(chunks)
    if decodes_nul_free(data, charset):
        assert "\x00" not in decode_text(data, charset)[0]


def test_single_byte_codecs_make_nul_only_of_the_zero_byte() -> None:
    every_other_byte = bytes(range(1, 256))
    for codec in _NUL_ONLY_FROM_NUL_BYTE - {"utf-8"}:
        assert "\x00" not in every_other_byte.decode(codec, "replace"), codec


def test_utf7_and_utf16_nuls_are_still_found() -> None:
    assert not decodes_nul_free(b"a+AAA-b", "utf-7")
    assert "\x00" in decode_text(b"a+AAA-b", "utf-7")[0]
    for charset, data in (("utf-7", b"a+AAA-b \xe2"), ("utf-16-le", "a\x00—".encode("utf-16-le"))):
        raw = (
            b"Content-Type: text/plain; charset=" + charset.encode() + b"\n\n" + data
        )
        content = extract(parse_tree(raw))
        assert "\x00" not in content.text
        assert any("NUL" in d.description for d in content.defects), (charset, content.defects)


def test_nul_in_a_ucs2_utf8_body_is_still_removed() -> None:
    raw = "Content-Type: text/plain; charset=utf-8\n\nhé—\x00llo".encode()
    content = extract(parse_tree(raw))
    assert content.text == "hé—llo"
    assert any("NUL" in d.description for d in content.defects)
