"""What loop protection knows of a sender: the cases their new mail opened lately, and whether
we acknowledged one moments ago.

Place in the flow: ``workflows.inbound.snapshot.load_snapshot`` reads both for new mail that
could open a case (``Snapshot.sender_new_cases``, ``Snapshot.acknowledged_lately``), so that
``workflows.inbound.decide`` (rules ``new_case_flood`` and ``new_mail``) stays pure;
``workflows.inbound.apply`` calls ``remember_opened`` for each case that new mail opens.

The loop this guards against: another help desk, whose address is a designated contact,
acknowledges every mail with a new mail that carries no Auto-Submitted (RFC 3834 5), no
reference and no In-Reply-To. Each acknowledgement opens a case here, which we acknowledge.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.domain import OutboundKind, Reason
from workflows.storage.bulk import insert_buffer
from workflows.storage.models import AutomatedMailLog, Case, InboundMessage

# session.info: contact id -> [(case id, number, opened at)] opened in this batch.
_OPENED = "new_cases_by_contact"


def remember_opened(session: Session, case: Case) -> None:
    """Note a case that new mail opened, for the rest of this batch.

    In processing's fast path (an insert buffer on the session) the inbound row's reason and
    case are written at the batch's end (``workflows.storage.bulk``), so the query of
    ``recent_new_cases`` cannot see a case a batch-mate opened. Without a buffer the row's
    columns are ORM attributes that autoflush writes before the query, and a note here could
    outlive a savepoint rolled back: none is taken."""
    if insert_buffer(session) is None or case.contact_id is None:
        return
    opened = session.info.setdefault(_OPENED, {})
    opened.setdefault(case.contact_id, []).append((case.id, case.number, case.created_at))


def recent_new_cases(session: Session, contact_id: int, since: dt.datetime, limit: int
                     ) -> tuple[str, ...]:
    """The numbers of the cases the contact's new mail opened after ``since``, newest first,
    at most ``limit``. Cases an analyst opened (by hand, or from triage) do not count: only
    those whose opening mail was decided ``new_case``."""
    found: dict[int, str] = {case_id: number for case_id, number in session.execute(
        select(Case.id, Case.number)
        .join(InboundMessage, InboundMessage.case_id == Case.id)
        .where(Case.contact_id == contact_id, Case.created_at > since,
               InboundMessage.reason == Reason.NEW_CASE.value)
        .order_by(Case.id.desc()).limit(limit))}
    for case_id, number, opened_at in session.info.get(_OPENED, {}).get(contact_id, ()):
        if opened_at > since:
            found[case_id] = number
    return tuple(found[i] for i in sorted(found, reverse=True)[:limit])


def acknowledged_lately(session: Session, email: str, since: dt.datetime) -> bool:
    """Whether a "case opened" acknowledgement went to ``email`` after ``since``: the
    per-recipient log of automated mail (``workflows.notices.ratelimit``) records each one as
    it is queued, in the caller's transaction, so a batch-mate's counts too."""
    return session.scalars(
        select(AutomatedMailLog.id)
        .where(AutomatedMailLog.recipient == email.lower(), AutomatedMailLog.at > since,
               AutomatedMailLog.source == OutboundKind.NEW_CASE_ACK.value)
        .limit(1)).first() is not None
