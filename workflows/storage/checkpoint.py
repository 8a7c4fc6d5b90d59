"""SQLite's WAL checkpoints in a thread of their own, for the processes that write in batches.

Place in the flow: storage, beside ``db``. ``ticketgate ingest`` and ``serve --role worker``
(the embedded worker) run ``Database.checkpoints_in_background()`` around their work; every
other process (the SMTP listener, the CLI's one-shot commands) keeps SQLite's automatic
checkpoint.

Why: in WAL mode every commit appends the changed pages to the ``-wal`` file, and SQLite's
automatic checkpoint (https://sqlite.org/wal.html#automatic_checkpoint) copies them back into the
database file inside the commit that takes the log past 1,000 pages. With ``ingest``'s batches of
1,000 mails that was every commit: 18-20 us a mail of ``ingest``'s ~390 us, spent copying
(commit 37-40 -> 20-21 us a mail with the automatic checkpoint off; 3,000 bench replies, quiet
box). SQLite's own advice for that case is to turn the automatic checkpoint off and "run
checkpoints in a separate thread" (wal.html, section 6). A ``PASSIVE`` checkpoint takes no lock
that a writer or a reader waits for; the sqlite3 module releases the GIL for the whole call, so
the copying overlaps the next batch's parsing on the other core.

Durability does not change: a checkpoint only moves pages already committed (and synced, with
``synchronous=FULL``) in the WAL. Should this thread fall behind or stop, the WAL only grows;
nothing is lost, and the next checkpoint (or the last connection's close) catches up.
"""

from __future__ import annotations

import logging
import sqlite3
import threading

log = logging.getLogger(__name__)

# A commit's checkpoint runs this long after it, so that the worker's bursts of small batches
# (``IntakeFirst``) cost one checkpoint, and its fsync of the database file, a quarter-second
# rather than one a commit. ingest commits ~3 times a second.
INTERVAL = 0.25


class WalCheckpointer:
    """A daemon thread that runs ``PRAGMA wal_checkpoint(PASSIVE)`` on the database at ``path``
    after writes (``nudge``), through a connection of its own. ``start``/``stop`` Act."""

    def __init__(self, path: str, *, interval: float | None = None) -> None:
        self._path = path
        self._interval = INTERVAL if interval is None else interval
        self._nudged, self._stopping = threading.Event(), threading.Event()
        self._thread: threading.Thread | None = None
        self._pending = False  # a nudge not yet served (a bool: set and read whole, GIL-safe)
        self.checkpoints = 0  # completed checkpoint calls (the tests wait on it)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="ticketgate-checkpoint",
                                        daemon=True)
        self._thread.start()

    def nudge(self) -> None:
        """A transaction ended: pages it committed may wait in the WAL."""
        self._pending = True
        self._nudged.set()

    def stop(self) -> None:
        """Ends the thread after checkpointing what the last nudges left (at once: the wait
        of the interval is cut short)."""
        self._stopping.set()
        self._nudged.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        try:
            conn = sqlite3.connect(self._path, timeout=0, check_same_thread=False)
        except sqlite3.Error as exc:  # the writers' own connections will say it to the user
            log.warning("background checkpoints are off: %s", exc)
            return
        try:
            while True:
                self._nudged.wait()
                # Served an interval after the nudge: the commits of that interval ride on one
                # checkpoint. ``stop`` ends the wait early.
                stopping = self._stopping.wait(self._interval)
                self._nudged.clear()
                if self._pending:
                    self._pending = False
                    self._checkpoint(conn)
                if stopping:
                    return
        finally:
            conn.close()

    def _checkpoint(self, conn: sqlite3.Connection) -> None:
        try:
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            self.checkpoints += 1
        except sqlite3.Error as exc:  # a locked or vanished file: the next nudge tries again
            log.warning("background checkpoint failed, the WAL waits for the next one: %s",
                        exc, extra={"event": "db.checkpoint_failed", "error": str(exc)})
