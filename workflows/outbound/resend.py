"""Send a failed case mail again: ``ticketgate case resend MESSAGE_ID``.

Place in the flow: an operator's answer to what ``ticketgate health`` (and the console's
``/health``) lists as failed. A 5xx from the relay fails a case mail at once
(``workflows.outbound.outbox``), and so does a 4xx after the last retry; when the cause was on
our side (a relay refusing our credentials, a full queue, a mistyped relay address), the mail
itself is still right to send. The row is queued again with its retries anew and the same
Message-ID, so the thread and the Reference ID stay what the customer's client knows; nothing
is rebuilt. Only ``failed`` rows: a mail sent, queued or deferred is on its way already, a
bounce is the recipient's server speaking (the case shows it), and a ``held`` one is an automated
answer the hourly limit kept from a sender that may be an autoresponder: sent late it would
only feed the loop the limit stopped.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.cases.service import audit
from workflows.domain import OutboundStatus
from workflows.errors import NotFound, Refused
from workflows.storage.models import OutboundMessage


def requeue_failed(session: Session, message_id: str, *, now: dt.datetime, actor: str
                   ) -> OutboundMessage:
    """Queue the failed case mail ``message_id`` (angle brackets optional) to be sent again,
    audited; the caller sends it after commit. Acts."""
    wanted = message_id.strip().removeprefix("<").removesuffix(">")
    row = session.scalars(select(OutboundMessage).where(OutboundMessage.message_id == wanted)
                          .with_for_update()).one_or_none()
    if row is None:
        raise NotFound(f"no case mail with Message-ID <{wanted}>")
    if row.status == OutboundStatus.HELD.value:
        raise Refused(f"<{wanted}> was held by the automated_per_hour limit, not failed: an "
                      "automated answer is never sent late")
    if row.status != OutboundStatus.FAILED.value:
        raise Refused(f"<{wanted}> is {row.status}, not failed: only failed case mail is sent "
                      "again")
    audit(session, actor=actor, action="mail.resend", now=now, case_id=row.case_id,
          message_id=wanted, attempts=row.attempts, last_error=row.last_error)
    row.status = OutboundStatus.QUEUED.value
    row.attempts = 0  # the whole retry schedule again (mail_retry_minutes)
    row.next_attempt_at = None
    return row
