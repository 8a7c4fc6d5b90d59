"""Crash test: SMTP load while ``ticketgate serve`` is SIGKILLed and restarted, over and over.

What it proves (issue 3, section 5): every message that got a 250 is in the database exactly
once, and every one is processed exactly once, however often the process dies. Clients behave
like MTAs: a message without a 250 (connection refused or cut, a 4xx) is sent again later, with
the same bytes. Bounded: 2,000 small messages, 5 kills; about a minute on a loaded 2-core box.
"""

from __future__ import annotations

import os
import queue
import random
import smtplib
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.gateway.serving import ServeProcess
from tests.support import wait_until
from workflows.storage.db import Database
from workflows.storage.models import AuditEvent, InboundMessage, TriageItem

MESSAGES = 2000
CLIENTS = 6
KILLS = 5
DRAIN_TIMEOUT = 300.0
CARE = "care@localhost"  # the mailbox a config-less serve declares


def _message(n: int) -> tuple[str, bytes]:
    message_id = f"crash-{n}@load.example"
    raw = (f"From: sender{n % 50}@load.example\r\nTo: {CARE}\r\nSubject: load {n}\r\n"
           f"Message-ID: <{message_id}>\r\n\r\nMessage number {n}.\r\n").encode()
    return message_id, raw


@pytest.fixture
def server(tmp_path: Path, database_url: str) -> Iterator[ServeProcess]:
    srv = ServeProcess(tmp_path / "home", database_url=database_url)
    srv.start()
    yield srv
    srv.ensure_dead()


class Load:
    """Client threads that send until every message has a 250, retrying like an MTA."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.todo: queue.Queue[int] = queue.Queue()
        for n in range(MESSAGES):
            self.todo.put(n)
        self.acked: dict[str, int] = {}  # Message-ID -> how many 250s it got
        self.retries = 0  # sends that got no 250 (the kills at work)
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._client, daemon=True)
                        for _ in range(CLIENTS)]

    def done(self) -> int:
        with self.lock:
            return len(self.acked)

    def _client(self) -> None:
        smtp: smtplib.SMTP | None = None
        while self.done() < MESSAGES:
            try:
                n = self.todo.get(timeout=0.2)
            except queue.Empty:
                continue
            message_id, raw = _message(n)
            try:
                if smtp is None:
                    smtp = smtplib.SMTP("127.0.0.1", self.port, timeout=30)
                smtp.sendmail(f"sender{n % 50}@load.example", [CARE], raw)
            except (OSError, smtplib.SMTPException):
                # No 250: the MTA keeps the message and tries again later (RFC 5321 4.5.4).
                self.todo.put(n)
                with self.lock:
                    self.retries += 1
                _drop(smtp)
                smtp = None
                time.sleep(0.05)
                continue
            with self.lock:
                self.acked[message_id] = self.acked.get(message_id, 0) + 1
        _drop(smtp)


def _drop(smtp: smtplib.SMTP | None) -> None:
    if smtp is not None:
        smtp.close()  # closes the socket without a QUIT: the server may be dead


def _unfinished(db: Database) -> int:
    with db.transaction() as s:
        return s.scalar(select(func.count()).select_from(InboundMessage).where(
            InboundMessage.status.in_(("received", "processing")))) or 0


def test_sigkill_under_smtp_load_loses_and_doubles_nothing(server, database_url):
    """Whatever got a 250 survives SIGKILL, is stored once and processed once."""
    rng = random.Random(int(os.environ.get("TICKETGATE_CRASH_SEED", "3")))
    load = Load(server.port)
    for thread in load.threads:
        thread.start()
    # Kill while the load runs: at spread-out progress marks, plus a random moment after.
    for kill in range(KILLS):
        mark = MESSAGES * (kill + 1) // (KILLS + 1)
        wait_until(lambda m=mark: load.done() >= m, f"{mark} messages accepted", timeout=300,
                   every=0.2)
        time.sleep(rng.uniform(0.0, 0.5))
        server.kill()
        time.sleep(rng.uniform(0.0, 0.5))  # clients meet a closed port meanwhile
        server.start()
    for thread in load.threads:
        thread.join(300)
    assert load.done() == MESSAGES
    assert load.retries > 0  # the kills did cut sessions

    db = Database(database_url)
    try:
        wait_until(lambda: _unfinished(db) == 0, "the worker to drain", timeout=DRAIN_TIMEOUT,
                   every=0.2)
        assert server.stop() == 0
        with db.transaction() as s:
            rows = list(s.execute(select(InboundMessage.id, InboundMessage.message_id,
                                         InboundMessage.status, InboundMessage.outcome)))
            triage = dict(s.execute(select(TriageItem.inbound_message_id, func.count())
                                    .group_by(TriageItem.inbound_message_id)).all())
            audits = list(s.execute(
                select(AuditEvent.inbound_message_id, AuditEvent.action, func.count())
                .where(AuditEvent.inbound_message_id.is_not(None))
                .group_by(AuditEvent.inbound_message_id, AuditEvent.action)))
    finally:
        db.dispose()
    by_message_id = {}
    for row_id, message_id, _status, _outcome in rows:
        by_message_id.setdefault(message_id, []).append(row_id)
    assert set(by_message_id) == set(load.acked)  # none lost, none invented
    assert all(len(ids) == 1 for ids in by_message_id.values())  # stored exactly once
    assert {status for _, _, status, _ in rows} == {"processed"}  # every one processed
    triaged = [row_id for row_id, _, _, outcome in rows if outcome == "triaged"]
    assert sorted(triage) == sorted(triaged)  # one triage item per triaged message ...
    assert set(triage.values()) == {1}
    assert all(count == 1 for _, _, count in audits)  # ... and each effect applied once
