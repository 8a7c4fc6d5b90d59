"""Purge the attachments of cases closed for more than a month (PureConnect "Closing Cases").

Place in the flow: the ``purge`` job of the clock (``workflows.clock.jobs``), in every pass of
``workflows.clock.scheduler.run_pass``. Only attached data goes: the blob file
is deleted and the attachment row is kept with ``purged_at`` set, so the case still shows that a
file was there (name, type, size, hash) and when it was purged; updates, mail and history stay.
The same files are cut out of the raw MIME kept of the case's mail, in and out, and of mail never
linked to a case after its own retention (``workflows.clock.purge_raw``).

Blobs are content-addressed and shared: the same file sent to two cases is one blob, so a blob is
deleted only when no attachment row that is not purged still names its sha256. The rows are
claimed (``purged_at IS NULL`` compare-and-set) and committed first, and files are deleted after:
a crash in between leaves an unreferenced blob, never a row pointing at a missing file.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import null, select, update

from workflows.clock.purge_raw import purge_raw_mail, unlinked_due
from workflows.domain import CaseStatus
from workflows.storage.blobs import blob_path
from workflows.storage.db import Database
from workflows.storage.models import Attachment, Case

log = logging.getLogger(__name__)
CHUNK = 1000


@dataclass(frozen=True, slots=True)
class Purged:
    attachment_id: int
    case_number: str | None  # None: a file of mail never linked to a case (triage)
    sha256: str


@dataclass(frozen=True, slots=True)
class PurgeReport:
    attachments: tuple[Purged, ...]
    blobs_deleted: int
    mails_rewritten: int = 0  # stored raw MIME the files were cut out of (purge_raw)

    def lines(self) -> tuple[str, ...]:
        rewritten = (f"{self.mails_rewritten} stored mail(s) without their files",
                     ) if self.mails_rewritten else ()
        return (*(f"{p.case_number} attachment #{p.attachment_id}" for p in self.attachments),
                *rewritten)


def _due_query(at: dt.datetime, after_days: int):  # type: ignore[no-untyped-def]
    return (select(Attachment.id, Case.number, Attachment.sha256)
            .join(Case, Case.id == Attachment.case_id)
            .where(Case.status == CaseStatus.CLOSED.value,
                   Case.closed_at <= at - dt.timedelta(days=after_days),
                   Attachment.purged_at.is_(None))
            .order_by(Attachment.id))


def _unlinked_due_query(at: dt.datetime, triage_after_days: int):  # type: ignore[no-untyped-def]
    """Files of mail never linked to a case (stored when a person's mail is triaged)."""
    return (select(Attachment.id, null(), Attachment.sha256)
            .where(Attachment.case_id.is_(None), Attachment.purged_at.is_(None),
                   Attachment.inbound_message_id.in_(unlinked_due(at, triage_after_days)))
            .order_by(Attachment.id))


def purge_attachments(db: Database, blob_dir: Path, at: dt.datetime, *, after_days: int,
                      triage_after_days: int = 30, dry_run: bool = False) -> PurgeReport:
    """Purge what is due at ``at``: the blobs, then the files in the stored raw mail
    (``purge_raw``; mail never linked to a case after ``triage_after_days``). ``dry_run``
    only lists it (``mails_rewritten``: the mails that would be checked)."""
    queries = (_due_query(at, after_days), _unlinked_due_query(at, triage_after_days))
    if dry_run:
        with db.transaction() as session:
            rows = [row for query in queries for row in session.execute(query).all()]
        raw = purge_raw_mail(db, at, after_days=after_days,
                             triage_after_days=triage_after_days, dry_run=True)
        return PurgeReport(tuple(Purged(i, n, s) for i, n, s in rows), 0, raw.checked)
    purged: list[Purged] = []
    deleted = 0
    for query in queries:
        chunk_purged, chunk_deleted = _purge_blobs(db, blob_dir, at, query)
        purged.extend(chunk_purged)
        deleted += chunk_deleted
    # The raw after the blobs: the blob queries do not look at the raw's files_purged_at, so a
    # pass cut short between the two leaves nothing that the next pass would skip.
    raw = purge_raw_mail(db, at, after_days=after_days, triage_after_days=triage_after_days)
    if purged:
        log.info("purged %d attachment(s), deleted %d blob(s)", len(purged), deleted)
    return PurgeReport(tuple(purged), deleted, raw.rewritten)


def _purge_blobs(db: Database, blob_dir: Path, at: dt.datetime, query  # type: ignore[no-untyped-def]
                 ) -> tuple[list[Purged], int]:
    """Claim the attachment rows ``query`` lists, chunk by chunk, and delete their blobs."""
    purged: list[Purged] = []
    deleted = 0
    while True:
        with db.transaction() as session:
            due = session.execute(query.limit(CHUNK)).all()
            if not due:
                break
            numbers = {i: n for i, n, _ in due}
            claimed = session.execute(
                update(Attachment)
                .where(Attachment.id.in_(list(numbers)), Attachment.purged_at.is_(None))
                .values(purged_at=at)
                .returning(Attachment.id, Attachment.sha256),
                execution_options={"synchronize_session": False}).all()
        purged.extend(Purged(i, numbers[i], s) for i, s in claimed)
        deleted += _delete_unreferenced(db, blob_dir, {s for _, s in claimed})
    return purged, deleted


def _delete_unreferenced(db: Database, blob_dir: Path, digests: set[str]) -> int:
    if not digests:
        return 0
    with db.transaction() as session:
        still_used = set(session.scalars(
            select(Attachment.sha256).distinct()
            .where(Attachment.sha256.in_(sorted(digests)), Attachment.purged_at.is_(None))))
    deleted = 0
    for digest in sorted(digests - still_used):
        path = blob_path(blob_dir, digest)
        try:
            path.unlink()
            deleted += 1
        except FileNotFoundError:
            pass  # another scheduler got there first, or a crash left the row claimed only
    return deleted
