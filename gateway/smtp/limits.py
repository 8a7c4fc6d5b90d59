"""Session limits of the SMTP/LMTP listener: per client address, per session, idle commands.

Place in the flow: a mixin of ``gateway.smtp.protocol``'s session classes, in front of
``IntakeHandler``. The listener's total (``max_sessions``, ``server``) keeps the machine alive;
these keep one client from taking all of it:

- sessions per client address (``max_sessions_per_ip``): past it a new connection gets
  ``421 4.7.0`` and is closed before the greeting (RFC 5321 3.8 lets a server refuse so);
- an absolute lifetime (``session_lifetime``) beside aiosmtpd's idle timeout, which restarts on
  every command: past it the session gets ``421 4.4.2`` and is closed. A message being committed
  is answered first (RFC 5321 6.1: a commit we did is acknowledged, not left to a duplicate);
- commands that move nothing forward (NOOP, RSET, VRFY, HELP) are counted since the last
  accepted message; past ``max_noops`` the session gets ``421 4.7.0``. Counting since the last
  message, not per session, keeps a relay that reuses one connection for many messages (and
  sends RSET between them) welcome.

The recipients-per-transaction cap is a RCPT reply, so it lives in ``IntakeHandler``.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import logging
from dataclasses import dataclass
from typing import Any

from aiosmtpd.smtp import syntax

from gateway.smtp import replies
from workflows.settings import SmtpSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SessionLimits:
    per_ip: int
    lifetime: float
    max_noops: int

    @classmethod
    def of(cls, smtp: SmtpSettings) -> SessionLimits:
        return cls(smtp.max_sessions_per_ip, smtp.session_lifetime, smtp.max_noops)


def client_address(peername: Any) -> str | None:
    """The client's address from a socket's peer name, IPv4-mapped IPv6 folded to IPv4 so one
    client counts once whichever socket family took it (pure)."""
    if not isinstance(peername, tuple) or not peername:
        return None
    return _folded(str(peername[0]))


# Remembered: a client opening a connection per mail comes back with the same address, and
# parsing it (ipaddress) was 3 us of every connection.
@functools.lru_cache(maxsize=4096)
def _folded(host: str) -> str:
    try:
        address = ipaddress.ip_address(host.partition("%")[0])
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(address)


class Limited:
    """The limits above for one session; ``limits`` and ``registry`` are set by the listener
    on each instance before the connection is made."""

    registry: set[Any]
    limits: SessionLimits
    client: str | None = None
    refused = False  # over the per-address cap: never greeted, not counted
    _lifetime: asyncio.TimerHandle | None = None
    _noops = 0
    _committing = False  # DATA is waiting for its commit
    _expired = False  # the lifetime ran out while committing: close after the reply

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        proto: Any = self
        if self._lifetime is None:  # the first call; STARTTLS calls again with a new transport
            self.client = client_address(transport.get_extra_info("peername"))
            if self.client is not None and self._sessions_from(self.client) >= self.limits.per_ip:
                self.refused = True
                log.warning("%s has %d sessions open: refusing another with 421",
                            self.client, self.limits.per_ip)
                writer: Any = transport
                writer.write(replies.TOO_MANY_FROM_ADDRESS.encode("ascii") + b"\r\n")
                writer.close()
                return
            self._lifetime = proto.loop.call_later(self.limits.lifetime, self._end_of_life)
        super().connection_made(transport)  # type: ignore[misc]

    def connection_lost(self, error: Exception | None) -> None:
        if self.refused:  # aiosmtpd never saw this connection: nothing of it to tear down
            self.registry.discard(self)
            return
        if self._lifetime is not None:
            self._lifetime.cancel()
        super().connection_lost(error)  # type: ignore[misc]

    def _sessions_from(self, client: str) -> int:
        return sum(1 for s in list(self.registry)
                   if s is not self and not s.refused and s.client == client)

    def _end_of_life(self) -> None:
        proto: Any = self
        if proto.transport is None:
            return
        if self._committing:
            self._expired = True  # _call_handler_hook closes once the reply is written
            return
        log.info("%s: session lifetime of %.0f s reached; closing", self.client,
                 self.limits.lifetime)
        proto.transport.write(replies.SESSION_EXPIRED.encode("ascii") + b"\r\n")
        proto.transport.close()

    async def _call_handler_hook(self, command: str, *args: Any) -> Any:
        if command != "DATA":
            return await super()._call_handler_hook(command, *args)  # type: ignore[misc]
        self._committing = True
        try:
            status = await super()._call_handler_hook(command, *args)  # type: ignore[misc]
        finally:
            self._committing = False
        if isinstance(status, str) and status.startswith("250"):
            self._noops = 0  # a message went through: the session is doing its job
        if self._expired:
            # After the caller writes this reply (it does so before its next await).
            asyncio.get_running_loop().call_soon(self._end_of_life)
        return status

    async def _idle_command(self) -> bool:
        """Counts a command that moves nothing forward; True (and the session closed) past
        the limit. Acts."""
        proto: Any = self
        self._noops += 1
        if self._noops <= self.limits.max_noops:
            return False
        log.info("%s: %d commands without a message; closing", self.client, self._noops)
        await proto.push(replies.TOO_MANY_NOOPS)
        if proto.transport is not None:
            proto.transport.close()
        return True

    @syntax("NOOP [ignored]")
    async def smtp_NOOP(self, arg: str) -> None:
        if not await self._idle_command():
            await super().smtp_NOOP(arg)  # type: ignore[misc]

    @syntax("RSET")
    async def smtp_RSET(self, arg: str) -> None:
        if not await self._idle_command():
            await super().smtp_RSET(arg)  # type: ignore[misc]

    @syntax("VRFY <address>")
    async def smtp_VRFY(self, arg: str) -> None:
        if not await self._idle_command():
            await super().smtp_VRFY(arg)  # type: ignore[misc]

    @syntax("HELP [command]")
    async def smtp_HELP(self, arg: str) -> None:
        if not await self._idle_command():
            await super().smtp_HELP(arg)  # type: ignore[misc]
