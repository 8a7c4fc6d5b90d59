"""The group-commit writer: many SMTP sessions' messages, one ``intake.commit_many`` commit.

Place in the flow: between the SMTP/LMTP handler (after DATA) and the durable boundary. The
handler awaits ``accept`` on the event loop; the bytes are queued to one committer thread that
gathers whatever other sessions queued within ``window`` (or up to ``max_batch`` messages;
the window ends early once ``expecting`` says no other session has mail on its way),
commits them in ONE transaction, and only then resolves each session's future so it may answer
250 (RFC 5321 6.1: a 250 takes responsibility for the message). One fsync per batch instead of
one per message is what lets durable intake keep pace with a bare server.

SQLite's WAL checkpoints stay on this thread's commits (every ~1,000 pages one commit copies
the WAL back, the 30-50 ms p99 commits). Moving them off was measured (issue 15): with the
listener's connections at ``wal_autocheckpoint=0`` and PASSIVE checkpoints in another thread or
the worker process, the WAL is never fully copied while commits keep coming, so it is never
reused from its start and grows for the whole burst (77 MB for 3,000 4 KB mails against 17 MB);
3,000 mails in batches of 10 took 3.22-5.32 s (median 4.32, 7 runs) against 1.54-4.76 s
(median 3.06, 5 runs), alternated on a shared box; p99 commit no better (43-64 against 28-56
ms). A checkpoint in the committing thread sees no new frames arrive, so the next commit
restarts the WAL.

After the commit the new ids go to the dispatcher. A failed submission only delays processing:
the rows are ``received`` and the sweeper finds them.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import queue
import threading
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

from workflows.errors import error_line
from workflows.inbound.dispatch import Dispatcher
from workflows.inbound.intake import AcceptResult, Envelope, commit_many, log_accepted
from workflows.storage.db import Database, DatabaseUnavailable

log = logging.getLogger(__name__)
# How long the writer waits for mail before it writes the last batch's accepted lines itself.
_IDLE = 0.05


class WriterClosed(RuntimeError):
    """The writer is shutting down and takes no more messages."""


class WriterFull(RuntimeError):
    """Too many messages are waiting for the database; the sender should retry later."""


@dataclass(frozen=True, slots=True)
class _Pending:
    raw: bytes
    envelope: Envelope
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[AcceptResult]
    origin: object  # the session it came from (for ``expecting``), or None


def _call_soon(loop: asyncio.AbstractEventLoop, *args: object) -> None:
    try:
        loop.call_soon_threadsafe(*args)  # type: ignore[arg-type]
    except RuntimeError:  # the loop is closed: its session is gone and will never answer
        log.debug("event loop closed before a commit result could be delivered")


def _resolve(future: asyncio.Future[AcceptResult], result: AcceptResult) -> None:
    if not future.done():  # the session may have gone away (connection lost, cancelled)
        future.set_result(result)


def _resolve_all(answers: list[tuple[asyncio.Future[AcceptResult], AcceptResult]]) -> None:
    for future, result in answers:
        _resolve(future, result)


def _reject(future: asyncio.Future[AcceptResult], exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)


class GroupCommitWriter:
    """Commits queued messages in batches on one thread; ``accept`` awaits a batch's commit."""

    def __init__(self, db: Database, dispatcher: Dispatcher, *, window: float = 0.002,
                 max_batch: int = 200, max_pending: int = 5000,
                 clock: Callable[[], dt.datetime] | None = None,
                 expecting: Callable[[Collection[object]], bool] | None = None) -> None:
        self.db = db
        self.clock = clock  # the runtime's clock stamps received_at (None: the system's)
        self.dispatcher = dispatcher
        self.window = window
        self.max_batch = max_batch
        self.max_pending = max_pending
        # Given the origins in a batch being gathered, whether other mail is on its way (called
        # on the writer's thread); None: always, so every batch waits out its window.
        self.expecting = expecting
        self._queue: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        self._closed = False
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="ticketgate-intake", daemon=True)
        self.batches = 0  # counters for logs and benches
        self.committed = 0
        # Batches whose senders have been answered (committed or failed), counted before the
        # answers are scheduled (``protocol.mail_on_the_way`` reads it).
        self.answered = 0
        # The last batch's mail.accepted lines, not yet written (see _hand_over_lines).
        self._unlogged: tuple[asyncio.AbstractEventLoop, list[tuple[bytes, Envelope]],
                              list[AcceptResult]] | None = None

    def start(self) -> None:
        self._thread.start()

    async def accept(self, raw: bytes, envelope: Envelope, *, origin: object = None
                     ) -> AcceptResult:
        """Commit ``raw`` with other sessions' mail; returns once it is durable. Acts.

        ``origin`` (the session) is what ``expecting`` is told is already in the batch. Never
        blocks the event loop: the queue put is non-blocking and the commit happens on the
        writer's thread. Raises ``WriterClosed``/``WriterFull`` or the database's error.
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[AcceptResult] = loop.create_future()
        # If the session is gone by the time the commit fails, nobody awaits the future:
        # retrieve its exception so asyncio does not log it as never retrieved.
        future.add_done_callback(lambda f: f.cancelled() or f.exception())
        with self._lock:
            if self._closed:
                raise WriterClosed("the intake writer is closed")
            if self._queue.qsize() >= self.max_pending:
                raise WriterFull(f"{self.max_pending} messages are waiting for the database")
            self._queue.put(_Pending(raw, envelope, loop, future, origin))
        # A client that drops mid-wait cancels only this future: the batch holds the message,
        # not the future, so it is committed anyway (and a redelivery of the same bytes is a
        # no-op); the answer for a done future is skipped (_resolve, _reject). No
        # asyncio.shield around it: an outer future and one more loop turn (2.3 us a mail).
        return await future

    def close(self, timeout: float = 30.0) -> None:
        """Commit what is queued, then stop the thread. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._queue.put(None)
        if self._thread.is_alive():
            self._thread.join(timeout)
        log.info("intake writer closed: %d messages committed in %d batches", self.committed,
                 self.batches)

    def _gather(self, first: _Pending) -> tuple[list[_Pending], bool]:
        """``first`` and what arrives within the window (up to ``max_batch``); and whether
        the close marker was seen.

        The window ends early once ``expecting`` sees no other mail on its way: waiting
        longer would only delay every reply of the batch. With connections reused, sessions
        move in step (one commit answers them, their next DATA come within ~0.4 ms of each
        other), so the full 2 ms window was ~1.6 ms of idle time in a cycle of ~8 ms between
        two commits (smtp-source -s 20 -d, 4 KB mails). Asked each time the queue is empty,
        not when a mail is queued: by then the sessions answered by the last commit, which
        will come back, may not have had their reply yet."""
        batch = [first]
        origins = {first.origin}
        deadline = time.monotonic() + self.window
        while len(batch) < self.max_batch:
            try:
                # What is already queued joins at once; then wait out the rest of the window.
                item = self._queue.get_nowait()
            except queue.Empty:
                if self.expecting is not None and not self.expecting(origins):
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                try:
                    item = self._queue.get(timeout=remaining)
                except queue.Empty:
                    break
            if item is None:
                return batch, True
            batch.append(item)
            origins.add(item.origin)
        return batch, False

    def _run(self) -> None:
        # The close marker is queued after every accepted message (under the lock), so
        # reaching it means everything before it has been committed.
        while True:
            try:
                first = self._queue.get(timeout=_IDLE)
            except queue.Empty:
                self._write_lines()  # no mail for a while: nobody waits on these lines
                first = self._queue.get()
            if first is None:
                self._write_lines()
                return
            batch, saw_close = self._gather(first)
            self._hand_over_lines()
            self._commit(batch)
            if saw_close:
                self._write_lines()
                return

    def _write_lines(self) -> None:
        if self._unlogged is not None:
            _, items, results = self._unlogged
            self._unlogged = None
            log_accepted(items, results)

    def _hand_over_lines(self) -> None:
        """The previous batch's mail.accepted lines go to the event loop, written while this
        thread commits the next batch. Acts.

        Then the loop is idle (its sessions wait for this commit) and this thread is mostly
        in SQLite without the interpreter lock (the fsync). Written here, right after the
        250s, the lines (17-34 us each) took the lock from the loop as it answered the
        batch's sessions; written before the 250s, they delayed them."""
        if self._unlogged is not None:
            loop, items, results = self._unlogged
            self._unlogged = None
            try:
                loop.call_soon_threadsafe(log_accepted, items, results)
            except RuntimeError:  # the loop is closed: write them here
                log_accepted(items, results)

    def _commit(self, batch: Sequence[_Pending]) -> None:
        try:
            now = self.clock() if self.clock else None
            items = [(p.raw, p.envelope) for p in batch]
            results = commit_many(self.db, items, now=now)
        except Exception as exc:  # process boundary: every sender gets a 451 and retries
            if isinstance(exc, DatabaseUnavailable):
                # An outage: one line a failed commit, no traceback (a 30 s outage with mail
                # coming in was screens of them); the senders' retries come back after it.
                error = error_line(exc)
                log.warning("intake commit of %d message(s) failed, the database is "
                            "unavailable: answered 451, the senders keep the mail and retry; %s",
                            len(batch), error, extra={
                                "event": "intake.commit_failed", "messages": len(batch),
                                "error": error})
            else:  # not an outage we know: the traceback says where
                log.exception("group commit of %d messages failed; answering 451", len(batch))
            self.answered += 1
            for pending in batch:
                _call_soon(pending.loop, _reject, pending.future, exc)
            return
        self.batches += 1
        self.committed += len(batch)
        self.answered += 1
        # One hand-over to each event loop for the whole batch, in the batch's order: not one
        # call_soon_threadsafe a mail (each takes the loop's lock and may wake it; 10 mails a
        # batch with a new connection per mail, smtp-source -s 20).
        answers: dict[asyncio.AbstractEventLoop,
                      list[tuple[asyncio.Future[AcceptResult], AcceptResult]]] = {}
        for pending, result in zip(batch, results, strict=True):
            answers.setdefault(pending.loop, []).append((pending.future, result))
        for loop, answered in answers.items():
            _call_soon(loop, _resolve_all, answered)
        created = [r.inbound_id for r in results if r.created]
        if created:
            try:
                self.dispatcher.submit(created)
            except Exception:  # the rows are committed as received: the sweeper re-submits
                log.exception("submitting %d committed messages failed; the sweep retries",
                              len(created))
        self._unlogged = (batch[0].loop, items, results)
