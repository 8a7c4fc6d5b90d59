"""Internal notes: what staff write on a case for each other.

Place in the flow: called by the CLI (``case note``), the console's note tab and the API, each
in one transaction. A note is a ``CaseUpdate`` of kind ``note`` and direction ``internal``,
written by a person (system notes of the timers have the same shape, author ``system``). It is
never mailed: nothing here touches the outbox, and the only mails that quote a case's text
(``workflows.cases.service.post_update`` answers the last *inbound* update; the escalation mail
quotes the inbound mail) never read internal updates. Its files are stored on the case and linked to
the note (``Attachment.case_update_id``), with no message that could carry them out.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.cases.service import audit, find_case
from workflows.domain import Direction, UpdateKind
from workflows.errors import Refused
from workflows.outbound import files as outgoing_files
from workflows.search.index import index_update
from workflows.settings import Settings
from workflows.storage.blobs import store_blob
from workflows.storage.models import Attachment, CaseUpdate


def add_note(session: Session, settings: Settings, *, number: str, body: str, actor: str,
             now: dt.datetime, attachments: Sequence[outgoing_files.Upload] = ()
             ) -> CaseUpdate:
    """Add a staff-only note (with files) to the case; its status does not change."""
    case = find_case(session, number)
    if not body.strip():
        raise Refused("the note is empty")
    # The same checks as files sent with an update: limits, names, types from the bytes.
    files = outgoing_files.prepare(attachments, outgoing_files.Limits.of(settings))
    note = CaseUpdate(case_id=case.id, kind=UpdateKind.NOTE.value,
                      direction=Direction.INTERNAL.value, author=actor, visible_text=body,
                      full_text=body, created_at=now)
    session.add(note)
    session.flush()
    for f in files:
        session.add(Attachment(case_id=case.id, case_update_id=note.id,
                               sha256=store_blob(settings.blob_dir, f.data), size=len(f.data),
                               content_type=f.content_type, filename=f.filename, inline=False,
                               created_at=now))
    index_update(session, note)
    detail: dict[str, Any] = {"update": note.id}
    if files:
        detail["attachments"] = [f.filename for f in files]
    audit(session, actor=actor, action="case.note", now=now, case_id=case.id, **detail)
    return note


def note_files(session: Session, note_id: int) -> list[str]:
    """The names the note's files were stored under, in the order they were attached."""
    return [name or "" for name in session.scalars(
        select(Attachment.filename).where(Attachment.case_update_id == note_id)
        .order_by(Attachment.id))]
