"""The outbound SMTP client: one connection for many messages, commands pipelined.

Place in the flow: the ``smtp://host:port`` transport (``gateway.transport.make_transport``).
Case mail from ``workflows.outbound.outbox.send_queued`` goes through ``send``; notice fan-out
(``workflows.notices.delivery``) opens a ``session()`` and hands it runs of messages through
``send_many``. It knows nothing of the domain beyond the ``Transport`` contract.

Why not ``smtplib``: a fan-out of thousands of one-recipient messages is bound by round trips.
smtplib waits for each reply (MAIL, RCPT, DATA, end of data: four round trips a message); with
PIPELINING (RFC 2920) MAIL, RCPT and DATA go in one write, and ``send_many`` also puts one
message's content and end-of-data in the same write as the next message's commands (RFC 2920
3.1 allows it; Postfix's client does the same), so a message costs one round trip. The other
reason is knowing *where* a failure happened: a connection lost before the final "." means the
server took nothing (safe to retry), one lost after it means it may have taken the message
(RFC 5321 6.1), which ``UncertainDelivery`` reports so the delivery is never sent twice.
"""

from __future__ import annotations

import io
import re
import socket
import ssl
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import NamedTuple

from gateway.smtp_relay import DEFAULT_PORTS, RelayPolicy, RelayTls, secure_session, tls_context
from workflows.outbound.outbox import TransportError, UncertainDelivery

_EOL = re.compile(rb"\r\n|\r|\n")
_LEADING_DOT = re.compile(rb"(?m)^\.")


class Reply(NamedTuple):
    code: int
    text: str


Item = tuple[bytes, str, Sequence[str]]  # raw, envelope sender, recipients


class _Lost(Exception):
    """The connection broke inside a pipelined run: where to resume, and the message whose
    end of DATA went out without a reply (maybe taken)."""

    def __init__(self, resume: int, uncertain: int | None, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.resume, self.uncertain = resume, uncertain


def _error(step: str, reply: Reply) -> TransportError:
    return TransportError(f"{step}: {reply.code} {reply.text}",
                          temporary=400 <= reply.code < 500)


def _data(raw: bytes) -> bytes:
    """CRLF line ends, dot-stuffed (RFC 5321 4.5.2), with the end-of-data line."""
    data = raw
    # The regexes only when needed: byte counts and searches run in C, the subs do not.
    if data.count(b"\n") != data.count(b"\r\n") or data.count(b"\r") != data.count(b"\r\n"):
        data = _EOL.sub(b"\r\n", data)
    if data.startswith(b".") or b"\n." in data:
        data = _LEADING_DOT.sub(b"..", data)
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return data + b".\r\n"


class _Connection:
    """One SMTP session; reconnects (once per message) when the server dropped it idle."""

    def __init__(self, host: str, port: int, timeout: float, helo: str,
                 relay: RelayPolicy | None = None) -> None:
        self.host, self.port, self.timeout, self.helo = host, port, timeout, helo
        self.relay = relay or RelayPolicy()
        self._sock: socket.socket | None = None
        self._file: io.BufferedReader | None = None
        self.pipelining = self.smtputf8 = False
        self.messages = 0  # sent on this connection

    def _connect(self) -> None:
        self._sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        if self.relay.tls is RelayTls.IMPLICIT:
            self.wrap(tls_context(self.relay))
        self._file = self._sock.makefile("rb")
        self.messages = 0
        greeting = self._reply()
        if greeting.code != 220:
            raise _error("greeting", greeting)
        lines = self.ehlo()
        if lines is None:
            if self.relay.tls is not RelayTls.NONE or self.relay.user is not None:
                raise TransportError(f"{self.host}:{self.port} does not speak ESMTP; "
                                     "TLS and AUTH need it", temporary=True)
            helo = self._command(f"HELO {self.helo}")
            if helo.code != 250:
                raise _error("HELO", helo)
            return
        lines = secure_session(self, lines, self.relay)
        features = {line.split()[0] for line in lines if line.split()}
        self.pipelining = "PIPELINING" in features
        self.smtputf8 = "SMTPUTF8" in features

    def _open(self) -> None:
        """Connect; a refusal while connecting (TLS, AUTH, greeting) leaves no half session."""
        try:
            self._connect()
        except TransportError:
            self.close()
            raise

    def ehlo(self) -> set[str] | None:
        """The EHLO extension lines (upper-cased), or None when the server refuses EHLO."""
        reply = self._command(f"EHLO {self.helo}")
        if reply.code != 250:
            return None
        return {line.upper() for line in reply.text.splitlines()[1:] if line}

    def command(self, line: str) -> tuple[int, str]:
        reply = self._command(line)
        return reply.code, reply.text

    def wrap(self, context: ssl.SSLContext) -> None:
        """TLS on the open socket (implicit TLS, or after a 220 to STARTTLS)."""
        assert self._sock is not None
        try:
            self._sock = context.wrap_socket(self._sock, server_hostname=self.host)
        except (ssl.SSLError, OSError) as exc:
            self._sock.close()
            self._sock = self._file = None
            what = getattr(exc, "verify_message", None) or str(exc)
            raise TransportError(f"TLS to {self.host}:{self.port} failed ({what}); nothing "
                                 "sent", temporary=True) from None
        if self._file is not None:
            self._file = self._sock.makefile("rb")

    def _reply(self) -> Reply:
        assert self._file is not None
        lines = []
        while True:
            line = self._file.readline(8192)
            if not line:
                raise ConnectionError("the server closed the connection")
            text = line.decode("utf-8", "replace").rstrip("\r\n")
            lines.append(text[4:])
            if len(text) < 4 or text[3] != "-":
                try:
                    return Reply(int(text[:3]), "\n".join(lines))
                except ValueError:
                    raise ConnectionError(f"not an SMTP reply: {text[:80]!r}") from None

    def _write(self, data: bytes) -> None:
        assert self._sock is not None
        self._sock.sendall(data)

    def _command(self, line: str) -> Reply:
        self._write(line.encode("utf-8") + b"\r\n")
        return self._reply()

    def send(self, raw: bytes, sender: str, recipients: Sequence[str], message_id: str) -> None:
        for attempt in (1, 2):
            reused = self._sock is not None and self.messages > 0
            try:
                if self._sock is None:
                    self._open()
                self._transaction(raw, sender, recipients)
                self.messages += 1
                return
            except UncertainDelivery:
                self.close()
                raise
            except (OSError, ConnectionError) as exc:
                self.close()
                # Nothing was taken: a connection the server dropped while idle is retried once
                # on a fresh one; a fresh one failing is the server's answer.
                if attempt == 1 and reused:
                    continue
                raise TransportError(f"{self.host}:{self.port}: {exc}", temporary=True
                                     ) from exc
            except TransportError:
                self._reset()
                raise

    def _commands(self, sender: str, recipients: Sequence[str]) -> list[str]:
        utf8 = " SMTPUTF8" if self.smtputf8 and not (sender + "".join(recipients)).isascii() \
            else ""
        return [f"MAIL FROM:<{sender}>{utf8}", *(f"RCPT TO:<{r}>" for r in recipients), "DATA"]

    def send_many(self, items: Sequence[Item]) -> list[TransportError | None]:
        """Send each item, pipelined across messages; one result per item (None: taken)."""
        results: list[TransportError | None] = [None] * len(items)
        start, reconnects = 0, 0
        while start < len(items):
            try:
                if self._sock is None:
                    self._open()
            except (OSError, ConnectionError, TransportError) as exc:
                self.close()
                error = exc if isinstance(exc, TransportError) else TransportError(
                    f"{self.host}:{self.port}: {exc}", temporary=True)
                results[start:] = [error] * (len(items) - start)
                break
            if not self.pipelining:
                for i in range(start, len(items)):
                    try:
                        self.send(items[i][0], items[i][1], items[i][2], "")
                    except TransportError as exc:
                        results[i] = exc
                break
            try:
                self._pipeline(items, start, results)
                break
            except _Lost as lost:
                self.close()
                if lost.uncertain is not None:
                    results[lost.uncertain] = UncertainDelivery(
                        f"{self.host}:{self.port}: no reply after the end of DATA ({lost}): "
                        "the message may have been taken")
                reconnects += 1
                if reconnects > 3 or (lost.resume == start and lost.uncertain is None and \
                        self.messages == 0):
                    error = TransportError(f"{self.host}:{self.port}: {lost}", temporary=True)
                    results[lost.resume:] = [error] * (len(items) - lost.resume)
                    break
                start = lost.resume
        return results

    def _pipeline(self, items: Sequence[Item], start: int,
                  results: list[TransportError | None]) -> None:
        """One connection's run; raises ``_Lost`` if the connection breaks."""
        owed: list[tuple[str, int]] = []  # replies due before the next commands': (kind, index)
        prefix = b""
        for i in range(start, len(items)):
            raw, sender, recipients = items[i]
            commands = self._commands(sender, recipients)
            uncertain = next((index for kind, index in owed if kind == "final"), None)
            try:
                self._write(prefix + "".join(c + "\r\n" for c in commands).encode("utf-8"))
                for kind, index in owed:
                    reply = self._reply()
                    if kind == "final":
                        self._final(index, reply, results)
                        uncertain = None
                replies = [self._reply() for _ in commands]
            except (OSError, ConnectionError) as exc:
                raise _Lost(i, uncertain, exc) from exc
            owed, prefix = self._verdict(i, raw, recipients, replies, results)
        if owed:
            uncertain = next((index for kind, index in owed if kind == "final"), None)
            try:
                self._write(prefix)
                for kind, index in owed:
                    reply = self._reply()
                    if kind == "final":
                        self._final(index, reply, results)
                        uncertain = None
            except (OSError, ConnectionError) as exc:
                raise _Lost(len(items), uncertain, exc) from exc

    def _final(self, index: int, reply: Reply, results: list[TransportError | None]) -> None:
        """The reply to an end of DATA: 250 keeps any partial refusal already noted."""
        self.messages += 1
        if reply.code != 250:
            results[index] = _error("end of DATA", reply)

    def _verdict(self, i: int, raw: bytes, recipients: Sequence[str], replies: list[Reply],
                 results: list[TransportError | None]) -> tuple[list[tuple[str, int]], bytes]:
        """What to write before the next commands, and the replies that will be owed."""
        mail, rcpts, data = replies[0], replies[1:-1], replies[-1]
        taken = mail.code == 250 and any(r.code in (250, 251) for r in rcpts)
        if data.code == 354 and taken:
            refused = [r for r in rcpts if r.code not in (250, 251)]
            if refused:  # sent to the others; this item still reports the refusal
                results[i] = TransportError(f"some recipients refused: {refused}",
                                            temporary=False)
            return [("final", i)], _data(raw)
        if mail.code != 250:
            results[i] = _error("MAIL FROM", mail)
        elif not taken:
            results[i] = _error("RCPT TO", next(r for r in rcpts if r.code not in (250, 251)))
        else:
            results[i] = _error("DATA", data)
        if data.code == 354:  # a server that said 354 anyway: end the empty message
            return [("discard", i), ("rset", i)], b".\r\nRSET\r\n"
        return [("rset", i)], b"RSET\r\n"

    def _transaction(self, raw: bytes, sender: str, recipients: Sequence[str]) -> None:
        commands = self._commands(sender, recipients)
        if self.pipelining:  # RFC 2920 3.1: DATA may end a group; read the replies in order
            self._write("".join(c + "\r\n" for c in commands).encode("utf-8"))
            replies = [self._reply() for _ in commands]
        else:
            replies = []
            for command in commands:
                replies.append(self._command(command))
                if replies[-1].code >= 400:
                    break
        mail, rcpts, data = replies[0], replies[1:len(commands) - 1], replies[-1]
        if data.code == 354 and (mail.code != 250 or not any(r.code in (250, 251)
                                                                for r in rcpts)):
            self._write(b".\r\n")  # a server that said 354 anyway: end the empty message
            self._reply()
        if mail.code != 250:
            raise _error("MAIL FROM", mail)
        refused = [r for r in rcpts if r.code not in (250, 251)]
        if len(rcpts) < len(recipients) or len(refused) == len(recipients):
            raise _error("RCPT TO", refused[0] if refused else data)
        if data.code != 354:
            raise _error("DATA", data)
        self._write(_data(raw))
        try:
            final = self._reply()
        except (OSError, ConnectionError) as exc:
            raise UncertainDelivery(f"{self.host}:{self.port}: no reply after the end of "
                                    f"DATA ({exc}): the message may have been taken") from exc
        if final.code != 250:
            raise _error("end of DATA", final)
        if refused:
            raise TransportError(f"some recipients refused: {refused}", temporary=False)

    def _reset(self) -> None:
        """RSET after a refused transaction, so the next one starts clean."""
        if self._sock is None:
            return
        try:
            if self._command("RSET").code != 250:
                self.close()
        except (OSError, ConnectionError):
            self.close()

    def close(self) -> None:
        if self._sock is None:
            return
        try:
            self._command("QUIT")
        except (OSError, ConnectionError):
            pass
        finally:
            if self._file is not None:
                self._file.close()
            self._sock.close()
            self._sock = self._file = None


class SmtpTransport:
    """A ``Transport`` whose ``session()`` keeps one pipelined connection for many messages;
    ``send`` alone opens a connection for one message."""

    def __init__(self, host: str, port: int | None = None, *, timeout: float = 30.0,
                 helo: str = "localhost", relay: RelayPolicy | None = None) -> None:
        self.relay = relay or RelayPolicy(timeout=timeout)
        self.host, self.timeout, self.helo = host, timeout, helo
        self.port = port or DEFAULT_PORTS[self.relay.tls]

    @contextmanager
    def session(self) -> Iterator[_Connection]:
        conn = _Connection(self.host, self.port, self.timeout, self.helo, self.relay)
        try:
            yield conn
        finally:
            conn.close()

    def send(self, raw: bytes, sender: str, recipients: Sequence[str], message_id: str) -> None:
        with self.session() as conn:
            conn.send(raw, sender, recipients, message_id)
