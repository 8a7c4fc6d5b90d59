"""Files an analyst attaches to a case update: checked, named, typed, then stored.

Place in the flow: ``workflows.cases.service.post_update`` calls ``prepare`` before anything else
changes (limits, empty files, names, types; a refusal here leaves nothing queued and nothing
stored), hands the prepared files to ``workflows.outbound.compose`` (the MIME parts of the outbox
row, whose bytes every retry resends unchanged), and once that row exists calls ``store``: the
content-addressed blob (``workflows.storage.blobs``) and an ``attachments`` row linked to the case
and to the outbound message, as ``workflows.inbound.apply`` links a customer's file to its inbound
message.

The edges (CLI, console, API) build ``Upload``s; nothing here opens a client's file or trusts
what the client says a file is.
"""

from __future__ import annotations

import datetime as dt
import mimetypes
import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.errors import Refused
from workflows.outbound import headers as mailheaders
from workflows.settings import Settings
from workflows.storage.blobs import store_blob
from workflows.storage.models import Attachment

MAX_FILES = 20  # per update: a mail with more is better sent as an archive
MAX_NAME = 200  # characters of a filename kept (the extension survives the cut)
DEFAULT_TYPE = "application/octet-stream"  # RFC 2046 4.5.1: "arbitrary binary data"

# Only the defaults built into Python, never /etc/mime.types: the same name gets the same type
# on every machine. Plus what desks send that Python does not know.
_NAMES = mimetypes.MimeTypes()
for _ext, _type in ((".log", "text/plain"), (".md", "text/markdown"), (".7z",
                    "application/x-7z-compressed"), (".gz", "application/gzip")):
    _NAMES.add_type(_type, _ext)

# Formats whose first bytes say what they are; these win over the name ("report.png" that is a
# PDF goes out as a PDF).
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"\x1f\x8b", "application/gzip"),
)
# RFC 6838 4.2 restricted names; no parameters, so nothing can ride along into the header.
_MEDIA_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,62}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$")


@dataclass(frozen=True, slots=True)
class Upload:
    """A file as an edge received it. ``declared_type`` is what the client said it is: it may
    label the MIME part when the bytes and the name tell nothing, and decides nothing else."""

    filename: str
    data: bytes
    declared_type: str | None = None


@dataclass(frozen=True, slots=True)
class Limits:
    per_file: int
    total: int

    @classmethod
    def of(cls, settings: Settings) -> Limits:
        return cls(settings.post_file_max_bytes, settings.post_files_max_bytes)


@dataclass(frozen=True, slots=True)
class MailFile:
    """A checked file, ready to be a MIME part and a stored attachment."""

    filename: str  # no path, no control or format characters, at most MAX_NAME characters
    content_type: str  # ours: from the bytes, else from the name, else application/octet-stream
    header_type: str  # the part's Content-Type: ours, or a clean declared one when ours is
    # only the default
    data: bytes


@dataclass(frozen=True, slots=True)
class SentFile:
    """A file that went out with an update, as stored on the case."""

    id: int
    filename: str
    content_type: str
    size: int
    sha256: str


def _size(n: int) -> str:
    mib = 1024 * 1024
    if n < mib:
        return f"{n} bytes"
    return f"{n // mib} MB" if n % mib == 0 else f"{n / mib:.1f} MB"


def clean_filename(name: str, index: int) -> str:
    """The name the file goes out and is stored under. Never a path: blobs are named by hash.

    ``workflows.outbound.headers.filename``: RFC 2047 encoded-words decoded first (a name that
    decodes to CR/LF would split Content-Disposition), control and format characters (U+202E,
    which shows "exe.pdf" for "fdp.exe") become spaces; a path keeps only its last part."""
    name = mailheaders.filename(name)
    if len(name) > MAX_NAME:
        stem, dot, ext = name.rpartition(".")
        keep = f"{dot}{ext}" if stem and len(ext) <= 16 else ""
        name = name[:MAX_NAME - len(keep)].rstrip(" .") + keep
    return name or f"attachment-{index + 1}"


def content_type_of(filename: str, data: bytes) -> str:
    """What the file is, by its first bytes, else its name's extension, else binary."""
    for magic, media in _MAGIC:
        if data.startswith(magic):
            return media
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    guessed, encoding = _NAMES.guess_type(filename, strict=False)
    if guessed is None or encoding is not None:
        # "logs.tar.bz2" is compressed bytes, not a tar: say binary rather than something wrong.
        return DEFAULT_TYPE
    if guessed.startswith(("multipart/", "message/")):
        # A composite type cannot be sent base64-encoded (RFC 2045 6.4, RFC 2046 5.2.1), and
        # base64 is what keeps the bytes exact: an attached .eml goes out as binary.
        return DEFAULT_TYPE
    return guessed


def _header_type(ours: str, declared: str | None) -> str:
    if ours != DEFAULT_TYPE or not declared:
        return ours
    candidate = declared.split(";", 1)[0].strip().lower()
    if _MEDIA_TYPE.match(candidate) and not candidate.startswith(("multipart/", "message/")):
        return candidate
    return ours


def check_sizes(files: Sequence[tuple[str, int]], limits: Limits) -> None:
    """Refuse empty files, files over the per-file limit, and more than the total or
    ``MAX_FILES``. Edges call it with a file's size before reading it; ``prepare`` again."""
    if len(files) > MAX_FILES:
        raise Refused(f"{len(files)} files: an update may carry at most {MAX_FILES}")
    total = 0
    for name, size in files:
        if size == 0:
            raise Refused(f"{name} is empty: nothing to attach")
        if size > limits.per_file:
            raise Refused(f"{name} is {_size(size)}: a file may be at most "
                          f"{_size(limits.per_file)}")
        total += size
    if total > limits.total:
        raise Refused(f"the files come to {_size(total)}: an update may carry at most "
                      f"{_size(limits.total)} in all")


def prepare(uploads: Sequence[Upload], limits: Limits) -> tuple[MailFile, ...]:
    """Check and type every file, or refuse the lot (before anything is stored or queued)."""
    names = [clean_filename(u.filename, i) for i, u in enumerate(uploads)]
    check_sizes([(n, len(u.data)) for n, u in zip(names, uploads, strict=True)], limits)
    files = []
    for name, upload in zip(names, uploads, strict=True):
        ours = content_type_of(name, upload.data)
        files.append(MailFile(name, ours, _header_type(ours, upload.declared_type),
                              upload.data))
    return tuple(files)


def store(session: Session, settings: Settings, files: Sequence[MailFile], *, case_id: int,
          outbound_id: int, now: dt.datetime) -> list[Attachment]:
    """Write the blobs (idempotent, by hash) and add one row per file to the transaction.

    As for inbound files, the blob is written before the rows commit: a failed commit leaves an
    unreferenced blob, never a row without its bytes."""
    rows = []
    for f in files:
        digest = store_blob(settings.blob_dir, f.data)
        rows.append(Attachment(case_id=case_id, outbound_message_id=outbound_id, sha256=digest,
                               size=len(f.data), content_type=f.content_type,
                               filename=f.filename, inline=False, created_at=now))
    session.add_all(rows)
    session.flush()
    return rows


def files_of(session: Session, outbound_id: int) -> list[SentFile]:
    """The files an outbound mail carried, in the order they were attached."""
    return [SentFile(a.id, a.filename or "", a.content_type, a.size, a.sha256)
            for a in session.scalars(select(Attachment)
                                     .where(Attachment.outbound_message_id == outbound_id)
                                     .order_by(Attachment.id))]
