"""The case page's automated mails: what the desk sent without an analyst writing it.

Place in the flow: outside the message flow; read by ``gateway.http.pages_cases`` to put
acknowledgements, reminders, "case closed" mails, SLA notices and escalation mails into the
case's timeline beside the conversation, each openable with the text it carried. Analysts'
posts are not here: they are updates of the case already. Reads only.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.domain import OutboundKind
from workflows.storage.models import CaseUpdate, OutboundMessage

MAX_TEXT = 20_000  # a mail's text as the timeline shows it (the whole mail is in the outbox)


@dataclass(frozen=True, slots=True)
class AutomatedMail:
    at: dt.datetime
    kind: str
    recipients: tuple[str, ...]
    subject: str
    status: str
    text: str


def _text(raw: bytes) -> str:
    """The plain-text part of a mail we rendered (``workflows.outbound.compose``), or ""."""
    try:
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        part = msg.get_body(("plain",))  # type: ignore[attr-defined]
        text = part.get_content() if part is not None else ""
    except (LookupError, ValueError, AttributeError):  # a purged or odd raw: show none
        return ""
    return str(text).replace("\r\n", "\n")[:MAX_TEXT]


def automated_mails(session: Session, case_id: int) -> list[AutomatedMail]:
    """The case's outbound mail that no update shows (everything but analysts' posts)."""
    posted = select(CaseUpdate.outbound_message_id).where(
        CaseUpdate.case_id == case_id, CaseUpdate.outbound_message_id.is_not(None))
    rows = session.scalars(select(OutboundMessage).where(
        OutboundMessage.case_id == case_id, OutboundMessage.id.not_in(posted),
        OutboundMessage.kind != OutboundKind.ANALYST_POST.value)
        .order_by(OutboundMessage.created_at, OutboundMessage.id))
    return [AutomatedMail(r.created_at, r.kind, tuple(r.recipients), r.subject, r.status,
                          _text(r.raw)) for r in rows]
