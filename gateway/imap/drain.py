"""Drain one IMAP folder over one connection: fetch, commit, hand over, record, move.

Place in the flow: the IMAP poller's unit of work, between ``connection.connect`` and the wait
for new mail. For each batch of new UIDs, in this order:

1. ``UID FETCH <set> BODY.PEEK[]`` -- PEEK, so \\Seen is not set by reading (RFC 3501 6.4.5);
2. ``intake.accept_many`` -- one commit for the batch: the durable boundary;
3. ``dispatcher.submit(ids)`` -- processing starts;
4. record (account, folder, UIDVALIDITY, last UID) -- everything up to it is committed and
   submitted;
5. ``UID MOVE <set>`` to the processed folder (or the fallback ``Disposal``).

A crash anywhere loses nothing and doubles nothing: before 2 the messages are simply fetched
again; between 2 and 4 they are fetched again, ``accept`` finds the same bytes (sha256) and the
ids are submitted again (processing is idempotent); between 4 and 5 they are still in the folder
at or below the last UID, and ``open`` moves them without fetching. Submitting before recording
is deliberate: recorded progress never covers a message nobody was told to process, so a crash
of this poller never leaves one waiting for the sweeper. A new UIDVALIDITY (RFC 3501 2.3.1.1)
re-reads the folder from UID 1, and the same dedupe keeps that exactly-once.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor

from imapclient import DELETED, SEEN, IMAPClient

from gateway.imap.connection import (
    Disposal,
    choose_disposal,
    ensure_folder,
    message_url,
    uid_set,
)
from workflows.inbound.dispatch import Dispatcher
from workflows.inbound.intake import AcceptResult, Envelope, accept_many
from workflows.runtime import Runtime
from workflows.settings import ImapAccount
from workflows.storage.imap_state import (
    FolderState,
    load_folder_state,
    record_folder_state,
    resume_point,
)

log = logging.getLogger(__name__)

BODY = b"BODY[]"  # how the server labels the data of a BODY.PEEK[] fetch
# What a message at or below the last UID looks like when it still awaits its disposal.
_LEFTOVER_CRITERIA: dict[Disposal, tuple[str, ...]] = {
    Disposal.MOVE: (),
    Disposal.COPY_EXPUNGE: ("UNDELETED",),
    Disposal.COPY_DELETE: ("UNDELETED",),
    Disposal.FLAG: ("UNSEEN",),
}


class EarlierBatchFailed(RuntimeError):
    """A batch was not committed because one before it failed (that one's error is raised)."""


class FolderDrain:
    """One account's folder on one logged-in connection (not shared between threads).

    ``fetch_batch``, ``accept_batch``, ``record_progress`` and ``dispose`` are the numbered steps
    of the module docstring, one method each, so that a test can cut the flow between them.
    """

    def __init__(self, rt: Runtime, dispatcher: Dispatcher, account: ImapAccount,
                 client: IMAPClient, stop: threading.Event) -> None:
        self.rt = rt
        self.dispatcher = dispatcher
        self.account = account
        self.client = client
        self.stop = stop
        self.disposal = choose_disposal(client.capabilities(), account.processed_folder)
        self.uidvalidity = 0
        self.last_uid = 0
        self._commit_failed = False  # set on the committer thread, read there before each batch

    @property
    def folder(self) -> str:
        return self.account.folder

    def open(self) -> None:
        """Select the folder, find where to resume, and finish moves a crash interrupted."""
        if self.disposal is not Disposal.FLAG:
            ensure_folder(self.client, self.account.processed_folder)
        selected = self.client.select_folder(self.folder)
        self.uidvalidity = int(selected[b"UIDVALIDITY"])
        stored = load_folder_state(self.rt.db, self.account.name, self.folder)
        self.last_uid = resume_point(stored, self.uidvalidity)
        if stored is not None and stored.uidvalidity != self.uidvalidity:
            log.warning("imap %s: %s UIDVALIDITY changed from %s to %s; reading it again "
                        "(already accepted messages are recognized by their bytes)",
                        self.account.name, self.folder, stored.uidvalidity, self.uidvalidity)
        self.dispose_leftovers()

    def dispose_leftovers(self) -> int:
        """Dispose of committed messages still in the folder (a crash came before their MOVE)."""
        if self.last_uid == 0:
            return 0
        criteria = ["UID", f"1:{self.last_uid}", *_LEFTOVER_CRITERIA[self.disposal]]
        leftovers = [u for u in self.client.search(criteria) if u <= self.last_uid]
        if leftovers:
            log.info("imap %s: %d committed messages were still in %s; disposing of them",
                     self.account.name, len(leftovers), self.folder)
            self.dispose(leftovers)
        if self.disposal is Disposal.COPY_EXPUNGE:
            # A crash between STORE \Deleted and UID EXPUNGE left copied messages flagged.
            self.client.uid_expunge(f"1:{self.last_uid}")
        return len(leftovers)

    def new_uids(self) -> list[int]:
        """UIDs above the last committed one, oldest first."""
        self.client.noop()  # lets the server announce mail that arrived since the last command
        # "n:*" always includes the highest UID even when it is below n (RFC 3501 6.4.8).
        found = self.client.search(["UID", f"{self.last_uid + 1}:*"])
        return sorted(u for u in found if u > self.last_uid)

    def drain(self) -> int:
        """Commit and dispose of every message above the last UID; how many were committed.

        Pipelined: steps 2 to 4 run on a committer thread, one batch at a time and in order,
        while this thread fetches the next batch and moves the previous one, so that the IMAP
        server's work overlaps the database's. A batch is still moved only after its own
        commit, and once a commit fails no later batch is committed: recorded progress never
        jumps over a batch that is not in the database.
        """
        committed = 0
        self._commit_failed = False
        with ThreadPoolExecutor(1, thread_name_prefix=f"imap-{self.account.name}") as pool:
            while not self.stop.is_set():
                uids = self.new_uids()
                if not uids:
                    break
                committed += self._drain_uids(pool, uids)
        return committed

    def _drain_uids(self, pool: ThreadPoolExecutor, uids: Sequence[int]) -> int:
        size = max(1, self.account.batch_size)
        in_flight: deque[tuple[list[int], Future[None]]] = deque()
        committed = 0
        try:
            for start in range(0, len(uids), size):
                if self.stop.is_set():
                    break
                batch = list(uids[start:start + size])
                raws = self.fetch_batch(batch)
                present = [u for u in batch if u in raws]
                if len(present) < len(batch):
                    # RFC 3501 6.4.8: UIDs of messages expunged meanwhile are left out.
                    log.warning("imap %s: %d of %d messages vanished from %s before their "
                                "fetch", self.account.name, len(batch) - len(present),
                                len(batch), self.folder)
                in_flight.append((present, pool.submit(self.commit_batch, batch, present, raws)))
                if len(in_flight) > 1:  # one commit runs while the next batch is fetched
                    committed += self._dispose_committed(*in_flight.popleft())
            while in_flight:
                committed += self._dispose_committed(*in_flight.popleft())
        finally:
            for _, future in in_flight:
                future.cancel()
        return committed

    def _dispose_committed(self, present: list[int], commit: Future[None]) -> int:
        commit.result()  # a failed commit ends this connection before anything is moved
        if present:
            self.dispose(present)
        return len(present)

    def commit_batch(self, uids: Sequence[int], present: Sequence[int],
                     raws: dict[int, bytes]) -> None:
        """Steps 2 to 4 for one batch (on the committer thread)."""
        if self._commit_failed:
            raise EarlierBatchFailed("an earlier batch of this drain was not committed")
        try:
            results = self.accept_batch(present, raws) if present else []
            if results:
                self.dispatcher.submit(list(dict.fromkeys(r.inbound_id for r in results)))
            self.record_progress(max(uids))
        except BaseException:
            self._commit_failed = True
            raise
        log.debug("imap %s: %d fetched, %d new, up to UID %s", self.account.name,
                  len(present), sum(r.created for r in results), max(uids))

    def fetch_batch(self, uids: Sequence[int]) -> dict[int, bytes]:
        """Step 1: the raw bytes by UID, without setting \\Seen."""
        fetched = self.client.fetch(list(uids), [b"BODY.PEEK[]"])
        raws: dict[int, bytes] = {}
        for uid, data in fetched.items():
            raw = data.get(BODY)
            if isinstance(raw, bytes):
                raws[uid] = raw
        return raws

    def accept_batch(self, uids: Sequence[int], raws: dict[int, bytes]) -> list[AcceptResult]:
        """Step 2: one commit for the whole batch (the durable boundary)."""
        mailbox = self.account.mailbox
        items = [(raws[uid], Envelope(mailbox=mailbox, rcpt_tos=(mailbox,), transport="imap",
                                      source=message_url(self.account, self.folder,
                                                         self.uidvalidity, uid)))
                 for uid in uids]
        return accept_many(self.rt.db, items, now=self.rt.now())

    def record_progress(self, last_uid: int) -> None:
        """Step 4: every UID up to ``last_uid`` is committed and submitted."""
        record_folder_state(self.rt.db, FolderState(self.account.name, self.folder,
                                                    self.uidvalidity, last_uid),
                            now=self.rt.now())
        self.last_uid = last_uid

    def dispose(self, uids: Sequence[int]) -> None:
        """Step 5: set committed messages aside, a whole batch per command."""
        where = uid_set(uids)
        target = self.account.processed_folder
        if self.disposal is Disposal.MOVE:
            self.client.move(where, target)
        elif self.disposal is Disposal.FLAG:
            self.client.add_flags(where, [SEEN], silent=True)
        else:
            self.client.copy(where, target)
            self.client.add_flags(where, [DELETED], silent=True)
            if self.disposal is Disposal.COPY_EXPUNGE:
                self.client.uid_expunge(where)  # only these UIDs, never others' \Deleted mail
