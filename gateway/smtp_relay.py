"""Outbound relay security: TLS (implicit or STARTTLS) and AUTH for the SMTP transport.

Place in the flow: ``gateway.smtp_client._Connection._connect`` calls ``secure_session`` right
after the greeting and the first EHLO, before any MAIL FROM; ``gateway.transport`` turns the
``smtps://``, ``smtp+starttls://`` and ``smtp://`` specs into a ``RelayPolicy``.

What it promises: a relay named ``smtps://`` or ``smtp+starttls://`` never sees a command (let
alone a password) in clear text: no STARTTLS offered, a failed handshake or an unverified
certificate is a temporary ``TransportError`` for the message, which stays queued. The
certificate and host name are always checked (``ca_file`` trusts an internal CA instead of the
system store, as for IMAP). Credentials are refused over a clear-text ``smtp://`` connection to
anything but loopback, so a typo cannot send a Microsoft 365 password across the internet.
"""

from __future__ import annotations

import base64
import ssl
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from gateway.netaddr import is_loopback
from gateway.oauth2 import OAuth2TokenError, fetch_oauth2_token
from workflows.outbound.outbox import TransportError


class RelayTls(StrEnum):
    NONE = "none"  # smtp://: clear text (a local MTA on loopback or a private link)
    IMPLICIT = "implicit"  # smtps://: TLS from the first byte, port 465 (RFC 8314 3.3)
    STARTTLS = "starttls"  # smtp+starttls://: STARTTLS before anything else (RFC 3207)


DEFAULT_PORTS = {RelayTls.NONE: 25, RelayTls.IMPLICIT: 465, RelayTls.STARTTLS: 587}


@dataclass(frozen=True, slots=True)
class RelayPolicy:
    """How to reach the relay: TLS mode, trust and credentials (all optional but the mode)."""

    tls: RelayTls = RelayTls.NONE
    ca_file: Path | None = None
    user: str | None = None
    password: str | None = None
    oauth2_token_command: str | None = None  # prints an access token (XOAUTH2)
    timeout: float = 30.0


class _Session(Protocol):
    host: str
    port: int

    def command(self, line: str) -> tuple[int, str]: ...

    def ehlo(self) -> set[str] | None: ...  # None: the server refused EHLO

    def wrap(self, context: ssl.SSLContext) -> None: ...


def tls_context(policy: RelayPolicy) -> ssl.SSLContext:
    """Certificate and host name always verified; ``ca_file`` replaces the system store."""
    if policy.ca_file is None:
        return ssl.create_default_context()
    try:
        context = ssl.create_default_context(cafile=str(policy.ca_file))
    except (OSError, ssl.SSLError) as exc:
        raise TransportError(f"relay ca_file {policy.ca_file} cannot be used: {exc}",
                             temporary=True) from None
    context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
    return context


def check_policy(host: str, policy: RelayPolicy) -> str | None:
    """Why this relay configuration is refused at start, or None."""
    if policy.user is None and (policy.password or policy.oauth2_token_command):
        return "relay credentials need a user"
    if policy.user is not None and not (policy.password or policy.oauth2_token_command):
        return f"relay user {policy.user}: a password or an oauth2_token_command is required"
    if policy.user is not None and policy.tls is RelayTls.NONE and not is_loopback(host):
        return (f"relay {host}: credentials would cross the network in clear text; use "
                "smtps:// or smtp+starttls://")
    return None


def secure_session(session: _Session, features: set[str], policy: RelayPolicy) -> set[str]:
    """STARTTLS when the policy says so, then AUTH when credentials are set.

    ``features`` are the EHLO lines after the greeting line, upper-cased. Returns the lines
    that hold afterwards (RFC 3207 4.2: the client must discard what
    it learnt before TLS and ask again).
    """
    if policy.tls is RelayTls.STARTTLS:
        if "STARTTLS" not in {line.split()[0] for line in features if line.split()}:
            raise TransportError(f"{session.host}:{session.port} does not offer STARTTLS; "
                                 "nothing sent", temporary=True)
        code, text = session.command("STARTTLS")
        if code != 220:
            raise TransportError(f"STARTTLS: {code} {text}", temporary=True)
        session.wrap(tls_context(policy))
        after_tls = session.ehlo()
        if after_tls is None:
            # A relay that refuses EHLO inside TLS cannot tell us what it offers there
            # (RFC 3207 4.2): its answer for now, and the message stays queued.
            raise TransportError(f"{session.host}:{session.port} refused EHLO after STARTTLS; "
                                 "nothing sent", temporary=True)
        features = after_tls
    if policy.user is not None:
        _authenticate(session, features, policy)
    return features


def _authenticate(session: _Session, features: set[str], policy: RelayPolicy) -> None:
    assert policy.user is not None
    offered = features_auth(features)
    if policy.oauth2_token_command:
        try:
            token = fetch_oauth2_token(policy.oauth2_token_command, timeout=policy.timeout)
        except OAuth2TokenError as exc:
            raise TransportError(f"relay token command: {exc}", temporary=True) from None
        # XOAUTH2 (Google's and Microsoft's SASL profile): user and bearer token, base64.
        blob = f"user={policy.user}\x01auth=Bearer {token}\x01\x01".encode()
        _expect_235(session, f"AUTH XOAUTH2 {base64.b64encode(blob).decode()}")
        return
    password = policy.password or ""
    if "PLAIN" in offered or not offered:
        # RFC 4616: authzid NUL authcid NUL passwd, in one initial response (RFC 4954 4).
        blob = f"\0{policy.user}\0{password}".encode()
        _expect_235(session, f"AUTH PLAIN {base64.b64encode(blob).decode()}")
        return
    if "LOGIN" in offered:
        code, text = session.command("AUTH LOGIN")
        for value in (policy.user, password):
            if code != 334:
                raise _auth_error(code, text)
            code, text = session.command(base64.b64encode(value.encode()).decode())
        if code != 235:
            raise _auth_error(code, text)
        return
    raise TransportError(f"relay offers none of PLAIN, LOGIN (offers {sorted(offered)})",
                         temporary=False)


def features_auth(features: set[str]) -> set[str]:
    """The SASL mechanisms of the EHLO ``AUTH`` line (features hold whole lines, upper-cased)."""
    for line in features:
        words = line.split()
        if words and words[0] == "AUTH":
            return set(words[1:])
    return set()


def _expect_235(session: _Session, line: str) -> None:
    code, text = session.command(line)
    if code == 334:  # a challenge we did not expect (XOAUTH2 error detail): end the exchange
        code, text = session.command("")
    if code != 235:
        raise _auth_error(code, text)


def _auth_error(code: int, text: str) -> TransportError:
    # RFC 4954 6: 454 is temporary; 535 (bad credentials) and 534 are the operator's to fix,
    # but the mail itself is fine: keep it queued (temporary) so fixing the password sends it.
    return TransportError(f"relay AUTH refused: {code} {text}", temporary=True)
