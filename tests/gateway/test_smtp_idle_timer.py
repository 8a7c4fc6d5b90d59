"""The idle timeout armed once a connection (``protocol._IdleTimer``) against aiosmtpd's own,
re-armed on every command: on a simulated clock, both close a session at the same instant."""

from __future__ import annotations

import heapq
import itertools
import types
from collections.abc import Callable

from aiosmtpd.smtp import SMTP
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.smtp.protocol import _IdleTimer


class _Handle:
    def __init__(self, when: float, callback: Callable[[], None]) -> None:
        self._when, self.callback, self._cancelled = when, callback, False

    def when(self) -> float:
        return self._when

    def cancel(self) -> None:
        self._cancelled = True

    def cancelled(self) -> bool:
        return self._cancelled


class _Loop:
    """The part of an event loop the timers use, on a clock moved by ``advance``."""

    def __init__(self) -> None:
        self.now = 0.0
        self.armed = 0  # timers created (aiosmtpd: one a command)
        self._timers: list[tuple[float, int, _Handle]] = []
        self._order = itertools.count()

    def time(self) -> float:
        return self.now

    def call_at(self, when: float, callback: Callable[[], None]) -> _Handle:
        handle = _Handle(when, callback)
        heapq.heappush(self._timers, (when, next(self._order), handle))
        self.armed += 1
        return handle

    def call_later(self, delay: float, callback: Callable[[], None]) -> _Handle:
        return self.call_at(self.now + delay, callback)

    def advance(self, seconds: float) -> None:
        """Move the clock, firing the timers due on the way, in order."""
        until = self.now + seconds
        while self._timers and self._timers[0][0] <= until:
            when, _, handle = heapq.heappop(self._timers)
            if not handle.cancelled():
                self.now = max(self.now, when)
                handle.callback()
        self.now = until


class _Transport:
    def __init__(self, loop: _Loop) -> None:
        self.loop, self.closed_at = loop, None  # type: ignore[var-annotated]

    def close(self) -> None:
        if self.closed_at is None:
            self.closed_at = self.loop.now


class _AiosmtpdTimer:
    """aiosmtpd's own methods (the general path) on just the state they use."""

    _reset_timeout = SMTP._reset_timeout
    _timeout_cb = SMTP._timeout_cb

    def __init__(self, loop: _Loop, timeout: float) -> None:
        self.loop = loop
        self._timeout_duration = timeout
        self._timeout_handle = None
        self.session = types.SimpleNamespace(peer=("127.0.0.1", 2525))
        self.transport = _Transport(loop)


class _OurTimer(_IdleTimer, _AiosmtpdTimer):
    pass


def _closed_at(cls: type[_AiosmtpdTimer], timeout: float, gaps: list[float]
               ) -> tuple[float | None, int]:
    """When a session is closed whose commands come after ``gaps`` (the first at connection),
    and how many timers it armed."""
    loop = _Loop()
    session = cls(loop, timeout)
    session._reset_timeout()  # connection_made
    for gap in gaps:
        loop.advance(gap)
        if session.transport.closed_at is not None:
            break
        session._reset_timeout()  # a command
    loop.advance(10 * timeout)
    return session.transport.closed_at, loop.armed


@settings(max_examples=300, deadline=None)
@given(timeout=st.floats(1.0, 300.0),
       gaps=st.lists(st.floats(0.0, 400.0, allow_nan=False), max_size=20))
def test_a_session_is_closed_when_aiosmtpd_would_close_it(timeout: float, gaps: list[float]
                                                         ) -> None:
    theirs, _ = _closed_at(_AiosmtpdTimer, timeout, gaps)
    ours, _ = _closed_at(_OurTimer, timeout, gaps)
    assert ours == theirs


def test_commands_move_a_deadline_instead_of_arming_timers() -> None:
    """Five commands within the timeout arm one timer (aiosmtpd: six), and the session still
    closes one timeout after the last of them."""
    closed, armed = _closed_at(_OurTimer, 300.0, [1.0] * 5)
    assert closed == 305.0
    assert armed == 2  # at connection, and once more when the first timer finds the deadline moved
    assert _closed_at(_AiosmtpdTimer, 300.0, [1.0] * 5) == (305.0, 6)


def test_a_shorter_duration_rearms_at_once() -> None:
    """The PROXY handshake's shorter timeout is not left waiting behind a longer timer."""
    loop = _Loop()
    session = _OurTimer(loop, 300.0)
    session._reset_timeout()
    session._reset_timeout(5.0)
    loop.advance(6.0)
    assert session.transport.closed_at == 5.0
