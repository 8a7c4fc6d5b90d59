"""The server secret that signs Reference IDs.

Kept in a file under the data directory (mode 0600), never in the database, so a database dump
cannot be used to forge references.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path


class SecretMissing(RuntimeError):
    pass


def create_secret_if_missing(path: Path) -> bool:
    """Write a new 32-byte secret unless one exists. True when one was created."""
    try:  # a file in the way, no permission: the data directory is unusable (exit 3)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        if path.parent.is_dir():
            return False
        raise SecretMissing(f"cannot create the data directory {path.parent}: a file is there"
                            ) from None
    except OSError as exc:
        raise SecretMissing(f"cannot create the server secret at {path}: {exc.strerror}"
                            ) from None
    with os.fdopen(fd, "w") as fh:
        fh.write(secrets.token_hex(32) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    return True


def load_secret(path: Path) -> bytes:
    try:
        text = path.read_text().strip()
    except FileNotFoundError:
        raise SecretMissing(f"no server secret at {path}: run `ticketgate init`") from None
    except OSError as exc:  # the home is a file, or unreadable: the data directory is unusable
        raise SecretMissing(f"cannot read the server secret at {path}: {exc.strerror}"
                            ) from None
    if len(text) < 32:
        raise SecretMissing(f"the server secret at {path} is too short")
    return bytes.fromhex(text) if all(c in "0123456789abcdef" for c in text) else text.encode()
