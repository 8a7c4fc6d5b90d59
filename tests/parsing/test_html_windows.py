"""parse.html_windows, which strips only the HTML after its quiet prefix, against stripping all
of it: the same windows for any HTML (tags, entities, keywords inside and outside tags, the
dotted capital I and the Kelvin sign, stray "<" and ">")."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from parsing import reference
from parsing.htmltext import strip_tags
from parsing.parser import _WINDOW_BEFORE, _head_and_tail, html_windows, keyword_windows
from tests.conftest import KEY
from tests.parsing.generated import examples

SETTINGS = examples(1000)
TOKEN = reference.format_token("CASE-1001", KEY)
HTML = st.lists(
    st.sampled_from([
        "<div>", "</div>", "<br>", '<a href="https://x.example/ref">', "</a>", "<", ">", "<b",
        "&amp;", "&", "&#304;", "&#8490;", "\u0130", "\u212a", "&lt;", "ref", "REF:", "case",
        "Case 123456", "ticket #100100", "tsup", "TSUP-1234", "CASE-1001", TOKEN, " ", "\n",
        "x", "é", "—", "Update: the printer", "tic", "ket", "<!-- ref -->", "12345678",
    ]),
    max_size=40,
).map("".join)  # fmt: skip


def full(html: str) -> str:
    return keyword_windows(_head_and_tail(strip_tags(html)))


@SETTINGS
@given(HTML)
def test_html_windows_as_stripping_everything(html: str) -> None:
    assert html_windows(html) == full(html)


@SETTINGS
@given(HTML, HTML)
def test_html_windows_with_a_long_quiet_prefix(prefix: str, quoted: str) -> None:
    # The reply's shape: the author's words first, our mail quoted at the end.
    html = f"<div>{'The printer restarts. ' * 3}</div>{prefix}<blockquote>{quoted}</blockquote>"
    assert html_windows(html) == full(html)


def test_the_bench_shape_cuts_and_keeps_the_windows() -> None:
    html = ("<div>" + "Update 5: The printer shows error 49.4C02 — " * 20 + "</div><br>"
            f'<blockquote class="gmail_quote">update case CASE-1001.<br>Reference: {TOKEN}'
            "</blockquote>")
    assert html_windows(html) == full(html) != ""
    assert "CASE-1001" in html_windows(html)


def test_a_keyword_right_after_the_cut_falls_back() -> None:
    for gap in range(_WINDOW_BEFORE + 2):
        html = "<p>words and words</p><p>" + "x" * gap + "case 123456</p>"
        assert html_windows(html) == full(html), gap
