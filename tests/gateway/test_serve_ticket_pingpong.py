"""A ticket ping-pong with another help desk, through ``ticketgate serve``, stops by itself.

The designated contact's address is another desk whose autoresponder acknowledges every mail
as a person would write it (``tests.gateway.peer_desk``). Each acknowledgement is new mail from a
designated contact to an ``open_case`` mailbox, so it opens a case, which we acknowledge,
which it acknowledges... RFC 3834 2: a responder must not answer the same sender without end.
Here serve mails the peer through its SMTP transport and the peer answers into serve's SMTP
port; one customer mail starts it, and the test waits until nothing is left to send or process.
"""

from __future__ import annotations

import json
import smtplib
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage

import pytest
from sqlalchemy import select

from tests.celery_worker import wait_until, write_config
from tests.gateway.peer_desk import PeerDesk, start_peer
from tests.gateway.serving import ServeProcess
from workflows.domain import MessageStatus, OutboundStatus
from workflows.settings import Settings
from workflows.storage.db import Database
from workflows.storage.models import InboundMessage, OutboundMessage

PEER = "helpdesk@peer.example"
NEW = "new@desk.example"  # policy open_case (tests.conftest.MAILBOXES)
_MAIN = "import sys; from gateway.cli import main; sys.exit(main(sys.argv[1:]))"
_SETTLED = (OutboundStatus.QUEUED.value, OutboundStatus.DEFERRED.value)


@dataclass
class Desk:
    serve: ServeProcess
    peer: PeerDesk
    db: Database

    def cli(self, *argv: str) -> list[dict]:
        done = subprocess.run([sys.executable, "-c", _MAIN, *argv], env=self.serve.env,
                              capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stderr
        return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]

    def settled(self) -> bool:
        """Every inbound row processed and no outbox row left to send: with the peer
        answering before its 250, nothing more can arrive (module docstring of peer_desk)."""
        with self.db.transaction() as s:
            statuses = s.scalars(select(InboundMessage.status)).all()
            unsent = s.scalars(select(OutboundMessage.id)
                               .where(OutboundMessage.status.in_(_SETTLED))).first()
        return bool(statuses) and unsent is None and all(
            status == MessageStatus.PROCESSED.value for status in statuses)

    def outbound_statuses(self) -> Counter[str]:
        with self.db.transaction() as s:
            return Counter(s.scalars(select(OutboundMessage.status)))

    def outcomes(self) -> Counter[tuple[str | None, str | None]]:
        with self.db.transaction() as s:
            return Counter((outcome, reason) for outcome, reason in s.execute(
                select(InboundMessage.outcome, InboundMessage.reason)))


def _desk(settings: Settings, **env: str) -> Iterator[Desk]:
    write_config(settings)  # the mailboxes of tests.conftest: new@desk.example opens cases
    serve = ServeProcess(settings.home, database_url=settings.database_url, env=env)
    peer = PeerDesk(PEER, NEW, serve.address)
    controller, port = start_peer(peer)
    serve.env["TICKETGATE_TRANSPORT"] = f"smtp://127.0.0.1:{port}"
    db = Database(settings.database_url)
    desk = Desk(serve, peer, db)
    try:
        desk.cli("org", "add", "Peer", "--domain", "peer.example", "--tz", "UTC")
        desk.cli("contact", "add", "Peer", PEER, "--name", "Peer Help Desk")
        serve.start()
        yield desk
    finally:
        serve.stop()
        controller.stop()
        db.dispose()


@pytest.fixture
def limited(settings: Settings) -> Iterator[Desk]:
    """Three new cases per sender, and every case acknowledged: the limit alone stops it."""
    yield from _desk(settings, TICKETGATE_NEW_CASES_PER_SENDER="3",
                     TICKETGATE_NEW_CASE_ACK_MINUTES="0")


@pytest.fixture
def defaults(settings: Settings) -> Iterator[Desk]:
    yield from _desk(settings)


def _first_mail(desk: Desk) -> None:
    msg = EmailMessage()
    msg["From"] = PEER
    msg["To"] = NEW
    msg["Subject"] = "Our agents cannot log in"
    msg["Message-ID"] = "<first-request@peer.example>"
    msg.set_content("Since this morning no agent can log in to the desktop.")
    with smtplib.SMTP(*desk.serve.address, timeout=30) as smtp:
        smtp.sendmail(PEER, [NEW], msg.as_bytes())


def test_pingpong_stops_at_the_new_case_limit(limited):
    """Three cases, each acknowledged; the peer's third acknowledgement waits in triage as
    new_case_flood, unanswered, and the exchange ends there."""
    _first_mail(limited)
    wait_until(limited.settled, "the exchange to settle")
    outcomes = limited.outcomes()
    assert outcomes[("linked", "new_case")] == 3, outcomes
    assert outcomes[("triaged", "new_case_flood")] == 1, outcomes
    assert sum(outcomes.values()) == 4, outcomes
    assert len(limited.peer.received) == 3
    flood = limited.cli("triage", "list", "--reason", "new_case_flood")
    assert [(item["from"], item["suggested_case"]) for item in flood] == [(PEER, "CASE-1003")]
    assert "open it as a case or link it" in flood[0]["why"]
    assert limited.outbound_statuses() == Counter({"sent": 3})  # no hourly cap was needed


def test_pingpong_stops_after_one_acknowledgement_by_default(defaults):
    """With the defaults the peer's first acknowledgement opens a case that is not
    acknowledged (one acknowledgement per sender per window): two cases, one mail to the peer."""
    _first_mail(defaults)
    wait_until(defaults.settled, "the exchange to settle")
    outcomes = defaults.outcomes()
    assert outcomes == Counter({("linked", "new_case"): 2}), outcomes
    assert len(defaults.peer.received) == 1
    assert defaults.outbound_statuses() == Counter({"sent": 1})
