"""A real ``ticketgate notice send`` killed with SIGKILL mid-send never mails anyone twice."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from gateway.smtp_client import SmtpTransport
from tests.conftest import ROOT
from tests.notices.conftest import free_port
from workflows.cases import directory
from workflows.notices import service
from workflows.notices.model import NoticeKind, NoticeRequest
from workflows.notices.scheduler import run_due
from workflows.storage.models import NoticeDelivery


class StallingSink:
    """Takes ``before`` messages, then holds the next one until released (or forever)."""

    def __init__(self, before: int) -> None:
        self.before = before
        self.received: list[str] = []
        self.stalled, self.release = threading.Event(), threading.Event()

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        if len(self.received) == self.before and not self.release.is_set():
            self.stalled.set()
            while not self.release.is_set():
                await asyncio.sleep(0.02)
        self.received.append(envelope.rcpt_tos[0])
        return "250 2.0.0 OK"


@pytest.fixture
def stalling():  # type: ignore[no-untyped-def]
    handler = StallingSink(before=2)
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield handler, controller.port
    handler.release.set()
    controller.stop()


def wait_until(condition, what: str, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_sigkill_mid_send_leaves_uncertain_rows_that_are_never_resent(rt, stalling, tmp_path):
    """The process dies while the server holds message 3 of 6: two were delivered, one may
    have been; later passes report all six claims as uncertain and send nothing again (the
    batch's claims are recorded together, so its unsent rows are uncertain too: a missing
    notice rather than a duplicate)."""
    handler, port = stalling
    rt = dataclasses.replace(rt, transport=SmtpTransport("127.0.0.1", port))
    with rt.db.transaction() as s:
        directory.add_organization(
            s, name="Initech", domains=["initech.example"], timezone="America/Denver",
            country="US", notify=[f"noc{i}@initech.example" for i in range(6)], now=rt.now())
        ref = service.create_notice(s, rt.settings, NoticeRequest(
            NoticeKind.ADVISORY, "TLS 1.0 retirement", "Old clients fail",
            link="https://status.desk.example/tls"), now=rt.now(), actor="t").reference
    config = tmp_path / "config.toml"
    config.write_text(f'[gateway]\nfrom_address = "care@desk.example"\n'
                      f'transport = "smtp://127.0.0.1:{port}"\n'
                      '[[mailbox]]\naddress = "care@desk.example"\n')
    env = {**os.environ, "TICKETGATE_HOME": str(rt.settings.home),
           "TICKETGATE_DATABASE_URL": rt.settings.database_url,
           "TICKETGATE_CONFIG": str(config), "TICKETGATE_SQLITE_SYNCHRONOUS": "NORMAL",
           "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-c", "from gateway.cli import main; raise SystemExit(main())",
         "notice", "send", ref], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: handler.stalled.is_set() or proc.poll() is not None,
                   "the send to reach message 3")
        assert handler.stalled.is_set(), f"ticketgate exited early ({proc.returncode})"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    # Message 3 is the "maybe": whether the server keeps a message whose sender vanished
    # before the reply is the server's business (aiosmtpd drops it), we cannot know.
    handler.release.set()
    now = dt.datetime.now(dt.UTC)
    report = run_due(rt, now + dt.timedelta(minutes=20)).sent
    again = run_due(rt, now + dt.timedelta(hours=2)).sent
    with rt.db.transaction() as s:
        states = Counter(s.scalars(select(NoticeDelivery.status)))
    assert (report.uncertain, report.sent, again.uncertain, again.sent) == (6, 0, 0, 0)
    assert states == {"uncertain": 6}
    assert len(handler.received) in (2, 3) and max(Counter(handler.received).values()) == 1
