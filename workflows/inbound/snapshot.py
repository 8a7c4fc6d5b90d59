"""Read what a decision needs from the database, into a frozen ``Snapshot``.

Place in the flow: between ``parsing.parse`` and ``workflows.inbound.decide``, inside the same
transaction as ``workflows.inbound.apply`` so the decision is made on what the apply step will
change. Reads only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence

from sqlalchemy import Table, func, select
from sqlalchemy import case as sql_case
from sqlalchemy.orm import Session

from parsing import AutomationClass, ParsedMail
from workflows.domain import CaseStatus, OutboundKind, Outcome, Resolution
from workflows.inbound import floods
from workflows.inbound.decision import CaseView, OutboundView, SenderView, Snapshot
from workflows.inbound.rows import InboundRow
from workflows.notices.bounces import delivery_by_message_id
from workflows.notices.inquiries import find_quoted_notice
from workflows.settings import Mailbox, Settings
from workflows.storage.columns import reader
from workflows.storage.models import Case, Contact, InboundMessage, OutboundMessage

CLOSED_NOTICE_QUIET = dt.timedelta(days=1)
_CONTACTS: Table = Contact.__table__  # type: ignore[assignment]
_INBOUND: Table = InboundMessage.__table__  # type: ignore[assignment]
# session.info keys of what ``prefetch`` read for a batch.
_SENDERS = "senders_by_email"
_FIRST_IDS = "first_id_by_message_id"
_LINKED_IDS = "first_linked_id_by_message_id"  # kept current by remember_linked


# A status's member by its stored value: ``CaseStatus(value)`` costs ~1 us in Python 3.11's
# enum machinery, once per case a mail names. An unknown value still raises, by the call.
_STATUSES = {status.value: status for status in CaseStatus}


# What a snapshot reads of a case and of the inbound row, from their loaded values
# (workflows.storage.columns: an ORM attribute read cost ~3k instructions, 15 a bench mail here).
_CASE_VIEW = reader("id", "number", "status", "organization_id", "resolution", "closed_at",
                    "subject")
_ROW_KEYS = reader("id", "mailbox", "message_id")


def case_view(case: Case) -> CaseView:
    case_id, number, status, organization_id, resolution, closed_at, subject = _CASE_VIEW(case)
    return CaseView(
        id=case_id,
        number=number,
        status=_STATUSES.get(status) or CaseStatus(status),
        organization_id=organization_id,
        resolution=Resolution(resolution) if resolution else None,
        closed_at=closed_at,
        subject=subject,
    )


def _outbound_view(session: Session, row: OutboundMessage | None) -> OutboundView | None:
    if row is None:
        return None
    number = session.get(Case, row.case_id).number if row.case_id else None  # type: ignore[union-attr]
    return OutboundView(row.id, row.message_id, number)


def prefetch(session: Session, rows: Sequence[InboundMessage | InboundRow], senders: Iterable[str],
             mails: Sequence[ParsedMail] = (), *, mailboxes: Iterable[str] = ()) -> None:
    """Load what a batch's snapshots will ask for with three queries instead of three per
    message: the senders (a removed contact is a stranger), the first row of each
    (mailbox, Message-ID) and of each Message-ID linked to a case in any of ``mailboxes`` (the
    desk's), and the cases ``mails`` name by token or number, locked in one statement in id
    order. The order matters on PostgreSQL: Celery workers process groups of
    ids side by side, and two groups locking the same cases in message order could deadlock.

    The first two are Core statements on the session's connection, read into plain values:
    nothing in the batch changes a contact or an inbound row's Message-ID, and the ORM's
    statement set-up and identity map cost more than the rows (issue 15, a batch call on
    bench replies, best of 7 rounds, 3 runs: 626-814 -> 504-525 us)."""
    conn = session.connection()
    emails = sorted(set(senders))
    found: dict[str, SenderView | None] = dict.fromkeys(emails)
    for chunk in _chunks(emails):
        for email, contact_id, organization_id, designated in conn.execute(
            select(_CONTACTS.c.email, _CONTACTS.c.id, _CONTACTS.c.organization_id,
                   _CONTACTS.c.designated)
            .where(_CONTACTS.c.email.in_(chunk), _CONTACTS.c.removed_at.is_(None))
        ):
            found[email] = SenderView(email, contact_id, organization_id, designated)
    session.info[_SENDERS] = found
    first_ids: dict[tuple[str, str], int] = {}
    linked_ids: dict[str, int] = {}
    mids: set[str] = set()
    boxes: set[str] = set(mailboxes)
    for r in rows:
        _id, mailbox, message_id = _ROW_KEYS(r)
        if message_id:
            mids.add(message_id)
            boxes.add(mailbox)
    # The mailboxes too: the index is (mailbox, message_id), and without its first column
    # the query read the whole index (SQLite) or table (PostgreSQL) for every batch.
    inbound = _INBOUND.c
    linked = func.min(sql_case((inbound.outcome == Outcome.LINKED.value, inbound.id)))
    for chunk in _chunks(sorted(mids)):
        for mailbox, message_id, first, first_linked in conn.execute(
            select(inbound.mailbox, inbound.message_id, func.min(inbound.id), linked)
            .where(inbound.mailbox.in_(sorted(boxes)), inbound.message_id.in_(chunk))
            .group_by(inbound.mailbox, inbound.message_id)
        ):
            if message_id is not None:  # the IN (...) above: never NULL here
                first_ids[(mailbox, message_id)] = first
                if first_linked is not None:
                    linked_ids[message_id] = min(first_linked,
                                                 linked_ids.get(message_id, first_linked))
    session.info[_FIRST_IDS] = first_ids
    session.info[_LINKED_IDS] = linked_ids
    # At most 100 per mail, as load_snapshot reads them.
    _lock_cases(session, {n for mail in mails for n in sorted(_numbers(mail))[:100]})


def _numbers(mail: ParsedMail) -> set[str]:
    """The case numbers a mail names itself (tokens, bare numbers)."""
    return {t.number for t in mail.tokens} | set(mail.case_numbers)


def _lock_cases(session: Session, numbers: set[str]) -> None:
    """Load the cases of ``numbers`` not yet in the session's cache, locked for the rest of the
    transaction (PostgreSQL; SQLite serializes writers anyway): a reply decided on an Awaiting
    Info case must not race the scheduler closing that case, nor the scheduler act on a status
    a reply is changing."""
    cache: dict[str, Case] = session.info.setdefault("cases_by_number", {})
    for chunk in _chunks(sorted(n for n in numbers if n not in cache)):
        for case in session.scalars(select(Case).where(Case.number.in_(chunk))
                                    .order_by(Case.id).with_for_update()):
            cache[case.number] = case


def _chunks(values: list[str], size: int = 500) -> Iterator[list[str]]:
    for i in range(0, len(values), size):
        yield values[i:i + size]


def load_snapshot(
    session: Session,
    settings: Settings,
    mailbox: Mailbox,
    row: InboundMessage | InboundRow,
    mail: ParsedMail,
    now: dt.datetime,
) -> Snapshot:
    sender = None
    if mail.from_ is not None:
        email = mail.from_.email
        senders = session.info.get(_SENDERS)
        if senders is not None and email in senders:
            sender = senders[email] or SenderView(email)
        else:
            contact = session.scalars(
                select(Contact).where(Contact.email == email,
                                      Contact.removed_at.is_(None))).first()
            sender = (
                SenderView(contact.email, contact.id, contact.organization_id,
                           contact.designated)
                if contact
                else SenderView(email)
            )

    earlier = None
    row_id, row_mailbox, message_id = _ROW_KEYS(row)
    if message_id:
        first_ids = session.info.get(_FIRST_IDS)
        if first_ids is not None and (row_mailbox, message_id) in first_ids:
            first = first_ids[(row_mailbox, message_id)]
            earlier = first if first < row_id else None
        else:
            earlier = session.scalar(
                select(func.min(InboundMessage.id)).where(
                    InboundMessage.mailbox == row_mailbox,
                    InboundMessage.message_id == message_id,
                    InboundMessage.id < row_id,
                )
            )

    linked_copy = None
    if earlier is None and message_id and (
            mail.valid_tokens or (sender is not None and sender.opens_cases_in(mailbox))):
        linked_ids = session.info.get(_LINKED_IDS)
        if linked_ids is not None:  # a batch: prefetched, and its own links remembered
            first_linked = linked_ids.get(message_id)
            linked_copy = first_linked if first_linked is not None \
                and first_linked < row_id else None
        else:
            linked_copy = _linked_copy(session, settings, row)

    bounced = None
    # The mail a bounce or an abuse complaint (ARF) reports on, by its returned Message-ID.
    reported_id = _reported_message_id(mail)
    if reported_id:
        bounced = _outbound_view(session, session.scalars(
            select(OutboundMessage).where(OutboundMessage.message_id == reported_id)
        ).first())
    replied = None
    thread_ids = [*mail.in_reply_to, *mail.references]
    # Only automated mail without a valid reference needs our thread to find its case.
    if thread_ids and mail.automation is not AutomationClass.HUMAN and not mail.valid_tokens:
        replied = _outbound_view(session, session.scalars(
            select(OutboundMessage).where(OutboundMessage.message_id.in_(thread_ids[:50]))
        ).first())

    # Notices (workflows.notices): a bounce of a notice delivery, a mail quoting a reference.
    bounced_notice = None
    if bounced is None and reported_id:
        bounced_notice = delivery_by_message_id(session, reported_id)
    quoted_notice = (find_quoted_notice(session, mail)
                     if mail.automation is AutomationClass.HUMAN else None)

    numbers = _numbers(mail)
    numbers |= {o.case_number for o in (bounced, replied) if o and o.case_number}
    cache: dict[str, Case] = session.info.setdefault("cases_by_number", {})
    missing = [n for n in numbers if n not in cache]
    if missing:  # a batch's are prefetched: most mails lock nothing more
        _lock_cases(session, set(sorted(missing)[:100]))
    # Views of the session's objects: a batch sees the changes earlier messages made.
    cases = tuple([case_view(cache[n]) for n in sorted(numbers) if n in cache])

    recently = False
    if sender is not None and any(c.status is CaseStatus.CLOSED for c in cases):
        since = now - CLOSED_NOTICE_QUIET
        for recipients in session.scalars(
            select(OutboundMessage.recipients).where(
                OutboundMessage.kind == OutboundKind.CLOSED_TOO_LONG.value,
                OutboundMessage.case_id.in_([c.id for c in cases]),
                OutboundMessage.created_at >= since,
            )
        ):
            recently = recently or sender.email in recipients

    opened: tuple[str, ...] = ()
    acked = False
    # Loop protection (workflows.inbound.floods): only for mail that may open a case.
    if sender is not None and sender.opens_cases_in(mailbox) \
            and mail.automation is AutomationClass.HUMAN and not mail.valid_tokens:
        assert sender.contact_id is not None  # opens_cases_in checked it
        opened = floods.recent_new_cases(
            session, sender.contact_id, now - dt.timedelta(hours=settings.new_cases_window_hours),
            settings.new_cases_per_sender)
        acked = settings.new_case_ack_minutes > 0 and floods.acknowledged_lately(
            session, sender.email, now - dt.timedelta(minutes=settings.new_case_ack_minutes))

    return Snapshot(
        now=now,
        mailbox=mailbox,
        sender=sender,
        cases=cases,
        earlier_duplicate_id=earlier,
        linked_copy_id=linked_copy,
        bounced_outbound=bounced,
        replied_outbound=replied,
        trusted_authserv_ids=settings.trusted_authserv_ids,
        reopen_days=settings.reopen_days,
        closed_notice_recently_sent=recently,
        quoted_notice=quoted_notice,
        bounced_notice_delivery=bounced_notice,
        sender_new_cases=opened,
        new_cases_per_sender=settings.new_cases_per_sender,
        new_cases_window_hours=settings.new_cases_window_hours,
        acknowledged_lately=acked,
    )


def _linked_copy(session: Session, settings: Settings, row: InboundMessage | InboundRow
                 ) -> int | None:
    """The first earlier copy of this Message-ID to another of our mailboxes that was linked to
    a case (RFC 5322 3.6.4: one Message-ID, one message). Only asked of mail that could link
    or open a case; the mailboxes are named so that the (mailbox, message_id) index serves it,
    and an earlier copy of the same batch is already written (``apply``'s column update)."""
    others = sorted({box.address for box in settings.mailboxes} - {row.mailbox})
    if not others:
        return None
    return session.scalar(
        select(func.min(InboundMessage.id)).where(
            InboundMessage.mailbox.in_(others),
            InboundMessage.message_id == row.message_id,
            InboundMessage.id < row.id,
            InboundMessage.outcome == Outcome.LINKED.value,
        )
    )


def remember_linked(session: Session, row: InboundMessage | InboundRow) -> None:
    """``row`` was linked to a case: a later copy of its Message-ID in the same batch (read
    before any of it was written) is a duplicate too."""
    linked_ids = session.info.get(_LINKED_IDS)
    if linked_ids is not None:
        row_id, _mailbox, message_id = _ROW_KEYS(row)
        if message_id:
            linked_ids.setdefault(message_id, row_id)


def _reported_message_id(mail: ParsedMail) -> str | None:
    """Our Message-ID a bounce (RFC 3464) or a complaint (RFC 5965) returns, if any."""
    if mail.automation is AutomationClass.BOUNCE and mail.bounce:
        return mail.bounce.original_message_id
    if mail.automation is AutomationClass.COMPLAINT and mail.complaint:
        return mail.complaint.original_message_id
    return None
