"""Real SMTP sessions on loopback: smtplib, swaks and Postfix's smtp-source against the listener."""

from __future__ import annotations

import logging
import os
import shutil
import smtplib
import ssl
import subprocess
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from gateway.smtp import replies
from workflows.storage.db import Database
from workflows.storage.models import InboundMessage

CARE = "care@desk.example"
ESCALATIONS = "escalations@desk.example"
ALICE = "alice@acme.example"


def _mail(message_id: str = "<l-1@acme.example>", body: bytes = b"It is on fire.\r\n") -> bytes:
    # CRLF already, so that what smtplib sends is byte for byte what we compare with.
    return (f"From: {ALICE}\r\nTo: {CARE}\r\nSubject: Printer\r\n"
            f"Message-ID: {message_id}\r\n\r\n").encode() + body


_LINES = b"x" * 70 + b"\r\n"  # times 60 below: 4 KB in lines of legal length


def _rows(rt) -> list[InboundMessage]:
    with rt.db.transaction() as s:
        return list(s.scalars(select(InboundMessage).order_by(InboundMessage.id)))


def _count(rt) -> int:
    with rt.db.transaction() as s:
        return s.scalar(select(func.count()).select_from(InboundMessage)) or 0


def _tool(name: str) -> str:
    """A command-line tool CI installs; skipped without it locally, failed without it in CI."""
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin")
    if found:
        return found
    if os.environ.get("TICKETGATE_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{name} is required (TICKETGATE_REQUIRE_SERVICES=1) but not installed")
    pytest.skip(f"{name} is not installed (apt-get install postfix swaks)")


def test_accepted_mail_is_stored_once_with_its_envelope_apart(rt, serve_smtp, dispatched):
    """The committed row holds the bytes as sent and the envelope in its own columns."""
    listener = serve_smtp()
    raw = _mail()
    with smtplib.SMTP(*listener.address, timeout=30) as smtp:
        assert smtp.sendmail("bounces@acme.example", [CARE], raw) == {}
    listener.stop()  # the ids are submitted just after the 250s; stopping waits for that
    [row] = _rows(rt)
    assert (row.raw, row.message_id, row.envelope_from, row.envelope_to, row.mailbox,
            row.transport, row.status) == (raw, "l-1@acme.example", "bounces@acme.example",
                                           [CARE], CARE, "smtp", "received")
    assert row.source and row.source.startswith("127.0.0.1:")
    assert dispatched.ids == [row.id]


def test_the_same_bytes_sent_twice_are_one_row(rt, serve_smtp, dispatched):
    """A sender that retries after a lost 250 does not create a second message."""
    listener = serve_smtp()
    with smtplib.SMTP(*listener.address, timeout=30) as smtp:
        smtp.sendmail(ALICE, [CARE], _mail())
        smtp.sendmail(ALICE, [CARE], _mail())
    listener.stop()
    assert _count(rt) == 1
    assert len(dispatched.ids) == 1


def test_unknown_recipient_is_refused_and_nothing_kept(rt, serve_smtp):
    """550 5.1.1 at RCPT; with no valid recipient the message is never sent."""
    with smtplib.SMTP(*serve_smtp().address, timeout=30) as smtp, \
            pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        smtp.sendmail(ALICE, ["nobody@desk.example"], _mail())
    assert refused.value.recipients == {"nobody@desk.example": (550, b"5.1.1 Unknown mailbox")}
    assert _count(rt) == 0


def test_declared_size_over_the_limit_is_refused(rt, serve_smtp):
    """smtplib declares SIZE; over the limit it gets 552 5.3.4 at MAIL FROM."""
    with smtplib.SMTP(*serve_smtp(size_limit=2048).address, timeout=30) as smtp, \
            pytest.raises(smtplib.SMTPSenderRefused) as refused:
        smtp.sendmail(ALICE, [CARE], _mail(body=_LINES * 60))
    assert refused.value.smtp_code == 552
    assert refused.value.smtp_error.startswith(b"5.3.4 ")
    assert _count(rt) == 0


def test_data_over_the_limit_is_refused_and_nothing_kept(rt, serve_smtp):
    """A sender that does not declare SIZE is refused after DATA; no row is written."""
    with smtplib.SMTP(*serve_smtp(size_limit=2048).address, timeout=30) as smtp:
        smtp.ehlo()
        smtp.mail(ALICE)  # no SIZE parameter
        smtp.rcpt(CARE)
        code, text = smtp.data(_mail(body=_LINES * 60))
    assert (code, text.split()[0]) == (552, b"5.3.4")
    assert _count(rt) == 0


def _unreachable_database(rt, tmp_path: Path) -> Database:
    """A database that fails at the first connection, on the backend under test."""
    if rt.db.dialect == "sqlite":
        gone = tmp_path / "gone"
        db = Database(f"sqlite:///{gone / 'ticketgate.db'}")  # creates the folder
        shutil.rmtree(gone)  # and now the file cannot be created: "unable to open database"
        return db
    missing = f"tg_missing_{uuid.uuid4().hex[:12]}"
    return Database(make_url(rt.db.url).set(database=missing)
                    .render_as_string(hide_password=False))


def test_database_down_answers_451_and_keeps_nothing(rt, serve_smtp, dispatched, tmp_path):
    """Any internal failure is a temporary one: the sender keeps the mail and retries."""
    down = _unreachable_database(rt, tmp_path)
    try:
        with smtplib.SMTP(*serve_smtp(db=down).address, timeout=30) as smtp:
            smtp.ehlo()
            smtp.mail(ALICE)
            smtp.rcpt(CARE)
            code, text = smtp.data(_mail())
    finally:
        down.dispose()
    assert (code, text) == (451, replies.TEMPORARY_FAILURE[4:].encode())
    assert (_count(rt), dispatched.ids) == (0, [])


def test_lmtp_answers_each_recipient(rt, serve_smtp):
    """RFC 2033: two recipients, two replies after DATA, one committed row."""
    with smtplib.LMTP(*serve_smtp(lmtp=True).address, timeout=30) as lmtp:
        lmtp.ehlo_or_helo_if_needed()
        lmtp.mail(ALICE)
        lmtp.rcpt(CARE)
        lmtp.rcpt(ESCALATIONS)
        first = lmtp.data(_mail())
        second = lmtp.getreply()  # smtplib reads one reply; LMTP sends one per recipient
    assert first == second
    assert first[0] == 250
    assert [r.transport for r in _rows(rt)] == ["lmtp"]


AUTH = {"auth_required": True, "auth_users": (("relay", "s3cret"),)}


def test_auth_required_refuses_mail_before_login(rt, serve_smtp):
    """Without AUTH the transaction does not start (530 5.7.0)."""
    with smtplib.SMTP(*serve_smtp(**AUTH).address, timeout=30) as smtp, \
            pytest.raises(smtplib.SMTPSenderRefused) as refused:
        smtp.sendmail(ALICE, [CARE], _mail())
    assert (refused.value.smtp_code, refused.value.smtp_error) == (
        530, replies.AUTH_REQUIRED[4:].encode())
    assert _count(rt) == 0


def test_auth_with_a_wrong_password_is_refused(serve_smtp):
    """535 5.7.8: a wrong password does not authenticate."""
    with smtplib.SMTP(*serve_smtp(**AUTH).address, timeout=30) as smtp, \
            pytest.raises(smtplib.SMTPAuthenticationError) as refused:
        smtp.login("relay", "guess")
    assert refused.value.smtp_code == 535


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
def test_auth_then_mail_is_accepted(rt, serve_smtp, mechanism):
    """AUTH PLAIN and LOGIN (RFC 4954) with a configured user; plain text only on loopback."""
    with smtplib.SMTP(*serve_smtp(**AUTH).address, timeout=30) as smtp:
        smtp.ehlo()
        smtp.user, smtp.password = "relay", "s3cret"
        code, _ = smtp.auth(mechanism, getattr(smtp, f"auth_{mechanism.lower()}"),
                            initial_response_ok=mechanism == "PLAIN")
        assert code == 235
        smtp.sendmail(ALICE, [CARE], _mail())
    assert _count(rt) == 1


@pytest.fixture
def self_signed(tmp_path: Path) -> tuple[Path, Path]:
    """A throwaway certificate and key, made with the openssl command line."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "2", "-subj", "/CN=mx.desk.example"],
                   check=True, capture_output=True, timeout=60)
    return cert, key


def _client_tls() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the test's own throwaway certificate
    return context


def test_starttls_is_required_before_mail_when_configured(rt, serve_smtp, self_signed):
    """require_tls: no transaction in clear (RFC 3207 4)."""
    cert, key = self_signed
    listener = serve_smtp(tls_cert=cert, tls_key=key, require_tls=True)
    with smtplib.SMTP(*listener.address, timeout=30) as smtp:
        smtp.ehlo()
        assert smtp.has_extn("starttls")
        assert smtp.mail(ALICE) == (530, replies.TLS_REQUIRED[4:].encode())
    assert _count(rt) == 0


def test_mail_over_starttls_is_accepted(rt, serve_smtp, self_signed):
    """After STARTTLS the session goes on as usual and the bytes are kept."""
    cert, key = self_signed
    listener = serve_smtp(tls_cert=cert, tls_key=key, require_tls=True)
    with smtplib.SMTP(*listener.address, timeout=30) as smtp:
        smtp.starttls(context=_client_tls())
        smtp.sendmail(ALICE, [CARE], _mail())
    assert [r.raw for r in _rows(rt)] == [_mail()]


def test_swaks_session(rt, serve_smtp):
    """A real SMTP client (swaks) gets its mail accepted."""
    swaks = _tool("swaks")
    host, port = serve_smtp().address
    done = subprocess.run([swaks, "--server", f"{host}:{port}", "--to", CARE, "--from", ALICE,
                           "--header", "Message-Id: <swaks-1@acme.example>"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "<-  250 2.6.0 Queued as" in done.stdout
    assert [(r.message_id, r.envelope_from) for r in _rows(rt)] == [
        ("swaks-1@acme.example", ALICE)]


def test_smtp_source_sessions(rt, serve_smtp, dispatched):
    """Postfix's load generator: parallel sessions, every message committed and dispatched."""
    smtp_source = _tool("smtp-source")
    listener = serve_smtp()
    host, port = listener.address
    done = subprocess.run([smtp_source, "-s", "5", "-m", "60", "-l", "1024", "-f", ALICE,
                           "-t", CARE, f"{host}:{port}"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    listener.stop()
    rows = _rows(rt)
    assert len(rows) == len({r.message_id for r in rows}) == 60
    assert sorted(dispatched.ids) == [r.id for r in rows]


def test_database_down_logs_one_warning_line_not_tracebacks(rt, serve_smtp, tmp_path, caplog):
    """An outage is not a bug: the operator reads one warning a failed commit (what failed,
    that the sender keeps the mail and retries, the database's error on one line) and the
    mail's Message-ID, not two tracebacks a mail (writer and handler, ~115 lines each)."""
    down = _unreachable_database(rt, tmp_path)
    caplog.set_level(logging.INFO, logger="gateway.smtp")
    try:
        with smtplib.SMTP(*serve_smtp(db=down).address, timeout=30) as smtp:
            code, _ = smtp.sendmail(ALICE, [CARE], _mail("<outage-1@acme.example>")) or (250, b"")
    except smtplib.SMTPDataError as exc:
        code = exc.smtp_code
    finally:
        down.dispose()
    assert code == 451
    assert [r for r in caplog.records if r.exc_info] == []
    [warning] = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert warning.event == "intake.commit_failed" and warning.messages == 1
    text = warning.getMessage()
    assert "database is unavailable" in text and "retry" in text and "451" in text
    assert "\n" not in text and warning.error in text
    [mail] = [r for r in caplog.records if getattr(r, "event", None) == "mail.tempfailed"]
    assert mail.message_id == "outage-1@acme.example"
