"""``shallow_html``: bounded nesting for nh3, the same cleaned mail for ordinary HTML."""

from __future__ import annotations

from gateway.http.mailview import _CLEANER, sanitize_html
from gateway.http.shallow_html import MAX_DEPTH, shallow
from tests.http.test_deep_html import depth

ROW = ('<tr><td class="x" style="a>b"><table width=100%><tr><td>'
       '<a href="https://e.example/?a=1&amp;b=2" title=\'q"q\'>Link &amp; more &lt;3</a>'
       '<br><img src="cid:x" alt="i>j"></td></tr></table></td>'
       "<td><p>para one<p>para two<ul><li>a<li>b</ul></td></tr>")
NEWSLETTER = ("<!DOCTYPE html><html><head><style>p{color:red}</style>"
              '<script>var a="<div>";</script></head><body><!--[if mso]><table><![endif]-->'
              "<div><table>" + ROW * 400 + "</table></div><pre>  x  y </pre>"
              "<p>end 5 < 6 and 7 > 3</body></html>")


def test_an_ordinary_big_mail_cleans_to_the_same_html():
    """Sloppy but ordinary markup (unclosed <p> and <li>, ">" in quoted values, comments,
    entities): nh3 gives the same result with or without the rewrite."""
    assert NEWSLETTER.count("<") > 2000
    assert _CLEANER.clean(shallow(NEWSLETTER)) == _CLEANER.clean(NEWSLETTER)


def test_end_tags_of_elements_never_opened_do_not_hide_nesting():
    """``<span><div></span>``: html5ever ignores the ``</span>`` (a div is above it) and the
    divs nest; a counter that popped on every end tag would see depth 0."""
    assert depth(sanitize_html("<span><div></span>" * 3000) or "") <= MAX_DEPTH


def test_an_unclosed_comment_or_quote_is_one_token_not_a_rescan():
    assert depth(sanitize_html("<!--" + "<div>" * 3000) or "") == 0
    assert depth(sanitize_html('<a title="' + "<div>" * 3000) or "") <= 1


def test_thousands_of_unclosed_paragraphs_are_siblings():
    cleaned = sanitize_html("<p>x" * 3000) or ""
    assert depth(cleaned) == 1 and cleaned.count("<p>") == 3000
