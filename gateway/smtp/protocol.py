"""Our aiosmtpd protocol classes: enhanced codes on every reply, counted sessions, fast DATA.

Place in the flow: one instance per connection of the SMTP/LMTP edge, built by
``gateway.smtp.server``; it calls ``IntakeHandler``'s hooks, which commit before the 250.
``gateway.smtp.limits.Limited`` bounds what one client and one session may hold.

Why DATA is read here and not by aiosmtpd: aiosmtpd reads the message one line at a time (one
coroutine step per line: ~65 for a 4 KB mail), which was half the event loop's time per message
on this machine. Here the bytes are read in whatever chunks arrive and scanned for the end
marker in C (``bytearray.find``). The rules are aiosmtpd 1.4.6's: only ``CRLF . CRLF`` ends the
data, so a bare-LF dot is content (the fix for SMTP smuggling); a leading dot is removed from
every line (RFC 5321 4.5.2); over ``data_size_limit`` the data is read to its end and thrown
away, then refused. Lines longer than 1,000 octets are accepted rather than refused (RFC 5321
4.5.3.1.6 sets a minimum a server must take, not a maximum): a care desk prefers the mail.
"""

from __future__ import annotations

import asyncio
import logging
import re
import types
from collections.abc import Callable, Collection, Iterable
from typing import Any, ClassVar

import aiosmtpd.smtp
from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP, _AuthMechAttr, syntax

from gateway.smtp import replies
from gateway.smtp.limits import Limited

_END = b"\r\n.\r\n"
# The everyday path of MAIL FROM/RCPT TO: <dot-atom@domain> then parameters (RFC 5321 4.1.2).
_SIMPLE_PATH = re.compile(r"<([A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9.-]+)>\s*(.*)", re.S)
_CHUNK = 1 << 30  # read everything buffered: leftovers can then be fed back in order


class _Replies:
    """Every reply leaves with an enhanced status code (RFC 2034, see ``replies.enhanced``)."""

    _raw_replies = False
    _held: list[str] | None = None  # the lines of a greeting reply, written together

    async def push(self, status: str | bytes) -> None:
        if self._held is not None and isinstance(status, str):
            self._held.append(status)
            return
        if isinstance(status, str) and not self._raw_replies:
            status = replies.enhanced(status)
        await super().push(status)  # type: ignore[misc]

    async def _greeting_reply(self, method: Callable[[str], Any], arg: str) -> None:
        # RFC 2034 3: the EHLO/HELO/LHLO response itself carries no enhanced codes.
        # aiosmtpd pushes an EHLO reply line by line, a send() and a drain each (6 lines
        # here); held and written as one, the client reads the same bytes (RFC 5321 4.2.1).
        self._raw_replies = True
        self._held = []
        try:
            await method(arg)
        finally:
            lines, self._held = self._held, None
            try:
                if lines:
                    await self.push("\r\n".join(lines))
            finally:
                self._raw_replies = False


class _Tracked:
    """Removes itself from the listener's live sessions when the connection ends."""

    registry: set[Any]
    answered_by = -1  # which of the writer's batches answered this session's last DATA

    def connection_lost(self, error: Exception | None) -> None:
        self.registry.discard(self)
        super().connection_lost(error)  # type: ignore[misc]


def mail_on_the_way(sessions: Iterable[Any], batch: Collection[object], answered: int) -> bool:
    """Whether a session of ``sessions`` not in ``batch`` (the origins of the mail a batch
    already holds) may hand the writer a mail soon, so that the batch should wait for it (up to
    its window); ``answered`` is the writer's count of answered batches. Called on the writer's
    thread: it reads a snapshot of the set and plain attributes, and changes nothing. Pure.

    Such a session is waiting for a commit that has answered it but not yet woken it (a client
    reusing its connection sends its next mail at once: sessions answered together come back
    within ~0.4 ms of each other, smtp-source -s 20 -d), inside a transaction (past MAIL FROM,
    ``<>`` included), new (no mail yet), or back from the latest batch. A session idle since
    an earlier batch does not count: it would make every batch wait out the window. aiosmtpd
    gives a session a new envelope after DATA, RSET and EHLO."""
    for other in list(sessions):  # list(): one step under the interpreter lock
        if other in batch:
            continue
        if other._committing:
            return True
        envelope = other.envelope
        if envelope is None:  # refused at connection (gateway.smtp.limits): never a mail
            continue
        if envelope.mail_from is not None or other.answered_by in (-1, answered):
            return True
    return False


async def read_data(reader: asyncio.StreamReader, limit: int | None) -> tuple[bytes, bool] | None:
    """The message after ``354``, dot-unstuffed, and whether it exceeded ``limit``; ``None``
    when the client went away first. Reads only up to the end marker: any bytes after it go
    back to ``reader`` for the next command. Acts on ``reader``."""
    # A virtual CRLF in front lets one search find the end marker on the very first line too.
    buf = bytearray(b"\r\n")
    start = 0  # where the next search begins: the marker may straddle two chunks
    over = False
    while True:
        chunk = await reader.read(_CHUNK)
        if not chunk:
            return None
        buf += chunk
        end = buf.find(_END, start)
        if end >= 0:
            break
        start = max(0, len(buf) - len(_END) + 1)
        over = over or bool(limit and len(buf) - 2 > limit)
        if over:  # read on to the end marker, keeping only what may be its beginning
            del buf[:start]
            start = 0
    leftover = bytes(buf[end + len(_END):])
    if leftover and not reader.at_eof():
        reader.feed_data(leftover)  # the buffer is empty (we read it all): order is kept
    del buf[end + 2:]  # keep the CRLF that ends the last line
    if over or (limit and len(buf) - 2 > limit):
        return b"", True
    return bytes(buf.replace(b"\r\n.", b"\r\n"))[2:], False


class _FastAddress:
    """Addresses in MAIL/RCPT without the ``email`` header parser when they are plain.

    aiosmtpd parses every path with ``email._header_value_parser`` (about 0.2 ms a call here,
    40% of the event loop's time per message); a plain ``<local@domain>`` is matched by one
    regular expression instead, anything else (quoted local parts, source routes, address
    literals, ``<>``) still goes to aiosmtpd's parser, so what is accepted does not change.
    """

    def _getaddr(self, arg: str) -> tuple[str | None, str | None]:
        proto: Any = self
        match = _SIMPLE_PATH.fullmatch(arg) if arg else None
        if match is None:
            result: tuple[str | None, str | None] = super()._getaddr(arg)  # type: ignore[misc]
            return result
        address, rest = match.groups()
        if proto.local_part_limit and len(address.rpartition("@")[0]) > proto.local_part_limit:
            return None, None
        return address, rest


class _Reflected:
    """``dir()`` of a session lists only its commands (``smtp_*``) and AUTH mechanisms
    (``auth_*``), computed once per class.

    aiosmtpd's ``SMTP.__init__`` finds both by reflection on every connection:
    ``inspect.getmembers(self)`` reads every attribute ``dir()`` names (properties included),
    then ``dir(self)`` again. That was 0.5 of the ~230 us a session cost to build here, against
    ~140 us for aiosmtpd's own class: a new connection per mail paid it per mail. Only names
    with those two prefixes are read from the result, so what aiosmtpd finds is unchanged.
    """

    _reflected: ClassVar[dict[type, list[str]]] = {}

    def __dir__(self) -> list[str]:
        cls = type(self)
        names = _Reflected._reflected.get(cls)
        if names is None:
            names = [n for n in object.__dir__(self) if n.startswith(("smtp_", "auth_"))]
            _Reflected._reflected[cls] = names
        return list(names)


class _FastData:
    """``smtp_DATA`` with aiosmtpd's checks and replies, reading via ``read_data``."""

    @syntax("DATA")  # what HELP shows, as for the method this replaces
    async def smtp_DATA(self, arg: str) -> None:
        proto: Any = self
        if await proto.check_helo_needed():
            return
        if await proto.check_auth_needed("DATA"):
            return
        if not proto.envelope.rcpt_tos:
            await proto.push("503 Error: need RCPT command")
            return
        if arg:
            await proto.push("501 Syntax: DATA")
            return
        await proto.push("354 End data with <CR><LF>.<CR><LF>")
        read = await read_data(proto._reader, proto.data_size_limit)
        if read is None:
            return  # connection lost mid-DATA: nothing was accepted, the sender retries
        content, too_big = read
        if too_big:
            proto._set_post_data_state()
            await proto.push(replies.MESSAGE_TOO_BIG)
            return
        proto.envelope.content = proto.envelope.original_content = content
        status = await proto._call_handler_hook("DATA")
        proto._set_post_data_state()
        await proto.push(status)


class _IdleTimer:
    """The idle timeout (RFC 5321 4.5.3.2.7) armed once a connection and moved by a deadline.

    aiosmtpd re-arms it on every command: a cancelled loop timer and a new one, 3.8 us a
    command on uvloop here against 0.7 us to move a deadline (five commands a mail with a new
    connection per mail, py-spy: 3% of serve's listener samples holding the interpreter lock).
    Here a command only moves ``_deadline``; the timer, when it fires before it, re-arms
    itself for what is left. As in aiosmtpd, the session is closed ``timeout`` seconds after
    its last command; a shorter duration than the armed one (the PROXY handshake's) re-arms."""

    _deadline = 0.0

    def _reset_timeout(self, duration: float | None = None) -> None:
        proto: Any = self
        loop = proto.loop
        deadline = loop.time() + (duration or proto._timeout_duration)
        self._deadline = deadline
        handle = proto._timeout_handle
        if handle is None or handle.cancelled() or handle.when() > deadline:
            if handle is not None:
                handle.cancel()
            proto._timeout_handle = loop.call_at(deadline, self._timeout_cb)

    def _timeout_cb(self) -> None:
        proto: Any = self
        if proto.loop.time() < self._deadline:  # a command came since: wait for the rest
            proto._timeout_handle = proto.loop.call_at(self._deadline, self._timeout_cb)
            return
        super()._timeout_cb()  # type: ignore[misc]


class SmtpProtocol(_Reflected, _Replies, _Tracked, Limited, _FastData, _FastAddress, _IdleTimer,
                   SMTP):
    @syntax("EHLO hostname")
    async def smtp_EHLO(self, hostname: str) -> None:
        await self._greeting_reply(super().smtp_EHLO, hostname)

    @syntax("HELO hostname")
    async def smtp_HELO(self, hostname: str) -> None:
        await self._greeting_reply(super().smtp_HELO, hostname)


class LmtpProtocol(_Reflected, _Replies, _Tracked, Limited, _FastData, _FastAddress, _IdleTimer,
                   LMTP):
    @syntax("LHLO hostname")
    async def smtp_LHLO(self, arg: str) -> None:
        await self._greeting_reply(super().smtp_LHLO, arg)


def _holds_method_of(value: Any, instance: object) -> bool:
    """Whether ``value`` is, or a dict of ``value`` holds, a method bound to ``instance``. Pure."""
    if isinstance(value, dict):
        return any(_holds_method_of(item, instance) for item in value.values())
    if isinstance(value, _AuthMechAttr):
        value = value.method
    return isinstance(value, types.MethodType) and value.__self__ is instance


def _rebinder(value: Any, old: object) -> Callable[[object], Any]:
    """A function giving ``value`` for a new session: every method of ``value`` bound to
    ``old`` bound to the new session instead, inside the dicts and AUTH entries aiosmtpd keeps
    them in; any other value as it is (a dict copied). Pure."""
    if isinstance(value, types.MethodType) and value.__self__ is old:
        func = value.__func__
        return lambda new: types.MethodType(func, new)
    if isinstance(value, _AuthMechAttr):
        method, builtin = _rebinder(value.method, old), value.is_builtin
        return lambda new: _AuthMechAttr(method(new), builtin)
    if isinstance(value, dict):
        if all(isinstance(item, types.MethodType) and item.__self__ is old
               for item in value.values()):  # aiosmtpd's table of commands: the hot case
            funcs = [(key, item.__func__) for key, item in value.items()]
            return lambda new: {key: types.MethodType(func, new) for key, func in funcs}
        parts = [(key, _rebinder(item, old)) for key, item in value.items()]
        return lambda new: {key: part(new) for key, part in parts}
    return lambda new: value


_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING,
           "error": logging.ERROR, "critical": logging.CRITICAL}
_SANITIZED_LOG = aiosmtpd.smtp.sanitized_log  # aiosmtpd's own, the general path


def sanitized_log_if_enabled(func: Callable[..., None], msg: Any, *args: Any, **kwargs: Any
                             ) -> None:
    """aiosmtpd's ``sanitized_log``, skipped when ``func`` is a logger's method whose level
    that logger would not emit. Acts (logs).

    aiosmtpd calls it twice for every command line (the line at DEBUG and at INFO), and it
    scans the line for AUTH data (a regular expression) before the logger says whether it
    wants the record at all: 10.3 us for the two calls against 1.5 for two plain disabled
    log calls here, five to six commands a mail. ``serve`` keeps ``mail.log`` at WARNING
    (addresses stay out of its INFO logs), so that work went nowhere. What an enabled
    logger receives is unchanged: the same call."""
    logger = getattr(func, "__self__", None)
    level = _LEVELS.get(getattr(func, "__name__", ""))
    if isinstance(logger, logging.Logger) and level is not None \
            and not logger.isEnabledFor(level):
        return
    _SANITIZED_LOG(func, msg, *args, **kwargs)


def skip_disabled_session_logs() -> None:
    """Make aiosmtpd's sessions use ``sanitized_log_if_enabled`` (process-wide, idempotent:
    aiosmtpd looks the function up in its module at each call). Acts."""
    aiosmtpd.smtp.sanitized_log = sanitized_log_if_enabled  # type: ignore[assignment]


class SessionFactory:
    """Builds the sessions of one listener as copies of a prototype built once by aiosmtpd's
    ``__init__`` (never connected): its attributes, its methods rebound to the copy, and a
    stream state of the copy's own.

    Why: every session is built with the same arguments, yet aiosmtpd 1.4.6's ``__init__``
    reflects on the session and the handler each time (``inspect.getmembers``, ``dir``,
    ``inspect.signature``): most of the 31 us a session cost to build here, 7 us as a copy (a
    new connection per mail pays it per mail). What that reflection finds depends only on the
    class and the handler, so the prototype's attributes are the answer for all. The asyncio
    stream state (``StreamReaderProtocol.__init__``: reader, futures, callbacks) is built afresh
    for each. ``tests/gateway/test_smtp_session_factory.py`` compares a copy with a session
    built by aiosmtpd, attribute by attribute."""

    def __init__(self, cls: type[SMTP], handler: Any, **kwargs: Any) -> None:
        skip_disabled_session_logs()
        self.cls = cls
        self.handler = handler
        self.kwargs = kwargs
        self._plain: dict[str, Any] | None = None  # attributes holding none of its methods
        self._bound: dict[str, Callable[[object], Any]] = {}  # the others, for each copy

    def _learn(self) -> dict[str, Any]:
        """Build the prototype and keep what a copy needs of it (not the prototype). Acts."""
        prototype = self.cls(self.handler, **self.kwargs)
        plain: dict[str, Any] = {}
        for key, value in vars(prototype).items():
            if _holds_method_of(value, prototype):
                self._bound[key] = _rebinder(value, prototype)
            else:
                plain[key] = value
        self._plain = plain
        return plain

    def __call__(self) -> SMTP:
        """A new session, not yet connected."""
        plain = self._plain if self._plain is not None else self._learn()
        session: Any = self.cls.__new__(self.cls)
        # aiosmtpd keeps the per-command line limits in one dict on the class, which EHLO
        # raises (SIZE +26, SMTPUTF8 +10 on MAIL, RFC 1870/6531) and every ``__init__``
        # clears; a copy must clear it too, or each session's EHLO would raise the limit on
        # MAIL FROM lines for good.
        session.command_size_limits.clear()
        attributes = session.__dict__
        attributes.update(plain)
        for key, value in plain.items():
            if type(value) is dict:  # its own (aiosmtpd's hook tables), as __init__ gives
                attributes[key] = value.copy()
        for key, rebind in self._bound.items():
            attributes[key] = rebind(session)
        loop = session.loop
        asyncio.StreamReaderProtocol.__init__(
            session, asyncio.StreamReader(loop=loop, limit=self.cls.line_length_limit),
            client_connected_cb=session._cb_client_connected, loop=loop)
        return session
