"""Bound how deep a mail's HTML nests before nh3 sees it.

Place in the flow: ``gateway.http.mailview.sanitize_html`` calls ``shallow`` on HTML with many
tags, before ``nh3`` cleans it, whenever the console shows a mail (a triage item's, a case
update's; intake stores the HTML uncleaned). Pure: text in, text out.

Why: html5ever, the parser inside nh3, walks the stack of open elements on each block-level
start tag ("has a p element in button scope", WHATWG HTML 13.2.6.4.7), so its time grows with
depth x tags: 20,000 nested ``<div>`` took 5 s, 40,000 took 33 s, and a 2 MB mail of 200,000
held every console view of the mail (and, while intake still cleaned HTML, a worker and the
desk's intake) for hours: a page that never answers, a server thread gone.

How: a linear tokenizer (regular expressions that cannot fail once a tag has started, so no
backtracking) rewrites the HTML as explicitly nested markup: an end tag closes the elements
opened after its start tag, one with no open start tag is dropped, everything still open is
closed at the end, and a start tag beyond ``MAX_DEPTH`` open elements is dropped with its end
tag (the text stays). Comments, declarations and processing instructions go (nh3 drops them
too). This is not the sanitizer: nh3 still cleans whatever comes out of here, so a tag read
differently here than by a browser can only cost formatting, never safety. Chromium's parser
stops nesting at 512 (kMaximumHTMLParserDOMTreeDepth); mail needs far less.
"""

from __future__ import annotations

import re

MAX_DEPTH = 256
# Below this many "<", html5ever's worst case is short (2,000 nested: 0.03 s); the rewrite is
# only paid by mail that could be slow.
FEW_TAGS = 2000

_VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
                   "param", "source", "track", "wbr", "keygen", "frame", "basefont", "bgsound"})
# Every alternative ends at ">" or at the end of the text: once "<x" matched, nothing fails.
_TOKEN = re.compile(
    r"<!--.*?(?:-->|\Z)"
    r"|<[!?][^>]*(?:>|\Z)"
    r"|<(/?)([A-Za-z][^\s/>]*)((?:[^>\"']+|\"[^\"]*(?:\"|\Z)|'[^']*(?:'|\Z))*)(?:>|\Z)"
    r"|[^<]+|<",
    re.S,
)
_ATTRIBUTE = re.compile(r"([^\s\"'>/=]+)(?:\s*=\s*(\"[^\"]*\"?|'[^']*'?|[^\s>]+))?")
# Start tags that end an open element of the same name (WHATWG HTML 13.2.6.4.7: "li", "p",
# "tr"...), and block start tags that end an open "p": sloppy mail writes "<p>a<p>b" and
# "<li>a<li>b" by the thousand, which must not count as nesting.
_ENDS_SAME = frozenset({"p", "li", "dt", "dd", "option", "tr", "td", "th"})
_ENDS_P = frozenset({"address", "article", "aside", "blockquote", "center", "details", "div",
                     "dl", "fieldset", "figure", "footer", "form", "h1", "h2", "h3", "h4",
                     "h5", "h6", "header", "main", "menu", "nav", "ol", "p", "pre", "section",
                     "table", "ul"})
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9:_.-]{0,63}")


def needs_shallowing(html: str) -> bool:
    return html.count("<") > FEW_TAGS


def shallow(html: str, max_depth: int = MAX_DEPTH) -> str:
    """``html`` rewritten with at most ``max_depth`` elements open at once."""
    out: list[str] = []
    stack: list[str] = []
    dropped: list[str] = []  # names of start tags dropped past max_depth, still "open"
    for match in _TOKEN.finditer(html):
        name = match.group(2)
        if name is None:
            text = match.group(0)
            if text == "<":
                out.append("&lt;")
            elif not text.startswith("<"):
                out.append(text)
            continue  # comments, <!DOCTYPE ...>, <?...?>
        name = name.lower()
        if not _NAME.fullmatch(name):
            continue
        if match.group(1):  # an end tag
            if dropped and dropped[-1] == name:
                dropped.pop()
            elif name in stack:
                while stack:
                    top = stack.pop()
                    out.append(f"</{top}>")
                    if top == name:
                        break
            continue
        if stack and ((name in _ENDS_SAME and stack[-1] == name)
                      or (name in _ENDS_P and stack[-1] == "p")):
            out.append(f"</{stack.pop()}>")
        if name in _VOID:
            out.append(f"<{name}{_attributes(match.group(3))}>")
        elif len(stack) < max_depth:
            stack.append(name)
            out.append(f"<{name}{_attributes(match.group(3))}>")
        elif len(dropped) < max_depth:
            dropped.append(name)
    out.extend(f"</{name}>" for name in reversed(stack))
    return "".join(out)


def _attributes(text: str) -> str:
    """The attributes as ``name="value"``: values keep their character references."""
    parts = []
    for name, value in _ATTRIBUTE.findall(text):
        if not _NAME.fullmatch(name):
            continue
        if not value:
            parts.append(f" {name.lower()}")
            continue
        if value[0] in "\"'":
            value = value[1:-1] if len(value) > 1 and value[-1] == value[0] else value[1:]
        value = value.replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;")
        parts.append(f' {name.lower()}="{value}"')
    return "".join(parts)
