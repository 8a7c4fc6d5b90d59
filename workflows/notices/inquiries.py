"""Inbound mail about a notice: find the notice it quotes, record it on the triage item.

Place in the flow: ``workflows.inbound.snapshot`` calls ``find_quoted_notice`` for every inbound
mail (a regex over subject and text; the database only when a reference-shaped string is there),
``workflows.inbound.decide`` routes a hit to triage (``Reason.NOTICE_INQUIRY``) and
``workflows.inbound.apply`` calls ``record_inquiry`` in the same transaction as the triage item, so
the admin sees the notice next to the mail and ``notice show`` lists its inquiries. Precedence: our
Message-ID in In-Reply-To/References (a reply whose subject was rewritten), then the subject, then
the body.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from parsing import ParsedMail
from workflows.inbound.decision import NoticeView
from workflows.notices.reference import find_references, references_in_thread
from workflows.storage.models import Notice, NoticeInquiry

MAX_REFERENCES = 20


def find_quoted_notice(session: Session, mail: ParsedMail) -> NoticeView | None:
    """The first notice ``mail`` quotes that exists (a made-up reference is no inquiry)."""
    refs = list(dict.fromkeys([*references_in_thread((*mail.in_reply_to, *mail.references)),
                               *find_references(mail.subject, mail.text)]))[:MAX_REFERENCES]
    if not refs:
        return None
    found = {ref: (nid, title) for nid, ref, title in session.execute(
        select(Notice.id, Notice.reference, Notice.title).where(Notice.reference.in_(refs)))}
    for ref in refs:
        if ref in found:
            return NoticeView(found[ref][0], ref, found[ref][1])
    return None


def record_inquiry(session: Session, notice_id: int, inbound_id: int, now: dt.datetime) -> None:
    """Attach the inbound message (and so its triage item) to the notice; once."""
    if session.scalar(select(NoticeInquiry.id).where(
            NoticeInquiry.inbound_message_id == inbound_id)) is None:
        session.add(NoticeInquiry(notice_id=notice_id, inbound_message_id=inbound_id,
                                  created_at=now))
