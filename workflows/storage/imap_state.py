"""How far each IMAP folder has been committed: (account, folder) -> UIDVALIDITY and last UID.

Place in the flow: the IMAP poller (``gateway.imap``) reads this when it selects a folder and
records it right after ``intake.accept_many`` has committed a batch, before it moves the batch
to the processed folder. Every UID up to ``last_uid`` is therefore committed; a message still in
the folder at or below it only missed its MOVE and needs no fetching again.

A UID means nothing without its UIDVALIDITY (RFC 3501 2.3.1.1): when the server announces
another one, the folder's UIDs were reassigned and the poller reads it again from the start. The
sha256 dedupe in ``intake`` makes that re-read exactly-once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from workflows.storage.db import Database
from workflows.storage.models import ImapFolderState


@dataclass(frozen=True, slots=True)
class FolderState:
    account: str
    folder: str
    uidvalidity: int
    last_uid: int  # every UID <= this one is committed (0: nothing yet)


def resume_point(stored: FolderState | None, uidvalidity: int) -> int:
    """The last committed UID that still holds under the server's current ``uidvalidity``."""
    if stored is None or stored.uidvalidity != uidvalidity:
        return 0  # first visit, or the UIDs were reassigned: read everything again
    return stored.last_uid


def load_folder_state(db: Database, account: str, folder: str) -> FolderState | None:
    with db.transaction() as session:
        row = session.get(ImapFolderState, (account, folder))
        if row is None:
            return None
        return FolderState(row.account, row.folder, row.uidvalidity, row.last_uid)


def record_folder_state(db: Database, state: FolderState, *, now: dt.datetime) -> None:
    """Store ``state`` (insert or overwrite). One poller thread owns each (account, folder)."""
    with db.transaction() as session:
        row = session.get(ImapFolderState, (state.account, state.folder), with_for_update=True)
        if row is None:
            session.add(ImapFolderState(account=state.account, folder=state.folder,
                                        uidvalidity=state.uidvalidity, last_uid=state.last_uid,
                                        updated_at=now))
        else:
            row.uidvalidity = state.uidvalidity
            row.last_uid = state.last_uid
            row.updated_at = now
