"""``ticketgate serve`` as ``make run`` starts it: a fresh home, mail in, decided, clean stop."""

from __future__ import annotations

import json
import os
import re
import smtplib
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from sqlalchemy import Select, select
from sqlalchemy.engine import make_url

from tests.conftest import require_service
from tests.gateway.serving import ServeProcess
from workflows.storage.db import Database
from workflows.storage.models import InboundMessage

CARE = "care@localhost"  # the one mailbox declared without a config file


def _database_url(database_url: str) -> str | None:
    # On SQLite the home starts empty (serve must initialize it); on PostgreSQL the test's
    # own migrated database stands in for the server an operator would point at.
    return database_url if os.environ.get("TICKETGATE_TEST_BACKEND") == "postgresql" else None


@pytest.fixture
def fresh(tmp_path: Path, database_url: str) -> Iterator[ServeProcess]:
    srv = ServeProcess(tmp_path / "home", database_url=_database_url(database_url),
                       extra_args=("--http", "127.0.0.1:0"))
    srv.start()
    yield srv
    srv.ensure_dead()


def _scalar(url: str, query: Select[tuple[str]]) -> str | None:
    db = Database(url)
    try:
        with db.transaction() as s:
            return s.scalar(query)
    finally:
        db.dispose()


def _outcome(url: str, message_id: str) -> str | None:
    return _scalar(url, select(InboundMessage.outcome)
                   .where(InboundMessage.message_id == message_id))


def _inbound_status(srv: ServeProcess, database_url: str) -> str | None:
    """The status of the one inbound message ``srv`` kept (its home's SQLite, or the test's
    PostgreSQL database)."""
    return _scalar(_database_url(database_url) or f"sqlite:///{srv.home / 'ticketgate.db'}",
                   select(InboundMessage.status))


def test_fresh_home_accepts_and_decides_mail(fresh, database_url):
    """No init, no config: the first mail to care@localhost is committed and triaged."""
    raw = (b"From: someone@example.com\r\nTo: care@localhost\r\nSubject: hello\r\n"
           b"Message-ID: <first@example.com>\r\n\r\nIs anyone there?\r\n")
    with smtplib.SMTP(*fresh.address, timeout=30) as smtp:
        smtp.sendmail("someone@example.com", [CARE], raw)
    url = _database_url(database_url) or f"sqlite:///{fresh.home / 'ticketgate.db'}"
    deadline = time.monotonic() + 30
    while _outcome(url, "first@example.com") is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _outcome(url, "first@example.com") == "triaged"


def test_start_says_where_it_listens_and_how_to_send_a_first_mail(fresh):
    """The operator sees the address, a command to copy, and where the console is."""
    # The console line is printed last; SMTP already answers before any of it is printed.
    out = fresh.wait_for_output("console and API: http://127.0.0.1:")
    host, port = fresh.address
    assert f"SMTP on {host}:{port}" in out
    assert f"swaks --server {host}:{port} --to {CARE} --from you@example.com" in out


def test_console_is_served_beside_smtp(fresh):
    """One process serves the console too: /healthz answers with the database reachable."""
    out = fresh.wait_for_output("console and API: http://")  # printed after SMTP answers
    found = re.search(r"console and API: (http://\S+)", out)
    assert found, out
    url = found.group(1)
    with urllib.request.urlopen(url.rstrip("/") + "/healthz", timeout=30) as response:
        body = json.loads(response.read())
    assert response.status == 200 and body["checks"]["database"] == "ok"


def test_sigterm_stops_cleanly(fresh):
    """SIGTERM flushes and exits 0 (what a service manager expects)."""
    assert fresh.stop() == 0


def test_listener_role_hands_mail_to_the_broker(tmp_path, database_url):
    """--role listener: the committed id goes to Celery's queue; nothing is processed here."""
    broker = require_service("TICKETGATE_TEST_REDIS_URL", "Redis")
    queue = f"tg-test-{uuid.uuid4().hex[:12]}"  # our own queue: the server may hold others'
    srv = ServeProcess(tmp_path / "home", database_url=_database_url(database_url),
                       extra_args=("--role", "listener"),
                       env={"TICKETGATE_BROKER_URL": broker, "TICKETGATE_QUEUE": queue})
    client = redis.Redis.from_url(broker)
    try:
        srv.start()
        raw = (b"From: someone@example.com\r\nTo: care@localhost\r\nSubject: hello\r\n"
               b"Message-ID: <listener@example.com>\r\n\r\nAnyone?\r\n")
        with smtplib.SMTP(*srv.address, timeout=30) as smtp:
            smtp.sendmail("someone@example.com", [CARE], raw)
        deadline = time.monotonic() + 30
        while client.llen(queue) < 1 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert client.llen(queue) == 1
        assert srv.stop() == 0
        assert _inbound_status(srv, database_url) == "received"
    finally:
        srv.ensure_dead()
        client.delete(queue)
        client.close()


def test_an_unreachable_database_stops_the_start_in_one_line(tmp_path):
    """An initialized home, its database gone: exit 3 with the reason, not a warning that it
    is "initializing" the home followed by the migration's log."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TICKETGATE_")}
    env["TICKETGATE_HOME"] = str(tmp_path / "home")
    ticketgate = [sys.executable, "-c", "import sys; from gateway.cli import main; "
                  "sys.exit(main(sys.argv[1:]))"]
    subprocess.run([*ticketgate, "init"], env=env, check=True, capture_output=True, timeout=60)
    env["TICKETGATE_DATABASE_URL"] = "postgresql+psycopg://desk@127.0.0.1:9/desk"  # closed
    done = subprocess.run([*ticketgate, "serve", "--smtp", "127.0.0.1:0", "--http",
                           "127.0.0.1:0"], env=env, capture_output=True, text=True, timeout=60,
                          check=False)
    [line] = done.stderr.splitlines()
    assert done.returncode == 3
    assert line.startswith("ticketgate: error: cannot reach the database: "), line


def test_listener_role_without_a_broker_is_refused_in_one_line(tmp_path):
    """--role listener hands every mail to Celery workers: with no broker configured it must
    not start (it used to accept mail, log a traceback and publish to Celery's default,
    amqp://guest@localhost//, where no worker of this desk listens), but exit 2 naming the
    setting."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TICKETGATE_")}
    env["TICKETGATE_HOME"] = str(tmp_path / "home")
    ticketgate = [sys.executable, "-c", "import sys; from gateway.cli import main; "
                  "sys.exit(main(sys.argv[1:]))"]
    done = subprocess.run([*ticketgate, "serve", "--role", "listener", "--smtp", "127.0.0.1:0",
                           "--http", "127.0.0.1:0"], env=env, capture_output=True, text=True,
                          timeout=60, check=False)
    [line] = done.stderr.splitlines()
    assert done.returncode == 2
    assert line.startswith("ticketgate: error: "), line
    assert "TICKETGATE_BROKER_URL" in line


def test_listener_whose_broker_refuses_its_login_keeps_the_mail_and_warns_in_one_line(
        tmp_path, database_url):
    """RabbitMQ refusing the login (or a vhost that is gone) raises amqp's AccessRefused /
    NotAllowed, which kombu does not wrap as OperationalError: the listener logged a traceback
    as an error. It is a broker that is down for us: 250 (the mail is committed), one warning
    line, the row left for the sweeper."""
    url = make_url(require_service("TICKETGATE_TEST_AMQP_URL", "RabbitMQ"))
    refused = url.set(password=f"wrong-{uuid.uuid4().hex[:8]}").render_as_string(
        hide_password=False)
    srv = ServeProcess(tmp_path / "home", database_url=_database_url(database_url),
                       extra_args=("--role", "listener"),
                       env={"TICKETGATE_BROKER_URL": refused, "TICKETGATE_LOG_FORMAT": "json"})
    try:
        srv.start()
        raw = (b"From: someone@example.com\r\nTo: care@localhost\r\nSubject: hello\r\n"
               b"Message-ID: <refused@example.com>\r\n\r\nAnyone?\r\n")
        with smtplib.SMTP(*srv.address, timeout=30) as smtp:
            smtp.sendmail("someone@example.com", [CARE], raw)
        out = srv.wait_for_output("<refused@example.com> #1: broker unavailable, left for the")
        assert srv.stop() == 0
        assert "Traceback" not in out
        assert _inbound_status(srv, database_url) == "received"
    finally:
        srv.ensure_dead()
