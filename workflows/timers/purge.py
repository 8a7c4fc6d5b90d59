"""Purge the attachments of cases closed for more than a month (PureConnect "Closing Cases").

Place in the flow: the ``purge`` job of the clock (``workflows.jobs``), in every pass of
``workflows.scheduler.run_pass``. Only attached data goes: the blob file
is deleted and the attachment row is kept with ``purged_at`` set, so the case still shows that a
file was there (name, type, size, hash) and when it was purged; updates, mail and history stay.

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

from sqlalchemy import select, update

from workflows.blobs import blob_path
from workflows.domain import CaseStatus
from workflows.storage.db import Database
from workflows.storage.models import Attachment, Case

log = logging.getLogger(__name__)
CHUNK = 1000


@dataclass(frozen=True, slots=True)
class Purged:
    attachment_id: int
    case_number: str
    sha256: str


@dataclass(frozen=True, slots=True)
class PurgeReport:
    attachments: tuple[Purged, ...]
    blobs_deleted: int

    def lines(self) -> tuple[str, ...]:
        return tuple(f"{p.case_number} attachment #{p.attachment_id}" for p in self.attachments)


def _due_query(at: dt.datetime, after_days: int):  # type: ignore[no-untyped-def]
    return (select(Attachment.id, Case.number, Attachment.sha256)
            .join(Case, Case.id == Attachment.case_id)
            .where(Case.status == CaseStatus.CLOSED.value,
                   Case.closed_at <= at - dt.timedelta(days=after_days),
                   Attachment.purged_at.is_(None))
            .order_by(Attachment.id))


def purge_attachments(db: Database, blob_dir: Path, at: dt.datetime, *, after_days: int,
                      dry_run: bool = False) -> PurgeReport:
    """Purge what is due at ``at``; ``dry_run`` only lists it."""
    if dry_run:
        with db.transaction() as session:
            rows = session.execute(_due_query(at, after_days)).all()
        return PurgeReport(tuple(Purged(i, n, s) for i, n, s in rows), 0)
    purged: list[Purged] = []
    deleted = 0
    while True:
        with db.transaction() as session:
            due = session.execute(_due_query(at, after_days).limit(CHUNK)).all()
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
    if purged:
        log.info("purged %d attachment(s), deleted %d blob(s)", len(purged), deleted)
    return PurgeReport(tuple(purged), deleted)


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
