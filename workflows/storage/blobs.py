"""Content-addressed attachment storage under ``$TICKETGATE_HOME/blobs``.

Place in the flow: ``workflows.inbound.apply`` writes an attachment's bytes here before the
transaction that records its metadata commits. A blob is named by its sha256, never by the sender's
filename, so no name can escape the folder or overwrite another file; writing the same content
twice is a no-op, so a retried message leaves no second copy.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def blob_path(root: Path, sha256: str) -> Path:
    return root / sha256[:2] / sha256[2:4] / sha256


def store_blob(root: Path, data: bytes) -> str:
    """Write ``data`` (if not already there) and return its sha256."""
    digest = hashlib.sha256(data).hexdigest()
    path = blob_path(root, digest)
    if path.exists():
        return digest
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{digest}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)  # atomic: a reader never sees half a blob
    return digest


def read_blob(root: Path, sha256: str) -> bytes:
    return blob_path(root, sha256).read_bytes()
