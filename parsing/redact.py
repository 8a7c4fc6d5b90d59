"""Files cut out of a stored mail: raw bytes in, the same mail without its files' bytes out.

Place in the flow: beside ``parsing.parse``, called by the attachment purge
(``workflows.clock.purge``) on the raw MIME it keeps of inbound and outbound mail. Pure: bytes
in, a frozen dataclass out; nothing here knows where the bytes are stored.

What stays: every header of the message, and its text and HTML body parts, byte for byte (the
rest of the raw is spliced around, not re-generated, so nothing else is re-encoded). What goes:
each part ``parsing.bodies`` reads as a file — a named or ``attachment`` part, an image, a
forwarded message, a winmail.dat, a part nested too deep to be split — is replaced by a short
``text/plain`` part that names the file and says it was removed, and a uuencoded file inside a
text body (``begin 644 name``) is cut out of that text. Delivery reports (RFC 3464
``message/delivery-status``, returned headers) are text about the mail, not files: they stay.
The message gains an ``X-Ticketgate-Purged`` header. A mail with more parts than
``parsing.mime`` walks is kept as its headers and its plain text only, since unread parts may
hold files.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from urllib.parse import quote

from parsing.attachments import extract_uuencoded, filename, forwarded_name
from parsing.bodies import extract
from parsing.mime import Part, Tree, parse_params, parse_tree

PURGED_HEADER = "X-Ticketgate-Purged"
_KEPT_REPORTS = frozenset({"message/delivery-status", "message/global-delivery-status",
                           "text/rfc822-headers", "message/global-headers"})
_CONTENT_FIELD = re.compile(rb"(?im)^content-(?:type|transfer-encoding|disposition|id)[ \t]*:")
_PRINTABLE_NAME = re.compile(r"[ !#-\[\]-~]{1,200}")  # ASCII, no quote or backslash


@dataclass(frozen=True, slots=True)
class RemovedFile:
    filename: str | None
    content_type: str
    size: int  # bytes after the transfer encoding was undone


@dataclass(frozen=True, slots=True)
class Redacted:
    raw: bytes  # the mail without its files; ``raw`` unchanged when it had none
    removed: tuple[RemovedFile, ...]

    @property
    def changed(self) -> bool:
        return bool(self.removed)


def remove_files(raw: bytes, *, note: str) -> Redacted:
    """``raw`` with every file replaced by a placeholder part that says ``note`` (e.g.
    "removed on 2026-12-06: kept 30 days after the case closed"). Pure."""
    tree = parse_tree(raw)
    buf = tree.root.buf
    eol = b"\r\n" if b"\r\n" in buf[:4096] else b"\n"
    if any("parts; rest not read" in d.description for d in tree.defects):
        return _text_only(tree, buf, eol, note)
    edits: list[tuple[int, int, bytes]] = []  # (start, end, replacement) in ``buf``
    removed: list[RemovedFile] = []
    for part in tree.parts:
        if part.children:
            continue
        if _is_body_text(part):
            cut = _cut_uuencoded(part, eol, note)
            if cut is not None:
                edits.append((part.head_start, part.end, cut[0]))
                removed.extend(cut[1])
            continue
        if part.content_type in _KEPT_REPORTS:
            continue
        file = _describe(part)
        removed.append(file)
        placeholder = _placeholder(file, eol, note)
        if part is tree.root:  # a message that is one file: keep its other headers
            kept = _without_content_fields(buf[part.head_start:part.start], eol)
            edits.append((part.head_start, part.end, kept + placeholder))
        else:
            edits.append((part.head_start, part.end, placeholder))
    if not removed:
        return Redacted(raw, ())
    out = bytearray()
    pos = 0
    for start, end, replacement in sorted(edits):
        out += buf[pos:start] + replacement
        pos = end
    out += buf[pos:]
    return Redacted(_noted(bytes(out), eol, note, len(removed)), tuple(removed))


def _is_body_text(part: Part) -> bool:
    """The rule of ``parsing.bodies.extract``: inline, unnamed text/plain or text/html."""
    disposition, _, rest = (part.get("Content-Disposition") or "").partition(";")
    named = filename(part, parse_params(rest) if rest else {}) is not None
    return (part.content_type in ("text/plain", "text/html")
            and disposition.strip().lower() != "attachment" and not named)


def _describe(part: Part) -> RemovedFile:
    _, _, rest = (part.get("Content-Disposition") or "").partition(";")
    name = filename(part, parse_params(rest) if rest else {})
    if name is None and part.content_type in ("message/rfc822", "message/global"):
        name = forwarded_name(part)
    payload, _ = part.payload()
    return RemovedFile(name, part.content_type, len(payload))


def _cut_uuencoded(part: Part, eol: bytes, note: str) -> tuple[bytes, list[RemovedFile]] | None:
    """The text part again without its uuencoded files, or None when it has none."""
    data, _ = part.payload()
    kept, files, _ = extract_uuencoded(data)
    if not files:
        return None
    removed = [RemovedFile(name, "application/octet-stream", len(payload))
               for name, payload in files]
    lines = [f"[{f.filename or 'file'}: {note}]" for f in removed]
    body = kept.rstrip(b"\r\n") + eol * 2 + "\n".join(lines).encode("ascii", "replace") + eol
    charset = part.params.get("charset", "utf-8")
    if not _PRINTABLE_NAME.fullmatch(charset):
        charset = "utf-8"
    head = [f'Content-Type: {part.content_type}; charset="{charset}"',
            "Content-Transfer-Encoding: base64"]
    if part.head_start == 0 and part.path == "":  # the message itself: keep its headers
        prefix = _without_content_fields(part.buf[part.head_start:part.start], eol)
    else:
        prefix = b""
    return prefix + _part(head, base64.encodebytes(body), eol), removed


def _placeholder(file: RemovedFile, eol: bytes, note: str) -> bytes:
    label = file.filename or "unnamed file"
    text = (f"A file was here and has been removed ({note}).\n"
            f"Name: {label}\nType: {file.content_type}\nSize: {file.size} bytes\n")
    # Readable as stored when it is short ASCII lines (RFC 5322 2.1.1); base64 otherwise.
    plain = all(" " <= ch <= "~" for ch in text.replace("\n", "")) and all(
        len(line) < 900 for line in text.split("\n"))
    head = ['Content-Type: text/plain; charset="utf-8"',
            f"Content-Disposition: attachment; {_filename_param(label + '.purged.txt')}",
            f"Content-Transfer-Encoding: {'7bit' if plain else 'base64'}",
            f"{PURGED_HEADER}: {_ascii(note)}"]
    body = text.encode("ascii") if plain else base64.encodebytes(text.encode("utf-8"))
    return _part(head, body, eol)


def _part(head: list[str], body: bytes, eol: bytes) -> bytes:
    lines = eol.join(line.encode("ascii") for line in head)
    return lines + eol + eol + body.replace(b"\n", eol).rstrip(b"\r\n")


def _filename_param(name: str) -> str:
    """A quoted name when it is plain ASCII, else RFC 2231 UTF-8 (never a raw CR or LF)."""
    if _PRINTABLE_NAME.fullmatch(name):
        return f'filename="{name}"'
    return f"filename*=utf-8''{quote(name, safe='')}"


def _ascii(text: str) -> str:
    return "".join(ch if " " <= ch <= "~" else "?" for ch in text)[:200]


def _without_content_fields(header: bytes, eol: bytes) -> bytes:
    """The header block without its Content-* fields (folded lines included), ending before
    the empty line."""
    fields: list[bytes] = []
    for line in header.splitlines(keepends=True):
        if line.strip(b"\r\n") == b"":
            break
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1] += line
        else:
            fields.append(line)
    kept = b"".join(f for f in fields if not _CONTENT_FIELD.match(f))
    if kept and not kept.endswith(b"\n"):
        kept += eol
    return kept


def _noted(raw: bytes, eol: bytes, note: str, count: int) -> bytes:
    header = f"{PURGED_HEADER}: {count} file(s) {_ascii(note)}".encode("ascii") + eol
    if raw.startswith(b"From "):  # an mbox separator line stays first
        first = raw.find(b"\n") + 1
        return raw[:first] + header + raw[first:]
    return header + raw


def _text_only(tree: Tree, buf: bytes, eol: bytes, note: str) -> Redacted:
    """Headers and plain text only: for a mail too big to walk whole."""
    content = extract(tree)
    head = _without_content_fields(buf[:tree.root.start], eol)
    text = content.text + f"\n\n[Every file of this mail was removed ({note}).]\n"
    body = _part(['Content-Type: text/plain; charset="utf-8"',
                  "Content-Transfer-Encoding: base64"],
                 base64.encodebytes(text.encode("utf-8")), eol)
    removed = tuple(RemovedFile(a.filename, a.content_type, len(a.payload))
                    for a in content.attachments)
    return Redacted(_noted(head + body, eol, note, len(removed)), removed)
