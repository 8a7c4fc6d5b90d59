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
    """A filename for an attached message: its subject plus ``.eml``, or forwarded.eml."""
    subject = part.inner.get("Subject") if part.inner is not None else None
    if subject:
        decoded, _ = decode_words(subject)
        cleaned = _UNSAFE_NAME.sub("_", " ".join(decoded.split()))[:150].strip(" .")
        if cleaned:
            return cleaned + ".eml"
    return "forwarded.eml"


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
