"""Bounces of notice mail: mark the delivery bounced and skip the address in later notices.

Place in the flow: the inbound core parses a DSN (RFC 3464), ``workflows.inbound.snapshot`` finds
the delivery by the original Message-ID (``delivery_by_message_id``), ``workflows.inbound.decide``
emits ``MarkNoticeBounced`` and ``workflows.inbound.apply`` calls ``mark_delivery_bounced`` in its
transaction. A permanent bounce of case mail (``MarkBounced``) also calls ``suppress`` for its
failed recipients: an address that no longer exists does not exist for notices either. A delayed DSN
(``permanent`` False) only notes the delay: the mail may still arrive. An abuse complaint
(ARF, RFC 5965) about a notice or case mail is recorded on it (``record_complaint``) and
suppresses its recipient with reason ``complaint``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.notices.model import DeliveryStatus
from workflows.storage.models import NoticeDelivery, NoticeSuppression, OutboundMessage


def delivery_by_message_id(session: Session, message_id: str) -> int | None:
    """The id of the notice delivery that had this Message-ID (angle brackets optional)."""
    value = message_id.strip().strip("<>")
    if not value.lower().startswith("notice."):
        return None  # not one of ours: save the query (every bounce of case mail asks)
    return session.scalar(select(NoticeDelivery.id).where(NoticeDelivery.message_id == value))


def suppress(session: Session, recipients: Iterable[str], now: dt.datetime, *, reason: str,
             delivery_id: int | None = None) -> int:
    """Skip these addresses in every later notice; returns how many were new."""
    added = 0
    for address in sorted({r.strip().lower() for r in recipients if r.strip()}):
        if session.get(NoticeSuppression, address) is None:
            session.add(NoticeSuppression(recipient=address, reason=reason[:64], since=now,
                                          delivery_id=delivery_id))
            added += 1
    session.flush()
    return added


def mark_delivery_bounced(session: Session, delivery_id: int, failed: Iterable[str],
                          permanent: bool, now: dt.datetime, *, reason: str = "") -> None:
    """A permanent failure bounces the delivery (with ``reason``, the report's status and
    words) and suppresses its recipient; a delay is only noted."""
    delivery = session.get(NoticeDelivery, delivery_id)
    if delivery is None:
        return
    failed = tuple(failed)
    if not permanent:
        delivery.last_error = f"delayed (DSN) for {', '.join(failed) or delivery.recipient}"
        return
    delivery.status = DeliveryStatus.BOUNCED.value
    delivery.bounced_at = now
    delivery.last_error = f"bounced: {reason or ', '.join(failed) or delivery.recipient}"
    # The delivery had one recipient; a DSN naming another address still means this one.
    suppress(session, (delivery.recipient,), now, reason="bounce of a notice",
             delivery_id=delivery.id)


COMPLAINT = "complaint"  # NoticeSuppression.reason of a recipient who reported us as abuse


def record_complaint(session: Session, outbound_id: int | None, delivery_id: int | None,
                     recipients: Iterable[str], feedback_type: str,
                     now: dt.datetime) -> tuple[int | None, tuple[str, ...]]:
    """Note the complaint on the mail it is about and stop notices to its recipient.

    Providers redact the complaining address (RFC 6590), so the recipient is the one we sent
    to: the notice delivery's (one recipient per Message-ID), or the case mail's when it went to
    one address. A case mail copied to several (a Cc) suppresses nobody: every recipient holds
    its Message-ID, anyone can send an ARF report (RFC 5965 8.2: unauthenticated), and its
    Original-Rcpt-To is the reporter's word, so a Cc'd stranger could otherwise cut the
    designated contact off from incident notices. It is noted on the mail and audited for an
    analyst. Returns the case the mail belonged to (if any) and the suppressed addresses.
    """
    named = {r.strip().lower() for r in recipients if r.strip()}
    targets: set[str] = set()
    case_id = None
    ours = False  # the report is about mail we sent: its recipients decide, never the report
    if delivery_id is not None:
        delivery = session.get(NoticeDelivery, delivery_id)
        if delivery is not None:
            ours = True
            delivery.last_error = f"complaint ({feedback_type}) from {delivery.recipient}"[:500]
            targets.add(delivery.recipient.lower())
    if outbound_id is not None:
        out = session.get(OutboundMessage, outbound_id)
        if out is not None:
            ours = True
            sent_to = {r.lower() for r in out.recipients}
            if len(sent_to) == 1:
                targets |= sent_to
            out.last_error = f"complaint ({feedback_type})"
            case_id = out.case_id
    if not ours:
        targets = named
    suppress(session, targets, now, reason=COMPLAINT, delivery_id=delivery_id)
    return case_id, tuple(sorted(targets))
