"""Outbound transports: where queued mail goes once its transaction has committed.

Place in the flow: the edge ``workflows.outbound.outbox.send_queued`` hands each message to. Chosen
by configuration: ``file`` (the default: one ``.eml`` per message in ``$TICKETGATE_HOME/outbox``,
so a fresh machine needs no mail server) or an SMTP relay (``gateway.smtp_client``: one
pipelined connection per notice fan-out, one connection per case mail):

- ``smtp://host[:25]``: clear text, for a local MTA;
- ``smtp+starttls://host[:587]``: STARTTLS before anything else (RFC 3207), e.g. Microsoft 365
  (``smtp.office365.com``) or Gmail (``smtp.gmail.com``);
- ``smtps://host[:465]``: TLS from the first byte (RFC 8314).

Credentials come from ``[relay]`` (``gateway.smtp_relay`` says what is refused and why).
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

from gateway.smtp_client import SmtpTransport
from gateway.smtp_relay import RelayPolicy, RelayTls, check_policy
from workflows.outbound.outbox import Transport, TransportError
from workflows.settings import RelayCredentials

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
SCHEMES = {"smtp": RelayTls.NONE, "smtps": RelayTls.IMPLICIT, "smtp+starttls": RelayTls.STARTTLS}


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


def make_transport(spec: str, outbox_dir: Path,
                   relay: RelayCredentials | None = None) -> Transport:
    """The transport ``spec`` names; ``ValueError`` (a sentence for the operator) otherwise."""
    if spec == "file":
        return FileTransport(outbox_dir)
    parts = urlsplit(spec)
    tls = SCHEMES.get(parts.scheme)
    if tls is None or not parts.hostname:
        raise ValueError(f"unknown transport {spec!r}: use 'file', 'smtp://host:port', "
                         "'smtp+starttls://host:587' or 'smtps://host:465'")
    if parts.username or parts.password:
        raise ValueError("put relay credentials in [relay] (or TICKETGATE_RELAY_USER/"
                         "_PASSWORD), not in the transport URL, which is logged and shown")
    creds = relay or RelayCredentials()
    policy = RelayPolicy(tls=tls, ca_file=creds.ca_file, user=creds.user,
                         password=creds.password,
                         oauth2_token_command=creds.oauth2_token_command)
    problem = check_policy(parts.hostname, policy)
    if problem:
        raise ValueError(problem)
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"transport {spec!r}: the port is not a number") from None
    return SmtpTransport(parts.hostname, port, relay=policy)
