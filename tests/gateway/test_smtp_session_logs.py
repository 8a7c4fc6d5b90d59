"""aiosmtpd's per-command log calls skipped when the logger would drop them
(``protocol.sanitized_log_if_enabled``), compared with aiosmtpd's own ``sanitized_log``."""

from __future__ import annotations

import logging

import aiosmtpd.smtp
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.smtp.protocol import _SANITIZED_LOG, sanitized_log_if_enabled
from tests.gateway.conftest import Dialogue


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.seen: list[tuple[int, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.seen.append((record.levelno, record.getMessage()))


_LINES = st.one_of(
    st.binary(max_size=80),
    st.builds(lambda mech, data: b"AUTH " + mech + b" " + data + b"\r\n",
              st.sampled_from([b"PLAIN", b"LOGIN", b"plain"]), st.binary(max_size=40)),
)


def _logged(log_with, level: int, method: str, line: bytes) -> list[tuple[int, str]]:
    logger = logging.getLogger("tests.sanitized")
    handler = _Records()
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
    try:
        func = getattr(logger, method)
        log_with(func, "_handle_client readline: %r", line)
        log_with(func, "%r >> %r", ("127.0.0.1", 2525), line)
    finally:
        logger.removeHandler(handler)
    return handler.seen


@settings(max_examples=200, deadline=None)
@given(line=_LINES, level=st.sampled_from([logging.DEBUG, logging.INFO, logging.WARNING]),
       method=st.sampled_from(["debug", "info", "warning"]))
def test_a_logger_receives_what_aiosmtpd_would_give_it(line: bytes, level: int, method: str
                                                       ) -> None:
    assert (_logged(sanitized_log_if_enabled, level, method, line)
            == _logged(_SANITIZED_LOG, level, method, line))


def test_a_disabled_level_does_not_scan_the_line(monkeypatch: pytest.MonkeyPatch) -> None:
    def scanned(_text: bytes) -> bytes:
        raise AssertionError("sanitize ran for a record nobody wanted")

    monkeypatch.setattr(aiosmtpd.smtp, "sanitize", scanned)
    assert _logged(sanitized_log_if_enabled, logging.WARNING, "info", b"MAIL FROM:<a@b>") == []


def test_sessions_still_log_commands_when_asked(serve_smtp, caplog: pytest.LogCaptureFixture
                                                ) -> None:
    listener = serve_smtp()
    assert aiosmtpd.smtp.sanitized_log is sanitized_log_if_enabled
    with caplog.at_level(logging.DEBUG, logger="mail.log"), \
            Dialogue(listener.address) as client:
        client.read_reply()
        assert client.say("NOOP")[0].startswith("250")
        client.say("QUIT")
    lines = [r.getMessage() for r in caplog.records if r.name == "mail.log"]
    assert any(line.endswith(">> b'NOOP'") for line in lines), lines
