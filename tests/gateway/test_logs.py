"""Logs as an operator's pipeline reads them: one JSON line per accepted mail and per decision
from ``serve``, with their fields, and never a body or a password."""

from __future__ import annotations

import io
import json
import logging
import smtplib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway.logs import JsonFormatter, TextFormatter, configure_logging
from tests.gateway.serving import ServeProcess

CARE = "care@localhost"
BODY_MARK = "quokka-body-text-7731"  # appears only in the mail's body
PASSWORD = "hunter2-relay-secret-5519"


def _events(output: str) -> list[dict[str, Any]]:
    lines = []
    for line in output.splitlines():
        if line.startswith("{"):
            lines.append(json.loads(line))
    return lines


@pytest.fixture
def served(tmp_path: Path) -> Iterator[ServeProcess]:
    # SQLite on purpose: the log lines are the same on every backend, and this home starts
    # empty the way `make run`'s does. The relay password is configured but never used.
    srv = ServeProcess(tmp_path / "home", env={"TICKETGATE_LOG_FORMAT": "json",
                                               "TICKETGATE_RELAY_PASSWORD": PASSWORD,
                                               "TICKETGATE_RELAY_USER": "desk"})
    srv.start()
    yield srv
    srv.ensure_dead()


def _wait_for_event(srv: ServeProcess, event: str, timeout: float = 30.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [e for e in _events(srv.output()) if e.get("event") == event]
        if found:
            return found[0]
        time.sleep(0.1)
    raise AssertionError(f"no {event} line within {timeout:.0f} s:\n{srv.output()}")


def _send(srv: ServeProcess) -> None:
    raw = (f"From: someone@example.com\r\nTo: {CARE}\r\nSubject: printer\r\n"
           f"Message-ID: <log-1@example.com>\r\n\r\n{BODY_MARK}\r\n").encode()
    with smtplib.SMTP(*srv.address, timeout=30) as smtp:
        smtp.sendmail("someone@example.com", [CARE], raw)


def test_serve_logs_a_json_line_per_accepted_mail(served):
    _send(served)
    line = _wait_for_event(served, "mail.accepted")
    assert line["message_id"] == "log-1@example.com" and line["mailbox"] == CARE
    assert line["level"] == "info" and isinstance(line["inbound_id"], int) and line["size"] > 0


def test_serve_logs_a_json_line_per_decision(served):
    _send(served)
    line = _wait_for_event(served, "mail.decided")
    assert (line["outcome"], line["reason"]) == ("triaged", "new_mail")
    assert line["message_id"] == "log-1@example.com" and line["ms"] >= 0


def test_no_body_text_or_secret_reaches_the_logs(served):
    _send(served)
    _wait_for_event(served, "mail.decided")
    assert served.stop() == 0
    output = served.output()
    assert BODY_MARK not in output and PASSWORD not in output
    secret = (served.home / "secret.key").read_bytes().strip()
    assert secret and secret.decode(errors="replace") not in output


def test_shutdown_is_logged(served):
    assert served.stop() == 0
    assert [e["event"] for e in _events(served.output()) if "event" in e][-1] == "serve.stopped"


def _record(**extra: Any) -> logging.LogRecord:
    record = logging.LogRecord("t", logging.INFO, __file__, 1, "hello %s", ("you",), None)
    record.__dict__.update(extra)
    return record


def test_a_fresh_home_logs_its_migrations_but_not_alembics_plugin_set_up(served):
    """serve initializing an empty home (a first `make run`): Alembic 1.17+ logs a line per
    autogenerate plugin it sets up, seven lines of noise before the banner."""
    messages = [e.get("msg", "") for e in _events(served.output())]
    assert any(m.startswith("Running upgrade") for m in messages), served.output()
    assert not [m for m in messages if m.startswith("setup plugin")]


def test_the_json_formatter_keeps_the_extra_fields():
    line = json.loads(JsonFormatter().format(_record(event="x.y", case="CASE-1")))
    assert line["msg"] == "hello you" and (line["event"], line["case"]) == ("x.y", "CASE-1")


def test_the_text_formatter_is_one_readable_line():
    text = TextFormatter().format(_record(event="x.y", case="CASE-1"))
    assert text.endswith("INFO t: hello you  case=CASE-1") and "\n" not in text


def test_auto_is_json_off_a_terminal():
    stream = io.StringIO()
    handler = configure_logging(logging.INFO, "auto", stream)
    try:
        assert isinstance(handler.formatter, JsonFormatter)
    finally:
        logging.getLogger().removeHandler(handler)
        logging.getLogger().setLevel(logging.WARNING)
