"""Opening an IMAP session for one configured account, and the small pure helpers around it.

Place in the flow: the first step of every IMAP poller connection (``gateway.imap.poller``):
connect (implicit TLS, STARTTLS or plain, as the account's ``tls`` says), log in with a password
or an OAuth2 access token (XOAUTH2, for Microsoft 365 and Gmail), and read the capabilities that
decide how a committed message leaves the folder (``Disposal``).

TLS is all or nothing: when an account asks for it, a server that offers no STARTTLS, a failed
handshake or a certificate that does not verify (chain or host name) ends the attempt before
any credential is sent (``ImapTlsError``); the poller logs it and retries that account after its
backoff, like any other connection failure.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Iterable
from enum import StrEnum
from urllib.parse import quote

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

from gateway.oauth2 import fetch_oauth2_token
from workflows.settings import IMAP_PORT, ImapAccount, ImapTls

log = logging.getLogger(__name__)

LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})
X509_V_ERR_HOSTNAME_MISMATCH = 62  # OpenSSL's verify code when the name check fails


class ImapTlsError(OSError):
    """TLS was asked for and could not be had; nothing was sent that needed protecting.

    An ``OSError`` like the socket errors it usually wraps, so the poller treats it as an
    expected connection failure: one log line, backoff, retry; the other accounts go on.
    """


class Disposal(StrEnum):
    """How a committed message leaves the polled folder, from the server's capabilities."""

    MOVE = "move"  # RFC 6851 UID MOVE: atomic, one command per batch
    COPY_EXPUNGE = "copy-expunge"  # UID COPY + \Deleted + UID EXPUNGE (RFC 4315 UIDPLUS)
    # Without UIDPLUS the only EXPUNGE removes every \Deleted message, also those a person
    # flagged for their own reasons: copy and flag, and leave the expunge to the mailbox owner.
    COPY_DELETE = "copy-delete"
    FLAG = "flag"  # no processed folder configured: mark \Seen and leave the message in place


def choose_disposal(capabilities: Iterable[bytes], processed_folder: str) -> Disposal:
    """The best way to set a committed message aside that this server offers."""
    if not processed_folder:
        return Disposal.FLAG
    caps = {c.upper() for c in capabilities}
    if b"MOVE" in caps:
        return Disposal.MOVE
    if b"UIDPLUS" in caps:
        return Disposal.COPY_EXPUNGE
    return Disposal.COPY_DELETE


def uid_set(uids: Iterable[int]) -> str:
    """An IMAP sequence set of UIDs with runs collapsed (``1:100,105``; RFC 3501 9 sequence-set).

    A batch moved as ranges is one short command instead of one command per message (the
    recipes measured UID MOVE one at a time at about 210 msg/s).
    """
    ordered = sorted(set(uids))
    if not ordered:
        raise ValueError("empty UID set")
    parts: list[str] = []
    start = prev = ordered[0]
    for uid in ordered[1:]:
        if uid == prev + 1:
            prev = uid
            continue
        parts.append(str(start) if start == prev else f"{start}:{prev}")
        start = prev = uid
    parts.append(str(start) if start == prev else f"{start}:{prev}")
    return ",".join(parts)


def message_url(account: ImapAccount, folder: str, uidvalidity: int, uid: int) -> str:
    """The RFC 5092 IMAP URL of one message, kept as the inbound row's ``source``."""
    # RFC 5092 3.2: the port is named unless it is IMAP's own.
    host = account.host if account.port == IMAP_PORT else f"{account.host}:{account.port}"
    return (f"imap://{quote(account.user, safe='')}@{host}/{quote(folder, safe='')}"
            f";UIDVALIDITY={uidvalidity}/;UID={uid}")


def tls_context(account: ImapAccount) -> ssl.SSLContext:
    """The client context for ``account``: certificate and host name always verified.

    ``ca_file`` replaces the system store rather than adding to it (like curl's ``--cacert``):
    a desk that names its internal CA trusts that CA for this server, not also every public
    one. Partial chains are accepted from it so the file may hold the server's own (e.g.
    self-signed) certificate or an intermediate, as Python 3.13 does by default; the host name
    must still match. There is deliberately no way to switch verification off.
    """
    if account.ca_file is None:
        return ssl.create_default_context()
    try:
        context = ssl.create_default_context(cafile=str(account.ca_file))
    except (OSError, ssl.SSLError) as exc:
        raise ImapTlsError(f"ca_file {account.ca_file} cannot be used: {exc}") from None
    context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
    return context


def _tls_failure(account: ImapAccount, exc: BaseException) -> ImapTlsError:
    """One clear line: which server, which TLS mode, what failed, and what usually fixes it."""
    what = getattr(exc, "verify_message", None) or getattr(exc, "reason", None) or str(exc)
    hint = ""
    if isinstance(exc, ssl.SSLCertVerificationError):
        if exc.verify_code == X509_V_ERR_HOSTNAME_MISMATCH:
            hint = f"; the certificate does not name {account.host}: use a host name it carries"
        elif account.ca_file is None:
            hint = "; trust the server's CA (or its self-signed certificate) with ca_file"
        else:
            hint = f"; not trusted by ca_file {account.ca_file}"
    return ImapTlsError(f"{account.tls.value} TLS to {account.host}:{account.port} failed "
                        f"({type(exc).__name__}: {what}){hint}; not logged in")


def _open(account: ImapAccount, context: ssl.SSLContext | None) -> IMAPClient:
    """Connected, and under TLS when asked for; not logged in yet."""
    if account.tls is ImapTls.IMPLICIT:
        # RFC 8314 3.3 (implicit TLS preferred): the handshake happens in the constructor,
        # before the greeting is read; on failure the socket is already closed.
        try:
            return IMAPClient(account.host, port=account.port, ssl=True, ssl_context=context,
                              timeout=account.timeout)
        except ssl.SSLError as exc:
            raise _tls_failure(account, exc) from exc
    client = IMAPClient(account.host, port=account.port, ssl=False, timeout=account.timeout)
    if account.tls is ImapTls.NONE:
        return client
    try:
        # RFC 3501 6.2.1: STARTTLS only when the server announces it. A server (or a
        # man in the middle stripping it) that does not is refused: falling back to a clear
        # login would hand the password to whoever removed it. imapclient reads CAPABILITY
        # again after the handshake, as the RFC requires.
        if not client.has_capability("STARTTLS"):
            raise ImapTlsError(f"starttls asked for, but {account.host}:{account.port} does not "
                               "offer STARTTLS (RFC 3501 6.2.1); not logged in")
        client.starttls(context)
    except (ssl.SSLError, IMAPClientError) as exc:
        _drop(client)
        raise _tls_failure(account, exc) from exc
    except BaseException:
        _drop(client)
        raise
    return client


def connect(account: ImapAccount) -> IMAPClient:
    """A logged-in client for ``account``, with its socket timeout; raises when it cannot.

    Credentials are sent only after TLS is in place when the account asks for it; an
    ``ImapTlsError`` means the server was never sent the user's password or token.
    """
    context = None if account.tls is ImapTls.NONE else tls_context(account)
    if account.tls is ImapTls.NONE and account.host not in LOOPBACK:
        log.warning("imap %s: tls = none: the password crosses the network to %s in clear text",
                    account.name, account.host)
    client = _open(account, context)
    try:
        if account.oauth2_token_command:
            token = fetch_oauth2_token(account.oauth2_token_command, timeout=account.timeout)
            client.oauth2_login(account.user, token)
        else:
            client.login(account.user, account.password or "")
    except BaseException:
        close_quietly(client)
        raise
    return client


def _drop(client: IMAPClient) -> None:
    """Close the socket without a word: after a failed handshake the stream is unusable."""
    try:
        client.shutdown()
    except (IMAPClientError, OSError) as exc:
        log.debug("closing an IMAP connection to %s: %s", client.host, exc)


def close_quietly(client: IMAPClient) -> None:
    """Log out, or at least close the socket: the connection may already be dead."""
    try:
        client.logout()
    except (IMAPClientError, OSError):
        try:
            client.shutdown()
        except (IMAPClientError, OSError) as exc:
            log.debug("closing an IMAP connection to %s: %s", client.host, exc)


def ensure_folder(client: IMAPClient, folder: str) -> None:
    """Create ``folder`` unless it exists (another poller may create it at the same moment)."""
    if client.folder_exists(folder):
        return
    try:
        client.create_folder(folder)
    except IMAPClientError:
        if not client.folder_exists(folder):
            raise
    log.info("created IMAP folder %s on %s", folder, client.host)
