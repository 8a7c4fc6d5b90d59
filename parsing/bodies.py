"""Parts -> the text body, the HTML body, the attachments and the pieces of a delivery report.

Place in the flow: ``parsing.parse`` gives the tree from ``parsing.mime`` to ``extract``; the
text it returns is what the trimmer, the reference-token search and the case update read.

Which parts are the body: inline text/plain and text/html parts without a filename (RFC 2183: a
named or ``attachment`` part is a file even when it is text). Several text/plain parts are joined
in order, because Apple Mail splits one body around inline images. Everything else, including
``message/delivery-status`` and attached messages, is an attachment.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from parsing import tnef
from parsing.attachments import (
    content_id,
    described_name,
    extract_uuencoded,
    filename,
    forwarded_name,
    guess_type,
)
from parsing.decode import decode_text, decodes_nul_free, unflow
from parsing.htmltext import html_to_text
from parsing.mime import Part, Tree, parse_params
from parsing.mimeheaders import parse_headers
from parsing.model import Attachment, Defect

MAX_TEXT_BYTES = 4 * 1024 * 1024  # bytes of one body part decoded to text

_TNEF_TYPES = frozenset({"application/ms-tnef", "application/vnd.ms-tnef"})
_MESSAGE_TYPES = frozenset({"message/rfc822", "message/global"})
_STATUS_TYPES = frozenset({"message/delivery-status", "message/global-delivery-status"})
_RETURNED_HEADER_TYPES = frozenset({"text/rfc822-headers", "message/global-headers"})


@dataclass(slots=True)
class Content:
    text: str = ""
    html: str | None = None
    text_from_html: bool = False
    attachments: list[Attachment] = field(default_factory=list)
    defects: list[Defect] = field(default_factory=list)
    delivery_status: list[str] = field(default_factory=list)  # RFC 3464 report bodies
    # Headers of attached messages and text/rfc822-headers parts: what a bounce returns.
    message_headers: list[list[tuple[str, str]]] = field(default_factory=list)


def extract(tree: Tree) -> Content:
    """Bodies and attachments of every leaf part, in order."""
    content = Content()
    plains: list[str] = []
    htmls: list[str] = []
    tnef_bodies: list[tnef.Unpacked] = []
    for part in tree.parts:
        if part.content_type.startswith("multipart/"):
            continue  # a container (or one too deep to split, already reported)
        disposition, _, rest = (part.get("Content-Disposition") or "").partition(";")
        disposition = disposition.strip().lower()
        params = parse_params(rest) if rest else {}
        name = filename(part, params)
        ctype = part.content_type
        if ctype in ("text/plain", "text/html") and disposition != "attachment" and name is None:
            text = _body_text(part, content)
            (plains if ctype == "text/plain" else htmls).append(text)
            continue
        payload, problem = part.payload()
        if problem:
            content.defects.append(Defect(part.where, problem))
        if ctype in _TNEF_TYPES or (name or "").lower() == "winmail.dat":
            unpacked, problem = tnef.unpack(payload)
            if unpacked is not None and not (
                unpacked.attachments or unpacked.body or unpacked.html
            ):
                unpacked, problem = None, "TNEF held no files and no body; kept as sent"
            if unpacked is not None:
                content.attachments.extend(unpacked.attachments)
                tnef_bodies.append(unpacked)
                continue
            content.defects.append(Defect("tnef", f"{name or 'winmail.dat'}: {problem}"))
        elif ctype in _MESSAGE_TYPES:
            name = name or forwarded_name(part)
            if part.inner is not None:
                content.message_headers.append(part.inner.headers)
        elif ctype in _STATUS_TYPES:
            content.delivery_status.append(decode_text(payload[:65536], "utf-8")[0])
        elif ctype in _RETURNED_HEADER_TYPES:
            content.message_headers.append(parse_headers(payload, 0, len(payload))[0])
        if name is None:  # no filename (RFC 2183 2.3): the sender's description of the part
            name = described_name(part)
        cid = content_id(part.get("Content-ID"))
        inline = disposition == "inline" or (
            not disposition and cid is not None and part.parent_type == "multipart/related"
        )
        content.attachments.append(Attachment(name, ctype, payload, inline, cid))
    content.text = "\n".join(t for t in plains if t)
    content.html = "\n".join(htmls) if htmls else None
    if tnef_bodies and not plains and not htmls:
        content.text = next((u.body for u in tnef_bodies if u.body), "")
        content.html = next((u.html for u in tnef_bodies if u.html), None)
    if not content.text and content.html:
        content.text = html_to_text(content.html)
        content.text_from_html = True
    return content


def _body_text(part: Part, content: Content) -> str:
    data, problem = part.payload()
    if problem:
        content.defects.append(Defect(part.where, problem))
    if len(data) > MAX_TEXT_BYTES:
        content.defects.append(Defect(part.where, "body longer than 4 MB; decoded the start"))
        data = data[:MAX_TEXT_BYTES]
    if part.content_type == "text/plain" and b"begin " in data:
        data, files, problems = extract_uuencoded(data)
        content.defects.extend(Defect(part.where, p) for p in problems)
        for name, payload in files:
            content.attachments.append(Attachment(name, guess_type(name), payload))
    charset = part.params.get("charset")
    text, problem = decode_text(data, charset)
    if problem:
        content.defects.append(Defect(part.where, problem))
    if not decodes_nul_free(data, charset) and "\x00" in text:
        text = text.replace("\x00", "")
        content.defects.append(Defect(part.where, "NUL characters removed from the body"))
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if part.content_type == "text/plain" and part.params.get("format", "").lower() == "flowed":
        text = unflow(text, delsp=part.params.get("delsp", "").lower() == "yes")
    return text
