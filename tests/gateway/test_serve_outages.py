"""What an operator reads in ``ticketgate serve``'s log while something it needs is down.

The database: each failed commit is one warning line (what failed, that the senders keep the
mail and retry, the database's error), not a traceback; the sender gets 451 and nothing is
lost. The broker (``--role listener``): the line says which mail waits for the sweeper.
"""

from __future__ import annotations

import json
import os
import smtplib
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from tests.gateway.serving import ServeProcess, free_port
from workflows.storage.db import Database
from workflows.storage.models import InboundMessage

CARE = "care@localhost"  # the one mailbox declared without a config file


def _mail(message_id: str) -> bytes:
    return (f"From: someone@example.com\r\nTo: {CARE}\r\nSubject: hello\r\n"
            f"Message-ID: <{message_id}>\r\n\r\nAnyone?\r\n").encode()


def _send(srv: ServeProcess, message_id: str) -> int:
    """The SMTP code the listener answered the mail's DATA with."""
    with smtplib.SMTP(*srv.address, timeout=60) as smtp:
        try:
            smtp.sendmail("someone@example.com", [CARE], _mail(message_id))
        except smtplib.SMTPDataError as exc:
            return exc.smtp_code
    return 250


def _json_lines(out: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


@contextmanager
def _connections_refused(url: str) -> Iterator[None]:
    """The database ``url`` names takes no connection (and loses those it had) inside."""
    name = make_url(url).database
    admin = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE datname = :name"), {"name": name})
        yield
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
        admin.dispose()


def _status(url: str, message_id: str) -> str | None:
    db = Database(url)
    try:
        with db.transaction() as s:
            return s.scalar(select(InboundMessage.status)
                            .where(InboundMessage.message_id == message_id))
    finally:
        db.dispose()


def test_a_database_outage_is_one_warning_a_failed_commit_and_loses_nothing(
        tmp_path, database_url):
    """serve on PostgreSQL, the database refusing connections: the mail gets 451, the log a
    warning with the error on one line (it was two ~115-line tracebacks a mail, from the
    writer and from the session); once the database is back the sender's retry gets 250."""
    if os.environ.get("TICKETGATE_TEST_BACKEND") != "postgresql":
        pytest.skip("a server's outage: a SQLite file cannot be taken from a running serve "
                    "(tests/gateway/test_smtp_loopback.py checks the lines on SQLite)")
    srv = ServeProcess(tmp_path / "home", database_url=database_url,
                       env={"TICKETGATE_LOG_FORMAT": "json"})
    try:
        srv.start()
        assert _send(srv, "before@example.com") == 250
        with _connections_refused(database_url):
            assert _send(srv, "during@example.com") == 451
            out = srv.wait_for_output('"intake.commit_failed"')
        [line] = [d for d in _json_lines(out) if d.get("event") == "intake.commit_failed"]
        assert line["level"] == "warning" and line["messages"] == 1
        assert "not currently accepting connections" in str(line["error"])
        assert "answered 451, the senders keep the mail and retry" in str(line["msg"])
        [mail] = [d for d in _json_lines(out) if d.get("event") == "mail.tempfailed"]
        assert mail["message_id"] == "during@example.com"
        assert "Traceback" not in out
        assert [d for d in _json_lines(out) if "exc" in d] == []
        assert _send(srv, "during@example.com") == 250  # the sender's retry
        assert srv.stop() == 0
        assert _status(database_url, "during@example.com") is not None
    finally:
        srv.ensure_dead()



def test_a_broker_that_is_down_is_logged_naming_the_mail(tmp_path, database_url):
    """serve --role listener with its broker down: 250 (the mail is committed), and the
    warning says which mail waits for the sweeper (inbound id and Message-ID, as the
    mail.accepted line does); it said only "1 message(s) left for the sweeper"."""
    stored = database_url if os.environ.get("TICKETGATE_TEST_BACKEND") == "postgresql" else None
    closed = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    srv = ServeProcess(tmp_path / "home", database_url=stored, extra_args=("--role", "listener"),
                       env={"TICKETGATE_BROKER_URL": closed, "TICKETGATE_LOG_FORMAT": "json"})
    try:
        srv.start()
        assert _send(srv, "brokerless@example.com") == 250
        srv.wait_for_output('"mail.dispatch_failed"')
        assert srv.stop() == 0
        out = srv.output()
    finally:
        srv.ensure_dead()
    [accepted] = [d for d in _json_lines(out) if d.get("event") == "mail.accepted"]
    [line] = [d for d in _json_lines(out) if d.get("event") == "mail.dispatch_failed"]
    assert line["level"] == "warning" and "Traceback" not in out
    assert (line["inbound_id"], line["message_id"]) == (accepted["inbound_id"],
                                                       "brokerless@example.com")
    assert "<brokerless@example.com>" in str(line["msg"]) and "sweeper" in str(line["msg"])
    url = stored or f"sqlite:///{srv.home / 'ticketgate.db'}"
    assert _status(url, "brokerless@example.com") == "received"  # the sweeper's to submit
