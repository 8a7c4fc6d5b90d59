"""Another help desk on loopback: an SMTP server whose autoresponder acknowledges every mail.

It is the worst peer RFC 3834 allows to exist: every acknowledgement is a fresh mail (its own
subject and Message-ID), with no ``Auto-Submitted`` (RFC 3834 5), no ``Precedence``, no
``X-Autoreply``, no ``In-Reply-To``/``References`` and nothing of the mail it answers, sent
from the very address it received at. To the gateway each one looks like a person's new mail.

The acknowledgement is handed to the gateway's SMTP port before the peer answers 250 to the
mail it acknowledges, so once the gateway records a mail to the peer as sent, the peer's answer
to it is already committed there: "no outbox row left to send and no inbound row left to
process" then means nothing more can happen.
"""

from __future__ import annotations

import asyncio
import smtplib
import threading
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from tests.acceptance.sink import OsPortController


class PeerDesk:
    """aiosmtpd handler: keeps what it receives and acknowledges each mail to ``reply_to``."""

    def __init__(self, address: str, reply_to: str, gateway: tuple[str, int]) -> None:
        self.address = address
        self.reply_to = reply_to
        self.gateway = gateway
        self.received: list[bytes] = []
        self.acknowledged = 0
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self._lock:
            self.received.append(bytes(envelope.content))
            ticket = len(self.received)
        # The ticket number is kept short: a six-digit number is a case number of ours.
        await asyncio.get_running_loop().run_in_executor(None, self._acknowledge, ticket)
        return "250 2.0.0 queued"

    def acknowledgement(self, ticket: int) -> bytes:
        msg = EmailMessage()
        msg["From"] = f"Peer Help Desk <{self.address}>"
        msg["To"] = self.reply_to
        msg["Subject"] = f"[Peer #{ticket}] We have received your request"
        msg["Message-ID"] = f"<peer-ticket-{ticket}@peer.example>"
        msg.set_content(f"Thank you for contacting us. Your request is logged as ticket "
                        f"#{ticket}; an agent will get back to you.\n")
        return msg.as_bytes()

    def _acknowledge(self, ticket: int) -> None:
        with smtplib.SMTP(*self.gateway, timeout=30) as smtp:
            smtp.sendmail(self.address, [self.reply_to], self.acknowledgement(ticket))
        with self._lock:
            self.acknowledged += 1


def start_peer(peer: PeerDesk) -> tuple[Controller, int]:
    controller = OsPortController(peer, hostname="127.0.0.1")
    controller.start()
    return controller, int(controller.port)
