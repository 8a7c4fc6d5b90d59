"""``ticketgate serve``: a message over its time limit in the embedded worker is failed."""

from __future__ import annotations

import smtplib
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.gateway.serving import ServeProcess
from tests.gateway.test_serve import _database_url
from workflows.storage.db import Database
from workflows.storage.models import InboundMessage

CARE = "care@localhost"


@pytest.fixture
def strict(tmp_path: Path, database_url: str) -> Iterator[ServeProcess]:
    """serve with a time limit no processing can meet and one attempt per message."""
    srv = ServeProcess(tmp_path / "home", database_url=_database_url(database_url),
                       env={"TICKETGATE_PROCESS_TIME_LIMIT": "0.000000001",
                            "TICKETGATE_PROCESS_MAX_ATTEMPTS": "1"})
    srv.start()
    yield srv
    srv.ensure_dead()


def _row(url: str, message_id: str) -> tuple[str, str | None, int] | None:
    db = Database(url)
    try:
        with db.transaction() as s:
            row = s.scalars(select(InboundMessage)
                            .where(InboundMessage.message_id == message_id)).first()
            return (row.status, row.error, row.attempts) if row else None
    finally:
        db.dispose()


def test_overrun_in_the_embedded_worker_is_failed(strict, database_url):
    """The attempt overruns, is rolled back and counted; its last attempt makes it failed."""
    raw = (b"From: someone@example.com\r\nTo: care@localhost\r\nSubject: slow\r\n"
           b"Message-ID: <slow@example.com>\r\n\r\nTakes for ever.\r\n")
    with smtplib.SMTP(*strict.address, timeout=30) as smtp:
        smtp.sendmail("someone@example.com", [CARE], raw)
    url = _database_url(database_url) or f"sqlite:///{strict.home / 'ticketgate.db'}"
    deadline = time.monotonic() + 30
    while (_row(url, "slow@example.com") or ("",))[0] != "failed":
        assert time.monotonic() < deadline, strict.output()
        time.sleep(0.2)
    status, error, attempts = _row(url, "slow@example.com")  # type: ignore[misc]
    assert (status, attempts, "time limit" in (error or "")) == ("failed", 1, True)
    assert "overran its time limit" in strict.output()
