"""HTML -> plain text, for mail that has no text/plain part and for searching HTML bodies.

Place in the flow: ``parsing.bodies`` calls ``html_to_text`` when a message carries only HTML
(the text then feeds reply trimming and the case update); ``parsing.parse`` calls ``strip_tags``
to look for reference tokens that only the HTML alternative carries.

A small converter of our own rather than html2text: html2text runs a full ``HTMLParser`` per
message (several times slower on a typical reply) and has no input bound. This one scans tags
with one linear regular expression, keeps visible text, link targets, image alt text and quote
depth (``<blockquote>`` becomes ``> `` so the trimmer recognises quotes), drops scripts, styles
and comments, and reads at most MAX_HTML characters.
"""

from __future__ import annotations

import functools
import html as html_lib
import re

MAX_HTML = 256 * 1024  # characters converted; the html field keeps the whole body
MAX_TAGS = 20_000  # tags interpreted; after that the rest is only stripped of tags
MAX_OPEN_LINKS = 100

# "[^<>]*" stops at the next "<" too, so an unclosed "<a" costs one short scan: linear overall.
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9:-]*)([^<>]*)>|<!--|<![^<>]*>|<\?[^<>]*>")
_HREF = re.compile(r"""\bhref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""", re.I)
_ALT = re.compile(r"""\balt\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""", re.I)
_SPACES = re.compile(r"[ \t\r\n\f\u00a0]+")
_ANY_TAG = re.compile(r"<[^<>]*>")
_BLANK_LINES = re.compile(r"\n{3,}")

_SKIP = frozenset({"script", "style", "head", "title", "template", "xml"})
_PARAGRAPH = frozenset(
    {"p", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "table", "pre", "blockquote", "hr"}
)
_LINE = frozenset(
    {"br", "div", "tr", "li", "dd", "dt", "section", "article", "header", "footer", "address"}
)


@functools.lru_cache(maxsize=16)
def _closing(name: str) -> re.Pattern[str]:
    return re.compile(r"</" + re.escape(name) + r"\s*>", re.I)


class _Writer:
    """Accumulates text, keeping at most one blank line and the current quote depth."""

    def __init__(self) -> None:
        self.out: list[str] = []
        self.newlines = 2  # at the start: no leading blank lines
        self.quote = 0
        self.pre = 0

    def text(self, piece: str) -> None:
        if "&" in piece:
            piece = html_lib.unescape(piece)
        if not self.pre:  # HTML collapses white space, newlines included
            piece = _SPACES.sub(" ", piece)
            if self.newlines:
                piece = piece.lstrip(" ")
                if piece and self.quote:
                    self.out.append("> " * self.quote)
            if piece:
                self.out.append(piece)
                self.newlines = 0
            return
        for i, line in enumerate(piece.split("\n")):
            if i:
                self.newline(1)
            if line:
                if self.newlines and self.quote:
                    self.out.append("> " * self.quote)
                self.out.append(line)
                self.newlines = 0

    def newline(self, wanted: int) -> None:
        while self.newlines < wanted:
            self.out.append("\n")
            self.newlines += 1


def html_to_text(html: str) -> str:
    """Readable text of an HTML body: visible text, ``text <url>`` links, ``> `` quotes."""
    html = html[:MAX_HTML]
    writer = _Writer()
    links: list[tuple[str, int]] = []
    pos = 0
    for _ in range(MAX_TAGS):
        match = _TAG.search(html, pos)
        if match is None:
            break
        if match.start() > pos:
            writer.text(html[pos : match.start()])
        pos = match.end()
        name = match.group(2)
        if name is None:
            if match.group(0) == "<!--":  # comments end at the next "-->" or swallow the rest
                close = html.find("-->", pos)
                pos = len(html) if close < 0 else close + 3
            continue
        name = name.lower()
        closing = match.group(1) == "/"
        if name in _SKIP and not closing:
            close_match = _closing(name).search(html, pos)
            if close_match is not None:
                pos = close_match.end()
            elif name != "head":  # an unclosed <head> often wraps the whole body
                pos = len(html)
            continue
        _tag(writer, links, name, closing, match.group(3))
    writer.text(strip_tags(html[pos:]))
    return _BLANK_LINES.sub("\n\n", "".join(writer.out)).strip()


def _tag(
    writer: _Writer, links: list[tuple[str, int]], name: str, closing: bool, attrs: str
) -> None:
    if name == "blockquote":
        writer.newline(2)
        writer.quote = max(0, writer.quote + (-1 if closing else 1))
    elif name in _PARAGRAPH:
        writer.newline(2)
        if name == "pre":
            writer.pre = max(0, writer.pre + (-1 if closing else 1))
        elif name == "hr":
            writer.text("----")
            writer.newline(2)
    elif name in _LINE:
        writer.newline(1)
        if name == "li" and not closing:
            writer.text("- ")
    elif name in ("td", "th") and closing:
        writer.text(" ")
    elif name == "img":
        alt = _attr(_ALT, attrs)
        if alt and alt.strip():
            writer.text(f"[{alt.strip()}]")
    elif name == "a":
        if not closing:
            if len(links) < MAX_OPEN_LINKS:
                links.append((_attr(_HREF, attrs) or "", len(writer.out)))
        elif links:
            _close_link(writer, *links.pop())


def _close_link(writer: _Writer, href: str, start: int) -> None:
    href = html_lib.unescape(href.strip())
    if not href or href.startswith(("#", "javascript:", "cid:")):
        return
    shown = "".join(writer.out[start : start + 64])  # bounded: links may be left open
    target = href.removeprefix("mailto:")
    if target and target not in shown:
        writer.text(f" <{target}>")


def _attr(pattern: re.Pattern[str], attrs: str) -> str | None:
    match = pattern.search(attrs)
    if match is None:
        return None
    return next((g for g in match.groups() if g is not None), None)


def strip_tags(html: str) -> str:
    """Cheap tag removal for searching: visible text and nothing else, no layout."""
    text = _ANY_TAG.sub(" ", html[:MAX_HTML])
    return html_lib.unescape(text) if "&" in text else text
