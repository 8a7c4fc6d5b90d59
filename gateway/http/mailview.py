"""How a stored mail is shown in the console: text, sanitized HTML, headers, attachments.

Place in the flow: reads the committed raw bytes (``parsing.parse``) or a case update, for the
triage and case pages. Pure functions: bytes in, frozen dataclasses and header values out.

Mail HTML is hostile input, and it is stored as it came (``case_updates.html``, the raw mail).
It is cleaned here, when shown, with nh3 (``sanitize_html``: no
script, no event handlers, no ``javascript:`` URLs, no ``style`` attributes) and then shown only
inside a sandboxed iframe (no ``allow-scripts``, no ``allow-same-origin``) from its own route, whose
CSP (``MAIL_FRAME_CSP``) forbids scripts and every remote load: two independent walls, so a gap in
either one alone runs nothing. Remote images stay off until the reader asks for them.
"""

from __future__ import annotations

import base64
import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import quote

import nh3

from gateway.http import shallow_html
from parsing import ParsedMail, parse

# The frame route's policy: nothing but inline styles and images carried in the mail itself
# (CSP Level 3). ``sandbox`` repeats the iframe attribute for anyone opening the URL directly.
MAIL_FRAME_CSP = ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
                  "frame-ancestors 'self'; base-uri 'none'; form-action 'none'; sandbox")
MAIL_FRAME_CSP_IMAGES = MAIL_FRAME_CSP.replace("img-src data:", "img-src data: https: http:")
# Types a browser shows as a picture and never runs: SVG is left out on purpose (it can carry
# script), and so is anything else.
INLINE_IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
MAX_INLINE_IMAGE = 2 * 1024 * 1024
_CID_SRC = re.compile(r'src="cid:([^"]{1,300})"', re.I)
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._ ()+-]")
# Built once: nh3.clean() builds its allow-list for every call (35 -> 26 us a bench mail's HTML).
_CLEANER = nh3.Cleaner(url_schemes={"http", "https", "mailto", "cid"})
MAX_HTML = 2_000_000


def sanitize_html(html: str | None) -> str | None:
    """Keep formatting, drop scripts, handlers, styles and remote resources (nh3 allow-list).

    The one cleaning of mail HTML on its way to a browser: ``frame_document`` calls it for
    every mail it frames (a triage item's, parsed from the raw mail; a case update's, as
    stored: ``workflows.inbound.apply.html_to_keep`` stores it uncleaned)."""
    if not html:
        return None
    html = html[:MAX_HTML]
    if shallow_html.needs_shallowing(html):  # html5ever's time grows with depth x tags
        html = shallow_html.shallow(html)
    return _CLEANER.clean(html)


@dataclass(frozen=True, slots=True)
class AttachmentInfo:
    index: int  # position in the parsed mail (triage) or the attachment row id (cases)
    filename: str  # safe to show and to send as a download name
    content_type: str
    size: int
    image: bool  # may be shown inline


@dataclass(frozen=True, slots=True)
class MailView:
    subject: str
    sender: str
    to: str
    date: str
    visible_reply: str
    text: str
    has_html: bool
    headers: tuple[tuple[str, str], ...]
    attachments: tuple[AttachmentInfo, ...]
    defects: tuple[str, ...]


def safe_filename(name: str | None, content_type: str, index: int) -> str:
    """A download name with no path, no control characters and no surprises (the sender's
    name is metadata only: blobs are stored by sha256)."""
    name = unicodedata.normalize("NFKC", name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip(" .")[:150]
    if not name:
        subtype = content_type.partition("/")[2].split(";")[0].strip() or "bin"
        name = f"attachment-{index}.{_UNSAFE_NAME.sub('', subtype)[:10] or 'bin'}"
    return name


def content_disposition(filename: str, *, inline: bool) -> str:
    """RFC 6266: an ASCII fallback name plus the exact one in RFC 8187 encoding."""
    ascii_name = _UNSAFE_NAME.sub("_", unicodedata.normalize("NFKD", filename)
                                  .encode("ascii", "ignore").decode()) or "attachment"
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


def is_inline_image(content_type: str) -> bool:
    return content_type.split(";")[0].strip().lower() in INLINE_IMAGE_TYPES


def attachments_of(mail: ParsedMail) -> tuple[AttachmentInfo, ...]:
    return tuple(
        AttachmentInfo(i, safe_filename(a.filename, a.content_type, i), a.content_type,
                       len(a.payload), is_inline_image(a.content_type))
        for i, a in enumerate(mail.attachments))


def mail_view(raw: bytes, key: bytes) -> tuple[MailView, ParsedMail]:
    mail = parse(raw, key=key)
    sender = ""
    if mail.from_ is not None:
        sender = f"{mail.from_.name} <{mail.from_.email}>" if mail.from_.name else \
            mail.from_.email
    view = MailView(
        subject=mail.subject, sender=sender,
        to=", ".join(a.email for a in mail.to), date=mail.header("Date") or "",
        visible_reply=mail.visible_reply, text=mail.text, has_html=bool(mail.html),
        headers=tuple((k, v[:2000]) for k, v in mail.headers[:200]),
        attachments=attachments_of(mail),
        defects=tuple(f"{d.where}: {d.description}" for d in mail.defects[:50]))
    return view, mail


def _inline_cid_images(html: str, mail: ParsedMail | None) -> str:
    """Point ``cid:`` images (RFC 2392) at ``data:`` copies of the mail's own inline images,
    so they show under a CSP that loads nothing from anywhere."""
    if mail is None:
        return html
    by_cid = {a.content_id.strip("<>"): a for a in mail.attachments
              if a.content_id and is_inline_image(a.content_type)
              and len(a.payload) <= MAX_INLINE_IMAGE}

    def swap(match: re.Match[str]) -> str:
        att = by_cid.get(match.group(1).strip("<>"))
        if att is None:
            return 'src=""'
        data = base64.b64encode(att.payload).decode()
        return f'src="data:{att.content_type.split(";")[0].strip()};base64,{data}"'

    return _CID_SRC.sub(swap, html)


def frame_document(html: str | None, *, mail: ParsedMail | None = None,
                   already_clean: bool = False) -> str:
    """The whole document the mail frame shows: sanitized body, a base stylesheet."""
    body = (html or "") if already_clean else (sanitize_html(html) or "")
    body = _inline_cid_images(body, mail)
    return ("<!doctype html><html><head><meta charset=\"utf-8\">"
            "<style>body{font:14px/1.4 sans-serif;margin:8px;overflow-wrap:anywhere}"
            "img{max-width:100%}</style></head><body>" + body + "</body></html>")
