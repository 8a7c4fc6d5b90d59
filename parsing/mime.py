"""MIME structure: raw bytes -> a bounded tree of parts (RFC 5322 section 2, RFC 2045/2046).

Place in the flow: the first thing ``parsing.parse`` does with the raw bytes a worker hands it.
The tree says where every part starts and ends and what its headers are; it decodes nothing else.
``parsing.mimeheaders`` reads each part's header block; ``parsing.headers`` and ``parsing.bodies``
turn the tree into fields.

Why not ``email.parser``: measured on this machine, the stdlib feed parser (compat32) costs about
170 us for a 5 KB reply, but it does Python work per line and per nesting level: 1 M short lines
took 0.44 s, 100 k parts 2.2 s, 500 nested multiparts 0.23 s and 5,000 raised RecursionError.
Splitting with ``bytes.find`` on offsets into one buffer does the per-byte work in C, copies
nothing, and makes every loop countable, so the limits below bound the time for any input.
Problems are reported with the stdlib's defect names so they read familiarly.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from urllib.parse import unquote_to_bytes

from parsing.decode import decode_text, decode_transfer, normalize_cte
from parsing.mimeheaders import parse_headers
from parsing.model import Defect

MAX_PARTS = 200  # parts kept in the tree; the rest of a bigger message is reported, not walked
MAX_DEPTH = 16  # multipart nesting levels split (real mail rarely goes past 5)
MAX_DELIMITER_MISSES = 1000  # lines that start like a boundary but are not one
_MAX_PARAMS_INPUT = 8 * 1024  # characters of a Content-Type/-Disposition value parsed

_TOKEN_TYPE = re.compile(r"[a-z0-9!#$%&'*+.^_`|~-]+/[a-z0-9!#$%&'*+.^_`|~-]+")
_PARAM = re.compile(r';\s*([^=;\s]+)\s*=\s*("(?:[^"\\]|\\.)*"?|[^;]*)')
_QUOTED_PAIR = re.compile(r"\\(.)")
# The common parameter list: plain names, each value a quoted string without quoted-pairs or a
# token, nothing between parameters but white space. _PARAM reads such a list as _SIMPLE_PARAM
# does, and nothing in it needs unquoting or RFC 2231.
_SIMPLE_PARAMS = re.compile(
    r'(?:;\s*+[A-Za-z0-9_.-]++\s*+=\s*+(?:"[^"\\]*+"|[^;"\\\s]*+)\s*+)*+(?:;\s*+)?'
)
_TYPE_TOKEN = r"[A-Za-z0-9!#$%&'*+.^_`|~-]++"  # _TOKEN_TYPE's characters, either case
_SIMPLE_CONTENT_TYPE = re.compile(
    rf'\s*+({_TYPE_TOKEN}/{_TYPE_TOKEN})\s*+'
    r'(?:;\s*+([A-Za-z0-9_.-]++)\s*+=\s*+(?:"([^"\\]*+)"|([^;"\\\s]*+))\s*+)?(?:;\s*+)?'
)
_SIMPLE_PARAM = re.compile(r';\s*([A-Za-z0-9_.-]+)\s*=\s*(?:"([^"\\]*)"|([^;"\\\s]*))')


@dataclass(slots=True, eq=False)
class Part:
    """One node: headers, content type, and where its body lies in ``buf``."""

    path: str  # "" for the message itself, "1", "1.2", ... for parts
    headers: list[tuple[str, str]]
    buf: bytes
    start: int
    end: int
    content_type: str = "text/plain"
    params: dict[str, str] = field(default_factory=dict)
    parent_type: str = ""
    children: list[Part] = field(default_factory=list)
    inner: Part | None = None  # message/rfc822: the enclosed message's headers and body
    head_start: int = 0  # where the part's header starts in ``buf`` (parsing.redact splices)

    @property
    def where(self) -> str:
        return f"part {self.path}" if self.path else "message"

    @property
    def body(self) -> bytes:
        """The body as sent (still transfer-encoded)."""
        return self.buf[self.start : self.end]

    def get(self, name: str) -> str | None:
        return _first(self.headers, name.lower())

    def get_all(self, name: str) -> list[str]:
        wanted = name.lower()
        return [value for key, value in self.headers if key.lower() == wanted]

    def payload(self) -> tuple[bytes, str | None]:
        """The body with its Content-Transfer-Encoding undone."""
        return decode_transfer(self.body, normalize_cte(self.get("Content-Transfer-Encoding")))


@dataclass(slots=True)
class Tree:
    root: Part
    parts: list[Part]  # every part in depth-first order, the message itself first
    defects: list[Defect]


def parse_tree(raw: bytes) -> Tree:
    """Split ``raw`` into parts, never more than MAX_PARTS and MAX_DEPTH levels."""
    tree = Tree(root=None, parts=[], defects=[])  # type: ignore[arg-type]
    if b"\r" in raw and b"\n" not in raw:  # classic Mac OS line ends: CR alone
        raw = raw.replace(b"\r", b"\n")
        tree.defects.append(Defect("message", "lines end in CR only; read as LF"))
    tree.root = _build(tree, raw, 0, len(raw), "", 0, "text/plain", "")
    return tree


def _build(
    tree: Tree, buf: bytes, start: int, end: int, path: str, depth: int, default: str, parent: str
) -> Part:
    where = f"part {path}" if path else "headers"
    headers, body_start, problems = parse_headers(buf, start, end, message=not path)
    if problems:
        tree.defects.extend(Defect(where, p) for p in problems)
    ctype, params, problem = parse_content_type(_first(headers, "content-type"), default)
    if problem:
        tree.defects.append(Defect(where, problem))
    part = Part(path, headers, buf, body_start, end, ctype, params, parent, head_start=start)
    tree.parts.append(part)
    if ctype.startswith("multipart/"):
        _split_children(tree, part, depth)
    elif ctype in ("message/rfc822", "message/global") and depth < MAX_DEPTH:
        payload, issue = part.payload()
        if issue:
            tree.defects.append(Defect(part.where, issue))
        inner_headers, inner_start, _ = parse_headers(payload, 0, len(payload))
        part.inner = Part(path + ".0", inner_headers, payload, inner_start, len(payload))
    return part


def _split_children(tree: Tree, part: Part, depth: int) -> None:
    boundary = part.params.get("boundary", "")
    if depth >= MAX_DEPTH:
        problem = f"multipart nested deeper than {MAX_DEPTH}; not split"
        tree.defects.append(Defect(part.where, problem))
        return
    if not boundary:
        tree.defects.append(Defect(part.where, "NoBoundaryInMultipartDefect: read as text/plain"))
        part.content_type = "text/plain"
        return
    spans, problems = split_multipart(part.buf, part.start, part.end, boundary.encode("utf-8"))
    tree.defects.extend(Defect(part.where, p) for p in problems)
    if spans is None:
        part.content_type = "text/plain"
        return
    child_default = "message/rfc822" if part.content_type == "multipart/digest" else "text/plain"
    for number, (s, e) in enumerate(spans, 1):
        if len(tree.parts) >= MAX_PARTS:
            tree.defects.append(Defect(part.where, f"more than {MAX_PARTS} parts; rest not read"))
            return
        path = f"{part.path}.{number}" if part.path else str(number)
        child = _build(tree, part.buf, s, e, path, depth + 1, child_default, part.content_type)
        part.children.append(child)


def split_multipart(
    buf: bytes, start: int, end: int, boundary: bytes
) -> tuple[list[tuple[int, int]] | None, list[str]]:
    """Spans of the body parts between ``--boundary`` lines (RFC 2046 5.1.1); None: no start."""
    delim = b"--" + boundary
    needle = b"\n" + delim
    problems: list[str] = []
    marks: list[tuple[int, int]] = []  # (delimiter start, next line start)
    closed = False
    misses = 0
    i = start if buf.startswith(delim, start, end) else _after_newline(buf.find(needle, start, end))
    while i >= 0:
        nxt, close = _delimiter_line(buf, i + len(delim), end)
        if nxt < 0:
            misses += 1
            if misses > MAX_DELIMITER_MISSES:
                problems.append("too many lines that look like boundaries; rest not read")
                break
            i = _after_newline(buf.find(needle, i, end))
            continue
        marks.append((i, nxt))
        if close:
            closed = True
            break
        if len(marks) > MAX_PARTS:
            break
        i = _after_newline(buf.find(needle, nxt - 1, end))
    if not marks:
        problems.append("StartBoundaryNotFoundDefect: read as text/plain")
        return None, problems
    if not closed:
        problems.append("CloseBoundaryNotFoundDefect")
    spans = []
    for (_, body_start), (next_delim, _) in itertools.pairwise(marks):
        # The line break before a delimiter belongs to the delimiter (RFC 2046 5.1.1).
        body_end = next_delim - 1
        if body_end > body_start and buf[body_end - 1] == 13:
            body_end -= 1
        spans.append((body_start, max(body_start, body_end)))
    if not closed and len(marks) <= MAX_PARTS:
        spans.append((marks[-1][1], end))
    return spans, problems


def _after_newline(found: int) -> int:
    return found + 1 if found >= 0 else -1


def _delimiter_line(buf: bytes, pos: int, end: int) -> tuple[int, bool]:
    """Where the line after a delimiter starts (-1: not a delimiter) and whether it closes."""
    close = buf.startswith(b"--", pos, end)
    if close:
        pos += 2
    eol = buf.find(b"\n", pos, min(end, pos + 256))
    line_end = eol if eol >= 0 else end
    if eol < 0 and end - pos > 256:
        return -1, False
    if buf[pos:line_end].strip(b" \t\r"):
        return -1, False  # "--boundaryX": a longer boundary or text, not ours
    return (eol + 1 if eol >= 0 else end), close


def _first(headers: list[tuple[str, str]], lower_name: str) -> str | None:
    size = len(lower_name)
    for key, value in headers:
        if len(key) == size and key.lower() == lower_name:  # most names differ in length
            return value
    return None


def parse_content_type(value: str | None, default: str) -> tuple[str, dict[str, str], str | None]:
    """(type/subtype, parameters, problem); invalid types read as text/plain (RFC 2045 5.2)."""
    if value is None:
        return default, {}, None
    # The common shape, ``type/subtype`` and at most one simple parameter, in one regex: the
    # bench mail's three parts 102k -> 29k instructions (callgrind).
    simple = _SIMPLE_CONTENT_TYPE.fullmatch(value)
    if simple is None or len(value) > _MAX_PARAMS_INPUT:
        return parse_content_type_general(value)
    ctype, name, quoted, token = simple.groups()
    if name is None:
        return ctype.lower(), {}, None
    return ctype.lower(), {name.lower(): token if quoted is None else quoted}, None


def parse_content_type_general(value: str) -> tuple[str, dict[str, str], str | None]:
    """``parse_content_type`` of any value."""
    main, _, rest = value.partition(";")
    ctype = main.strip().lower()
    params = parse_params(rest)
    if not _TOKEN_TYPE.fullmatch(ctype):
        problem = f"invalid Content-Type {main[:60].strip()!r}; read as text/plain"
        return "text/plain", params, problem
    return ctype, params, None


def parse_params(rest: str) -> dict[str, str]:
    """``; name=value`` parameters, lower-case names, RFC 2231 continuations and charsets undone."""
    if len(rest) <= _MAX_PARAMS_INPUT and _SIMPLE_PARAMS.fullmatch(";" + rest):
        # Without a quoted-pair or RFC 2231 there is nothing to undo (``charset="utf-8";
        # format=flowed``: 32k -> 17k instructions, callgrind).
        plain: dict[str, str] = {}
        for name, quoted, token in _SIMPLE_PARAM.findall(";" + rest):
            plain.setdefault(name.lower(), quoted or token)  # the first of a name counts
        return plain
    return parse_params_general(rest)


def parse_params_general(rest: str) -> dict[str, str]:
    """``parse_params`` of any list."""
    plain: dict[str, str] = {}
    segments: dict[str, list[tuple[int, bool, str]]] = {}
    for match in _PARAM.finditer(";" + rest[:_MAX_PARAMS_INPUT]):
        name, value = match.group(1).lower(), match.group(2).strip()
        if value.startswith('"'):
            value = _QUOTED_PAIR.sub(r"\1", value[1:].removesuffix('"'))
        if "*" not in name:
            plain.setdefault(name, value)
            continue
        base, _, tail = name.partition("*")
        extended = tail == "" or tail.endswith("*")
        digits = tail.rstrip("*")
        if digits and not (digits.isdigit() and len(digits) <= 4):
            continue
        segments.setdefault(base, []).append((int(digits or 0), extended, value))
    for base, parts in segments.items():
        plain[base] = _rfc2231_value(sorted(parts)[:100])
    return plain


def _rfc2231_value(parts: list[tuple[int, bool, str]]) -> str:
    """Join RFC 2231 section 3 continuations and decode section 4 ``charset'lang'%XX`` values."""
    charset = None
    data = bytearray()
    for index, (_, extended, value) in enumerate(parts):
        if extended:
            if index == 0 and value.count("'") >= 2:
                charset, _, value = value.split("'", 2)
            data += unquote_to_bytes(value)
        else:
            data += value.encode("utf-8")
    text, _ = decode_text(bytes(data), charset or None)
    return text
