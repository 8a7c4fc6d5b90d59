"""The mails that tell a contact their case was opened or closed by the desk.

Place in the flow: outside the message flow (its edges: triage "open case", an analyst's
``case open`` and ``case close``, in the CLI, the API and the console), and inside it for a
mailbox with ``policy = "open_case"`` (``workflows.inbound.apply``, which always acknowledged). Each
function queues one mail through the outbox in the caller's transaction; the edge sends it
after commit (``queued_ids`` names what to send).

Whether a desk-opened case is acknowledged and a closed case announced is a per-mailbox choice
(``acknowledge`` and ``notify_closed`` on ``[[mailbox]]``, both off by default): the guides
promise "an e-mail notification assigning your ticket number" (PureEngage 4.6), but a desk
that opens cases by hand on the phone may not want one. A case's mailbox is the one its first
mail came to (an escalation's: its original's); a case an analyst opened uses the first
``[[mailbox]]``.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.domain import OutboundKind, OutboundStatus
from workflows.outbound.compose import Parent, case_mailbox, parent_of_outbound, queue_mail
from workflows.settings import Mailbox, Settings
from workflows.storage.models import Case, Contact, OutboundMessage


def queue_acknowledgement(session: Session, settings: Settings, key: bytes, *, case: Case,
                          contact: Contact, now: dt.datetime, parent: Parent | None = None,
                          mailbox: Mailbox | None = None) -> OutboundMessage:
    """"Case N opened": the number, and the reference (in the subject and the footer) that
    ties the contact's replies to the case. Automated (RFC 3834: no autoresponder answers).
    ``mailbox``: the one the case's first mail came to, when the caller has it: in the
    transaction that opens the case from mail, that mail is not yet on the case, so
    ``case_mailbox`` would fall back to the first mailbox."""
    return queue_mail(
        session, settings, key, kind=OutboundKind.NEW_CASE_ACK, case=case,
        to=(contact.email,), subject=f"Case {case.number} opened: {case.subject}",
        context={"contact_name": contact.name, "contact_email": contact.email,
                 "subject": case.subject},
        automated=True, now=now, parent=parent, mailbox=mailbox)


def acknowledge_if_configured(session: Session, settings: Settings, key: bytes, *,
                              case: Case, now: dt.datetime, mailbox: Mailbox | None = None,
                              parent: Parent | None = None) -> OutboundMessage | None:
    """The acknowledgement of a desk-opened case, when its mailbox asks for one."""
    box = mailbox or case_mailbox(session, settings, case)
    contact = session.get(Contact, case.contact_id) if case.contact_id else None
    if not box.acknowledge or contact is None:
        return None
    return queue_acknowledgement(session, settings, key, case=case, contact=contact, now=now,
                                 parent=parent, mailbox=box)


def closed_mail_if_configured(session: Session, settings: Settings, key: bytes, *,
                              case: Case, now: dt.datetime) -> OutboundMessage | None:
    """"Case N closed" to the contact, when the case's mailbox has ``notify_closed``: the
    resolution and how long a reply may still reopen it (PureEngage 4.11)."""
    contact = session.get(Contact, case.contact_id) if case.contact_id else None
    if contact is None or not case_mailbox(session, settings, case).notify_closed:
        return None
    return queue_mail(
        session, settings, key, kind=OutboundKind.CASE_CLOSED, case=case,
        to=(contact.email,), subject=f"Case {case.number} closed: {case.subject}",
        context={"contact_name": contact.name, "subject": case.subject,
                 "resolution": case.resolution, "reopen_days": settings.reopen_days},
        automated=True, now=now, parent=parent_of_outbound(_last_to_contact(session, case)))


# The case's own thread with its contact: what a "closed" mail answers (RFC 5322 3.6.4).
_THREAD_KINDS = (OutboundKind.ANALYST_POST.value, OutboundKind.NEW_CASE_ACK.value,
                 OutboundKind.FOLLOW_UP_REMINDER.value)


def _last_to_contact(session: Session, case: Case) -> OutboundMessage | None:
    return session.scalars(select(OutboundMessage).where(
        OutboundMessage.case_id == case.id, OutboundMessage.kind.in_(_THREAD_KINDS))
        .order_by(OutboundMessage.id.desc()).limit(1)).first()


def queued_ids(session: Session, case_id: int) -> list[int]:
    """The case's mail still queued: what the edge sends after its commit."""
    return list(session.scalars(select(OutboundMessage.id).where(
        OutboundMessage.case_id == case_id,
        OutboundMessage.status == OutboundStatus.QUEUED.value)))
