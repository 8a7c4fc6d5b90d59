"""How outbound mail is doing: what waits for a retry, what failed for good, what was held.

Place in the flow: outside the message flow, read by the operator's views: ``ticketgate health``
(``gateway.cli.health``) and the console's ``/health`` page (``gateway.http.pages_health``).
Case mail (the outbox) and notice deliveries keep the same per-row state -- ``deferred`` with a
``next_attempt_at`` after a temporary failure, ``failed`` after a permanent one or the last retry
(``workflows.outbound.backoff``) -- and the clock's ``case-mail`` and ``notice-deliveries`` jobs
retry them; this module counts them and lists the case mail that needs a look. A case mail
``held`` was never sent on purpose (an automated answer past ``automated_per_hour``): counted
and listed apart from ``failed``, with its reason, so a burst of auto-replies reads as the limit
doing its work, not as failures.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflows.domain import OutboundStatus
from workflows.notices.model import DeliveryStatus
from workflows.storage.models import Case, NoticeDelivery, OutboundMessage

LISTED = 50  # case mails listed (newest first); the counts cover them all


@dataclass(frozen=True, slots=True)
class WaitingMail:
    """A case mail deferred (waiting for its next attempt), failed, or held (with why)."""

    message_id: str
    kind: str
    case: str | None
    status: str
    attempts: int
    next_attempt_at: dt.datetime | None
    last_error: str | None


@dataclass(frozen=True, slots=True)
class MailHealth:
    case_mail: dict[str, int]  # outbox rows by status (every status, zeros included)
    case_mail_next_retry: dt.datetime | None  # the earliest deferred case mail's next attempt
    notice_deliveries: dict[str, int]  # notice deliveries by status
    notice_next_retry: dt.datetime | None
    waiting: tuple[WaitingMail, ...]  # deferred, failed and held case mail, newest first


def mail_health(session: Session) -> MailHealth:
    case_mail = {s.value: 0 for s in OutboundStatus} | {
        status: int(n) for status, n in session.execute(
            select(OutboundMessage.status, func.count()).group_by(OutboundMessage.status))}
    notices = {s.value: 0 for s in DeliveryStatus} | {
        status: int(n) for status, n in session.execute(
            select(NoticeDelivery.status, func.count()).group_by(NoticeDelivery.status))}
    deferred = OutboundStatus.DEFERRED.value
    rows = session.execute(
        select(OutboundMessage.message_id, OutboundMessage.kind, Case.number,
               OutboundMessage.status, OutboundMessage.attempts,
               OutboundMessage.next_attempt_at, OutboundMessage.last_error)
        .outerjoin(Case, Case.id == OutboundMessage.case_id)
        .where(OutboundMessage.status.in_([deferred, OutboundStatus.FAILED.value,
                                           OutboundStatus.HELD.value]))
        .order_by(OutboundMessage.id.desc()).limit(LISTED))
    return MailHealth(
        case_mail=case_mail,
        case_mail_next_retry=session.scalar(select(func.min(OutboundMessage.next_attempt_at))
                                            .where(OutboundMessage.status == deferred)),
        notice_deliveries=notices,
        notice_next_retry=session.scalar(select(func.min(NoticeDelivery.next_attempt_at)).where(
            NoticeDelivery.status == DeliveryStatus.DEFERRED.value)),
        waiting=tuple(WaitingMail(*row) for row in rows))
