"""Send what the outbox holds, after the transaction that queued it has committed.

Place in the flow: the last step of processing a message or an analyst's post. Sending is
at-least-once: a crash between the transport accepting a mail and the row being marked sent
sends it again on the next pass, with the same pre-generated Message-ID so the recipient's client
can tell it is the same mail.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import select

from workflows.domain import OutboundStatus
from workflows.storage.db import Database
from workflows.storage.models import OutboundMessage

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 8


class TransportError(Exception):
    """A send failed. ``temporary`` (SMTP 4xx, connection trouble) means try again later."""

    def __init__(self, message: str, *, temporary: bool) -> None:
        super().__init__(message)
        self.temporary = temporary


class UncertainDelivery(TransportError):
    """The connection broke after the end of DATA: the server may have taken the message
    (RFC 5321 6.1). Case mail retries it (at-least-once); notices never resend it unasked."""

    def __init__(self, message: str) -> None:
        super().__init__(message, temporary=True)


class Transport(Protocol):
    def send(self, raw: bytes, sender: str, recipients: Sequence[str], message_id: str) -> None:
        """Hand one message over; raise ``TransportError`` when it was not taken."""


@dataclass(frozen=True, slots=True)
class SendReport:
    sent: int
    deferred: int
    failed: int


def send_queued(
    db: Database,
    transport: Transport,
    sender: str,
    *,
    ids: Iterable[int] | None = None,
    now: dt.datetime | None = None,
) -> SendReport:
    """Send queued outbox rows (those in ``ids``, or all), marking each in its own commit."""
    query = select(OutboundMessage.id).where(
        OutboundMessage.status == OutboundStatus.QUEUED.value
    )
    if ids is not None:
        wanted = list(ids)
        if not wanted:
            return SendReport(0, 0, 0)
        query = query.where(OutboundMessage.id.in_(wanted))
    with db.transaction() as session:
        pending = list(session.scalars(query.order_by(OutboundMessage.id)))
    sent = deferred = failed = 0
    for out_id in pending:
        with db.transaction() as session:
            row = session.get(OutboundMessage, out_id)
            if row is None or row.status != OutboundStatus.QUEUED.value:
                continue
            raw, recipients, message_id = row.raw, list(row.recipients), row.message_id
        error: TransportError | None = None
        try:
            transport.send(raw, sender, recipients, message_id)
        except TransportError as exc:
            error = exc
        with db.transaction() as session:
            row = session.get(OutboundMessage, out_id)
            assert row is not None
            row.attempts += 1
            if error is None:
                row.status = OutboundStatus.SENT.value
                row.sent_at = now or dt.datetime.now(dt.UTC)
                sent += 1
            elif error.temporary and row.attempts < MAX_ATTEMPTS:
                row.last_error = str(error)
                deferred += 1
                log.warning("outbound <%s> deferred: %s", message_id, error)
            else:
                row.status = OutboundStatus.FAILED.value
                row.last_error = str(error)
                failed += 1
                log.error("outbound <%s> failed: %s", message_id, error)
    return SendReport(sent, deferred, failed)
