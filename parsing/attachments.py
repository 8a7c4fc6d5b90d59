"""Attachment details: filenames, types, forwarded messages, uuencoded blocks in text.

Place in the flow: ``parsing.bodies`` decides which parts are attachments and uses these helpers
to describe them; ``parsing.tnef`` uses ``guess_type`` for the files it unpacks. Filenames are
the sender's words, kept as metadata only (never a path on disk).
"""

from __future__ import annotations

import re

from parsing.decode import decode_uu, decode_words
from parsing.mime import Part

MAX_UU_BLOCKS = 20

# A fixed table instead of ``mimetypes``: mimetypes reads /etc/mime.types on first use, and the
# parser does no I/O. Only the types people attach to support mail.
_TYPES = {
    "pdf": "application/pdf",
    "doc": "application/msword",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xls": "application/vnd.ms-excel",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "ppt": "application/vnd.ms-powerpoint",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "rtf": "application/rtf",
    "zip": "application/zip",
    "gz": "application/gzip",
    "7z": "application/x-7z-compressed",
    "txt": "text/plain",
    "log": "text/plain",
    "csv": "text/csv",
    "htm": "text/html",
    "html": "text/html",
    "xml": "application/xml",
    "json": "application/json",
    "ics": "text/calendar",
    "vcf": "text/vcard",
    "eml": "message/rfc822",
    "msg": "application/vnd.ms-outlook",
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "gif": "image/gif",
    "bmp": "image/bmp",
    "tif": "image/tiff",
    "tiff": "image/tiff",
    "svg": "image/svg+xml",
    "webp": "image/webp",
    "mp3": "audio/mpeg",
    "wav": "audio/wav",
    "mp4": "video/mp4",
}
# The extension a described part gets (``described_name``): the types above, and the parts of
# a report (RFC 3462 2: the status, the returned header or message) read as text or as mail.
_EXTENSIONS = {
    **{ctype: ext for ext, ctype in reversed(_TYPES.items())},
    "text/html": "html",
    "message/global": "eml",
    "message/delivery-status": "txt",
    "message/global-delivery-status": "txt",
    "message/disposition-notification": "txt",
    "message/feedback-report": "txt",
    "text/rfc822-headers": "txt",
    "message/global-headers": "txt",
}
_UU_BEGIN = re.compile(rb"^begin [0-7]{3,4} ([^\r\n]{1,255})\r?$", re.M)
_UU_END = re.compile(rb"^end\r?$", re.M)
_UNSAFE_NAME = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]+')  # not allowed in Windows names


def guess_type(filename: str | None) -> str:
    """A content type from the file extension, application/octet-stream when unknown."""
    if not filename or "." not in filename:
        return "application/octet-stream"
    return _TYPES.get(filename.rpartition(".")[2].lower(), "application/octet-stream")


def filename(part: Part, disposition_params: dict[str, str]) -> str | None:
    """The part's filename: Content-Disposition ``filename``, else Content-Type ``name``.

    RFC 2231 continuations and charsets are already undone by ``parsing.mime.parse_params``;
    RFC 2047 encoded-words inside a quoted name are not standard (RFC 2047 5) but Outlook and
    old Thunderbird write them, so they are decoded too.
    """
    name = disposition_params.get("filename") or part.params.get("name")
    if not name:
        return None
    decoded, _ = decode_words(name)
    decoded = decoded.replace("\x00", "").strip()
    return decoded or None


def forwarded_name(part: Part) -> str:
    """A filename for an attached message: its subject plus ``.eml``, else its
    Content-Description plus ``.eml``, else forwarded.eml.

    The subject goes first: it tells which mail came back or was forwarded, where the
    descriptions senders write on such parts are generic (Postfix's "Undelivered Message",
    Mutt's "forwarded message")."""
    subject = part.inner.get("Subject") if part.inner is not None else None
    if subject:
        cleaned = _clean_name(subject)
        if cleaned:
            return cleaned + ".eml"
    return described_name(part) or "forwarded.eml"


def described_name(part: Part) -> str | None:
    """A display name for a part that has no filename, from its Content-Description (RFC 2045
    8: the sender's words about the part; RFC 2047 5 allows encoded-words in it), with the
    extension of its type added: a report's "Delivery report" part becomes
    ``Delivery report.txt``. None without a description."""
    description = part.get("Content-Description")
    cleaned = _clean_name(description) if description else ""
    if not cleaned:
        return None
    extension = _EXTENSIONS.get(part.content_type) or (
        "txt" if part.content_type.startswith("text/") else None)
    if extension and not cleaned.lower().endswith("." + extension):
        cleaned += "." + extension
    return cleaned


def _clean_name(value: str) -> str:
    """Encoded-words decoded, whitespace collapsed, characters a file name cannot hold replaced,
    at most 150 characters, no leading or trailing dot or space."""
    decoded, _ = decode_words(value[:1000])
    return _UNSAFE_NAME.sub("_", " ".join(decoded.split()))[:150].strip(" .")


def content_id(value: str | None) -> str | None:
    if not value:
        return None
    return value.strip().strip("<>").strip() or None


def extract_uuencoded(data: bytes) -> tuple[bytes, list[tuple[str, bytes]], list[str]]:
    """Lotus Notes-style ``begin 644 name`` ... ``end`` blocks cut out of a text body."""
    if b"begin " not in data:
        return data, [], []
    files: list[tuple[str, bytes]] = []
    problems: list[str] = []
    kept = bytearray()
    pos = 0
    while len(files) < MAX_UU_BLOCKS:
        begin = _UU_BEGIN.search(data, pos)
        if begin is None:
            break
        end = _UU_END.search(data, begin.end())
        stop = end.end() if end else len(data)
        payload, problem = decode_uu(data[begin.start() : stop])
        if problem:
            problems.append(problem)
        name = begin.group(1).decode("utf-8", "replace").strip()
        files.append((name, payload))
        kept += data[pos : begin.start()]
        pos = stop
    kept += data[pos:]
    return bytes(kept), files, problems
