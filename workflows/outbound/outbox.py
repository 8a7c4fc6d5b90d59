"""Send what the outbox holds, after the transaction that queued it has committed.

Place in the flow: the last step of processing a message or an analyst's post
(``Runtime.send_outbox`` with the ids just queued), and the ``case-mail`` job of the clock
(``workflows.clock.jobs``), which sends what is due: mail a crash left queued, and mail deferred by
a temporary failure whose ``next_attempt_at`` has come. A 4xx (or a connection lost before the
message was taken) defers the row with the backoff notices use (``workflows.outbound.backoff``,
``Settings.mail_retry_minutes``); a 5xx, or a 4xx after the last retry, fails it. Sending is
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

from sqlalchemy import and_, or_, select, update

from workflows.domain import OutboundStatus
from workflows.outbound.backoff import next_attempt
from workflows.storage.db import Database
from workflows.storage.models import OutboundMessage

log = logging.getLogger(__name__)
# The default wait before each retry of a temporary failure (``Settings.mail_retry_minutes``);
# after the last one the mail is failed. The same default as notices' ``notice_retry_minutes``.
DEFAULT_RETRY_MINUTES = (5, 15, 60, 240)
# How long a sender holds a row it is sending; past it, a sender that died is retried.
SENDING_LEASE = dt.timedelta(minutes=15)
PENDING = (OutboundStatus.QUEUED.value, OutboundStatus.DEFERRED.value)


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


def _due(now: dt.datetime):  # type: ignore[no-untyped-def]
    """Rows to send at ``now``: queued, or deferred (or claimed) until a time that has come."""
    return and_(OutboundMessage.status.in_(PENDING),
                or_(OutboundMessage.next_attempt_at.is_(None),
                    OutboundMessage.next_attempt_at <= now))


@dataclass(frozen=True, slots=True)
class DueMail:
    """An outbox row due for sending: queued, or deferred until a time that has come."""

    message_id: str
    kind: str
    status: str
    attempts: int


def list_due(db: Database, now: dt.datetime) -> tuple[DueMail, ...]:
    """The outbox rows a send at ``now`` would try, oldest first (changes nothing)."""
    with db.transaction() as session:
        return tuple(DueMail(*row) for row in session.execute(
            select(OutboundMessage.message_id, OutboundMessage.kind, OutboundMessage.status,
                   OutboundMessage.attempts).where(_due(now)).order_by(OutboundMessage.id)))


def send_queued(
    db: Database,
    transport: Transport,
    sender: str,
    *,
    ids: Iterable[int] | None = None,
    now: dt.datetime | None = None,
    retry_minutes: Sequence[int] = DEFAULT_RETRY_MINUTES,
) -> SendReport:
    """Send the outbox rows due at ``now`` (those in ``ids``, or all), each claimed, handed to
    the transport and recorded in commits of its own."""
    now = now or dt.datetime.now(dt.UTC)
    query = select(OutboundMessage.id).where(_due(now))
    if ids is not None:
        wanted = list(ids)
        if not wanted:
            return SendReport(0, 0, 0)
        query = query.where(OutboundMessage.id.in_(wanted))
    with db.transaction() as session:
        pending = list(session.scalars(query.order_by(OutboundMessage.id)))
    sent = deferred = failed = 0
    for out_id in pending:
        claimed = _claim(db, out_id, now)
        if claimed is None:
            continue  # another sender has it, or it was settled meanwhile
        raw, recipients, message_id, attempts = claimed
        error: TransportError | None = None
        try:
            transport.send(raw, sender, recipients, message_id)
        except TransportError as exc:
            error = exc
        with db.transaction() as session:
            row = session.get(OutboundMessage, out_id)
            assert row is not None
            row.attempts = attempts + 1
            later = None if error is None else next_attempt(
                temporary=error.temporary, attempts_before=attempts, at=now,
                schedule_minutes=retry_minutes)
            row.next_attempt_at = later
            if error is None:
                row.status = OutboundStatus.SENT.value
                row.sent_at = now
                row.last_error = None
                sent += 1
                log.info("outbound <%s> sent", message_id, extra={
                    "event": "mail.sent", "outbound_id": out_id, "message_id": message_id,
                    "kind": row.kind, "recipients": len(recipients), "attempt": attempts + 1})
            elif later is not None:
                row.status = OutboundStatus.DEFERRED.value
                row.last_error = str(error)
                deferred += 1
                log.warning("outbound <%s> deferred until %s: %s", message_id,
                            later.isoformat(), error)
            else:
                row.status = OutboundStatus.FAILED.value
                row.last_error = str(error)
                failed += 1
                log.error("outbound <%s> failed after %d attempt(s): %s", message_id,
                          attempts + 1, error)
    return SendReport(sent, deferred, failed)


def _claim(db: Database, out_id: int, now: dt.datetime
           ) -> tuple[bytes, list[str], str, int] | None:
    """Take the row for this sender: a compare-and-set that moves its ``next_attempt_at`` to
    the end of a lease, so a second sender (the clock's job beside the command that queued
    it) finds it not due and leaves it. A sender that dies holding it leaves it due again
    when the lease ends: case mail is sent at least once."""
    with db.transaction() as session:
        result = session.execute(
            update(OutboundMessage).where(OutboundMessage.id == out_id, _due(now))
            .values(next_attempt_at=now + SENDING_LEASE)
            .execution_options(synchronize_session=False))
        if not result.rowcount:  # type: ignore[attr-defined]
            return None
        row = session.get(OutboundMessage, out_id)
        assert row is not None
        return row.raw, list(row.recipients), row.message_id, row.attempts
