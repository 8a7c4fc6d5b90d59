"""Purge the files from the raw MIME we keep of each mail, in and out.

Place in the flow: part of the attachment purge (``workflows.clock.purge.purge_attachments``,
the last step of each scheduler pass). Deleting the blobs is not enough: ``inbound_raws.raw``
and ``outbound_messages.raw`` hold every mail as it was received or sent, files included. Here
those columns are rewritten by ``parsing.redact.remove_files``: headers and text stay, each file
becomes a short placeholder part, and ``files_purged_at`` records when.

Which mail, and when:
- mail of a case (``case_id`` set), in and out: ``purge_after_days`` after the case closed, as
  for its attachments' blobs;
- inbound mail never linked to a case (triaged, ignored, discarded): ``triage_after_days`` after
  it arrived, once it is decided (``processed``: a failed message keeps its bytes for a retry)
  and its triage item, if any, is resolved — and that long after the resolution. A pending item
  keeps its files: an analyst may still link it to a case, which takes them from the raw.

The blobs of the same files (triaged mail from a person stores them too) are deleted by
``purge`` first, with the same rule (``unlinked_due``). ``sha256`` and ``size`` keep describing
the bytes received, so a redelivery of the same mail is still recognised.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select, update
from sqlalchemy.orm import Session

from parsing.redact import remove_files
from workflows.domain import CaseStatus, MessageStatus, TriageState
from workflows.storage.db import Database
from workflows.storage.models import (
    Case,
    InboundMessage,
    InboundRaw,
    OutboundMessage,
    TriageItem,
)

log = logging.getLogger(__name__)
BATCH = 50  # mails read and rewritten per transaction (each may be megabytes)

_Mail = type[InboundMessage] | type[OutboundMessage]


@dataclass(frozen=True, slots=True)
class RawPurge:
    checked: int  # mails whose raw was due (a dry run: would be checked)
    rewritten: int  # of those, mails that held files and were rewritten


def _closed_cases(at: dt.datetime, after_days: int) -> Select[Any]:
    return select(Case.id).where(Case.status == CaseStatus.CLOSED.value,
                                 Case.closed_at <= at - dt.timedelta(days=after_days))


def unlinked_due(at: dt.datetime, triage_after_days: int) -> Select[Any]:
    """Ids of inbound mail never linked to a case whose files are due at ``at`` (decided,
    arrived and — if triaged — resolved at least ``triage_after_days`` ago). The purge of
    their blobs (``purge``) reads it too."""
    cutoff = at - dt.timedelta(days=triage_after_days)
    kept_by_triage = select(TriageItem.inbound_message_id).where(
        (TriageItem.state == TriageState.PENDING.value) | (TriageItem.resolved_at > cutoff))
    return select(InboundMessage.id).where(
        InboundMessage.case_id.is_(None),
        InboundMessage.status == MessageStatus.PROCESSED.value,
        InboundMessage.received_at <= cutoff, InboundMessage.id.not_in(kept_by_triage))


def _due(at: dt.datetime, after_days: int, triage_after_days: int
         ) -> tuple[tuple[_Mail, Select[Any], str], ...]:
    """(table, due ids, why) for each kind of mail whose files are due."""
    cases = _closed_cases(at, after_days)
    case_why = f"kept {after_days} days after the case closed"
    return (
        (InboundMessage, select(InboundMessage.id).where(
            InboundMessage.files_purged_at.is_(None), InboundMessage.case_id.in_(cases)),
         case_why),
        (OutboundMessage, select(OutboundMessage.id).where(
            OutboundMessage.files_purged_at.is_(None), OutboundMessage.case_id.in_(cases)),
         case_why),
        (InboundMessage, unlinked_due(at, triage_after_days).where(
            InboundMessage.files_purged_at.is_(None)),
         f"kept {triage_after_days} days: never linked to a case"),
    )


def purge_raw_mail(db: Database, at: dt.datetime, *, after_days: int, triage_after_days: int,
                   dry_run: bool = False) -> RawPurge:
    """Rewrite the raw MIME of every mail whose files are due at ``at``; ``dry_run`` only
    counts them. Acts (commits per batch)."""
    checked = rewritten = 0
    for model, due, why in _due(at, after_days, triage_after_days):
        if dry_run:
            with db.transaction() as session:
                checked += len(session.scalars(due).all())
            continue
        note = f"removed on {at:%Y-%m-%d}, {why}"
        last = 0
        while True:
            with db.transaction() as session:
                ids = list(session.scalars(due.where(model.id > last).order_by(model.id)
                                           .limit(BATCH)))
                if not ids:
                    break
                last = ids[-1]
                checked += len(ids)
                rewritten += _rewrite(session, model, ids, at, note)
    if rewritten:
        log.info("cut the files out of %d stored mail(s)", rewritten)
    return RawPurge(checked, rewritten)


def _rewrite(session: Session, model: _Mail, ids: list[int], at: dt.datetime, note: str
             ) -> int:
    rewritten = 0
    rows = session.execute(select(model.id, model.raw).where(
        model.id.in_(ids), model.files_purged_at.is_(None))).all()
    for mail_id, raw in rows:
        redacted = remove_files(bytes(raw), note=note)
        values: dict[str, object] = {"files_purged_at": at}
        # An inbound mail's bytes are a row of inbound_raws (``InboundMessage.raw`` reads it).
        apart = model is InboundMessage
        if redacted.changed and not apart:
            values["raw"] = redacted.raw
        # Compare-and-set: two scheduler passes at once rewrite each mail once.
        marked = session.execute(
            update(model).where(model.id == mail_id, model.files_purged_at.is_(None))
            .values(**values), execution_options={"synchronize_session": False})
        if redacted.changed and apart and marked.rowcount == 1:  # type: ignore[attr-defined]
            session.execute(update(InboundRaw).where(InboundRaw.id == mail_id)
                            .values(raw=redacted.raw),
                            execution_options={"synchronize_session": False})
        rewritten += redacted.changed
    return rewritten
