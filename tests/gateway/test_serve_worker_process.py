"""``ticketgate serve`` runs its worker in a process of its own, supervised (issue 15).

Judged from outside: the worker's pid as ``serve`` prints it, SMTP on loopback, and the rows in
the database. Waits are for conditions (a log line, a row count, a pid gone), never fixed sleeps.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import smtplib
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from gateway.supervisor import WORKER_NICENESS
from tests.gateway.serving import ServeProcess
from tests.support import wait_until
from workflows.storage.db import Database
from workflows.storage.models import AuditEvent, InboundMessage, TriageItem

CARE = "care@localhost"  # the one mailbox declared without a config file
MESSAGES = 60
STARTED = re.compile(r"worker process (\d+) started")


def _backend_url(database_url: str) -> str | None:
    # SQLite: serve initializes its own home; PostgreSQL: the test's migrated database.
    return database_url if os.environ.get("TICKETGATE_TEST_BACKEND") == "postgresql" else None


@pytest.fixture
def server(tmp_path: Path, database_url: str) -> Iterator[ServeProcess]:
    srv = ServeProcess(tmp_path / "home", database_url=_backend_url(database_url))
    srv.start()
    yield srv
    srv.ensure_dead()
    for pid in _worker_pids(srv):  # never leave a worker behind, whatever the test did
        _kill_quietly(pid)


@pytest.fixture
def db(server: ServeProcess, database_url: str) -> Iterator[Database]:
    url = _backend_url(database_url) or f"sqlite:///{server.home / 'ticketgate.db'}"
    database = Database(url)
    yield database
    database.dispose()


def _worker_pids(srv: ServeProcess) -> list[int]:
    return [int(pid) for pid in STARTED.findall(srv.output())]


def _kill_quietly(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie answers signal 0 but runs nothing: read its state
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


WAIT = 120.0  # seconds for a process to start, die or drain, on a busy CI machine


def _first_worker(srv: ServeProcess) -> int:
    wait_until(lambda: _worker_pids(srv), "the worker process to start", timeout=WAIT)
    return _worker_pids(srv)[0]


def _send(srv: ServeProcess, numbers: range) -> None:
    with smtplib.SMTP(*srv.address, timeout=60) as smtp:
        for n in numbers:
            raw = (f"From: sender{n}@load.example\r\nTo: {CARE}\r\nSubject: kill {n}\r\n"
                   f"Message-ID: <kill-{n}@load.example>\r\n\r\nMessage {n}.\r\n").encode()
            smtp.sendmail(f"sender{n}@load.example", [CARE], raw)  # raises unless 250


def _unfinished(db: Database) -> int:
    with db.transaction() as s:
        return s.scalar(select(func.count()).select_from(InboundMessage).where(
            InboundMessage.status.in_(("received", "processing")))) or 0


def _stored(db: Database) -> int:
    with db.transaction() as s:
        return s.scalar(select(func.count()).select_from(InboundMessage)) or 0


def test_worker_killed_is_restarted_and_nothing_is_lost_or_doubled(server, db):
    """kill -9 of the worker process amid SMTP mail: a new one starts and every mail that got
    a 250 is processed exactly once (one row, processed, one triage item, one audit each)."""
    first = _first_worker(server)
    _send(server, range(0, MESSAGES // 2))
    os.kill(first, signal.SIGKILL)
    _send(server, range(MESSAGES // 2, MESSAGES))  # the listener keeps taking mail meanwhile
    wait_until(lambda: len(_worker_pids(server)) >= 2, "a new worker process", timeout=WAIT)
    second = _worker_pids(server)[-1]
    assert second != first and _alive(second) and not _alive(first)
    wait_until(lambda: _stored(db) == MESSAGES and _unfinished(db) == 0, "every mail processed",
               timeout=WAIT)
    with db.transaction() as s:
        rows = list(s.execute(select(InboundMessage.message_id, InboundMessage.status,
                                     InboundMessage.outcome)))
        triage = list(s.execute(select(TriageItem.inbound_message_id, func.count())
                                .group_by(TriageItem.inbound_message_id)))
        audits = list(s.execute(
            select(AuditEvent.inbound_message_id, AuditEvent.action, func.count())
            .where(AuditEvent.inbound_message_id.is_not(None))
            .group_by(AuditEvent.inbound_message_id, AuditEvent.action)))
    assert sorted(m for m, _, _ in rows) == sorted(f"kill-{n}@load.example"
                                                   for n in range(MESSAGES))
    assert {status for _, status, _ in rows} == {"processed"}
    assert {outcome for _, _, outcome in rows} == {"triaged"}
    assert len(triage) == MESSAGES and {count for _, count in triage} == {1}
    assert audits and all(count == 1 for _, _, count in audits)


def test_the_worker_process_runs_nicer_than_serve(server):
    """During a burst the listener wins the CPU: the worker's niceness is serve's plus
    ``WORKER_NICENESS``."""
    worker = _first_worker(server)
    assert server.proc is not None
    expected = min(19, os.getpriority(os.PRIO_PROCESS, server.proc.pid) + WORKER_NICENESS)
    assert os.getpriority(os.PRIO_PROCESS, worker) == expected


def test_sigterm_stops_the_worker_process_too(server):
    """A clean stop of serve is a clean stop of its worker: exit 0 and no process left."""
    worker = _first_worker(server)
    assert server.stop() == 0
    assert not _alive(worker)


def test_worker_process_stops_when_serve_is_killed(server):
    """SIGKILL of serve leaves no orphan: the worker sees its input end and stops."""
    worker = _first_worker(server)
    server.kill()
    wait_until(lambda: not _alive(worker), "the orphaned worker to stop", timeout=60)
