"""Outbound transports: where queued mail goes once its transaction has committed.

Place in the flow: the edge ``workflows.outbox.send_queued`` hands each message to. Chosen by
configuration: ``file`` (the default: one ``.eml`` per message in ``$TICKETGATE_HOME/outbox``,
so a fresh machine needs no mail server) or ``smtp://host:port`` (``gateway.smtp_client``: one
pipelined connection per notice fan-out, one connection per case mail).
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

from gateway.smtp_client import SmtpTransport
from workflows.outbox import Transport, TransportError

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


class FileTransport:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def send(self, raw: bytes, sender: str, recipients: Sequence[str], message_id: str) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        name = _UNSAFE.sub("_", message_id)[:200] + ".eml"
        tmp = self.folder / f".{name}.tmp"
        try:
            with open(tmp, "wb") as fh:
                fh.write(raw)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.folder / name)  # atomic: readers never see half a mail
        except OSError as exc:
            raise TransportError(f"cannot write {name}: {exc}", temporary=True) from exc


def make_transport(spec: str, outbox_dir: Path) -> Transport:
    if spec == "file":
        return FileTransport(outbox_dir)
    parts = urlsplit(spec)
    if parts.scheme == "smtp" and parts.hostname:
        return SmtpTransport(parts.hostname, parts.port or 25)
    raise ValueError(f"unknown transport {spec!r}: use 'file' or 'smtp://host:port'")
