"""The SMTP/LMTP edge: mail from MTAs (Postfix, Exim, a relay) in, committed rows out.

Place in the flow: the first box of ``SMTP/LMTP (aiosmtpd) -> intake.accept``. ``start_listener``
wires the three parts: ``server`` (socket, sessions, TLS, AUTH), ``handler`` (what each command
gets) and ``writer`` (the group commit that comes before every 250). ``replies`` holds every
word we answer.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from gateway.smtp.handler import IntakeHandler
from gateway.smtp.protocol import mail_on_the_way
from gateway.smtp.server import SmtpListener
from gateway.smtp.writer import GroupCommitWriter
from workflows.inbound.dispatch import Dispatcher
from workflows.settings import Settings
from workflows.storage.db import Database


def start_listener(settings: Settings, db: Database, dispatcher: Dispatcher, *,
                   clock: Callable[[], dt.datetime] | None = None) -> SmtpListener:
    """Start the writer and the listener from ``settings.smtp``; returns the running listener
    (``.address`` is where it listens, ``.stop()`` flushes and stops it). ``clock`` stamps
    ``received_at`` (the runtime's; None: the system clock). Acts."""
    writer = GroupCommitWriter(db, dispatcher, window=settings.smtp.group_commit_ms / 1000.0,
                               clock=clock)
    writer.start()
    handler = IntakeHandler(settings, writer, lmtp=settings.smtp.lmtp)
    listener = SmtpListener(settings.smtp, handler, writer)
    sessions = listener.sessions
    writer.expecting = lambda batch: mail_on_the_way(sessions, batch, writer.answered)
    try:
        listener.start()
    except BaseException:
        writer.close()
        raise
    return listener


__all__ = ["GroupCommitWriter", "IntakeHandler", "SmtpListener", "start_listener"]
