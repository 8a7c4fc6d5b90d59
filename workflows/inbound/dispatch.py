"""Hand committed inbound messages to whoever processes them.

Place in the flow: right after ``intake.accept`` has committed (SMTP, IMAP, CLI). The edge calls
``dispatcher.submit(ids)``; a lost submission only delays a message, because the sweeper finds
rows still ``received`` (or stuck ``processing``) and submits them again.

Two implementations, chosen by configuration: ``EmbeddedWorker`` (default: a thread in this
process) and ``workflows.inbound.celery_dispatch`` (when a broker URL is configured). Both run
``workflows.inbound.process`` (``process_batch``, ``process_message``): the same code path.
"""

from __future__ import annotations

import datetime as dt
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from workflows.errors import error_line
from workflows.inbound.process import process_batch
from workflows.inbound.queue import pending_ids, release_stuck
from workflows.runtime import Runtime
from workflows.storage.db import DatabaseUnavailable

log = logging.getLogger(__name__)
STUCK_AFTER = dt.timedelta(minutes=5)
BATCH = 100  # messages per transaction in the embedded worker


def _outage(what: str, *args: object, error: DatabaseUnavailable) -> None:
    """One warning line for work the database's outage stopped: the rows are kept and the
    sweep retries them; the error on one line, no traceback."""
    text = error_line(error)
    log.warning(what + ", the database is unavailable: the mail is kept and the sweep "
                "retries it; %s", *args, text, extra={"event": "worker.db_unavailable",
                                                      "error": text})


class Dispatcher(Protocol):
    def submit(self, inbound_ids: Sequence[int]) -> None:
        """Schedule processing of committed messages. Never blocks on processing."""


QUEUED_GRACE = dt.timedelta(minutes=1)


def sweep(rt: Runtime, dispatcher: Dispatcher, *, stuck_after: dt.timedelta = STUCK_AFTER,
          grace: dt.timedelta = QUEUED_GRACE) -> int:
    """Re-submit what a crash or a lost task left behind; returns how many were submitted.

    Rows younger than ``grace`` are left alone: their own task is most likely still queued,
    and submitting them again would only add no-op tasks to a backlog."""
    released = release_stuck(rt, stuck_after)
    if released:
        log.warning("released %d messages stuck in processing", released)
    ids = pending_ids(rt, older_than=grace)
    if ids:
        dispatcher.submit(ids)
    return len(ids)


@dataclass(frozen=True, slots=True)
class IntakeFirst:
    """How the worker shares the machine and the database with the listener during a burst.

    Processing holds SQLite's write lock for a whole batch (parsing and deciding run inside
    the transaction that applies the decisions, ``workflows.inbound.process``), and the
    listener's group commit needs that lock before every 250: while a batch runs, no mail is
    taken at all, and SQLite's busy handler then sleeps in steps of up to 100 ms. So while
    intake runs at or above ``hot_rate`` msg/s, the worker takes batches of at most
    ``hot_batch`` messages (a lock held for a few ms, not a hundred messages' worth) and after a
    batch that took t seconds rests t * (1 - share) / share (at most ``max_rest``): it holds the
    lock ``share`` of the time. Short batches matter twice since the worker runs niced
    (``gateway.supervisor.WORKER_NICENESS``): a niced process holding the lock is slow to
    finish. Measured (3 alternating rounds, 3,000 mails, shared 2-core box): with 100-message
    batches, a quarter share and hot at 100 msg/s, ``serve``'s worst round against bare was
    0.56x / 0.58x (new connection / reused); with these defaults 0.83x / 0.89x. Nothing
    waits longer than the burst plus that: committed mail is safe, and the worker catches up
    at full speed once intake calms. Below ``hot_rate`` (a desk's normal day, and
    the bench's 50 msg/s latency run) it processes at once, so latency is unchanged."""

    hot_rate: float = 60.0
    share: float = 0.05
    max_rest: float = 2.0
    hot_batch: int = 10

    def hot(self, intake_rate: float) -> bool:
        """Whether intake is in a burst. Pure."""
        return intake_rate >= self.hot_rate

    def batch_size(self, intake_rate: float) -> int:
        """Messages to take in the next batch. Pure."""
        return self.hot_batch if self.hot(intake_rate) else BATCH

    def rest_after(self, batch_seconds: float, intake_rate: float) -> float:
        """Seconds to rest after a batch; 0 when intake is calm. Pure."""
        if not self.hot(intake_rate) or batch_seconds <= 0:
            return 0.0
        return min(batch_seconds * (1.0 - self.share) / self.share, self.max_rest)


class _RateMeter:
    """Messages submitted over the last ``window`` seconds (monotonic clock)."""

    def __init__(self, window: float = 1.0) -> None:
        self.window = window
        self._events: deque[tuple[float, int]] = deque()
        self._count = 0
        self._lock = threading.Lock()

    def add(self, n: int, now: float | None = None) -> None:
        with self._lock:
            self._events.append((time.monotonic() if now is None else now, n))
            self._count += n

    def rate(self, now: float | None = None) -> float:
        now = time.monotonic() if now is None else now
        with self._lock:
            while self._events and self._events[0][0] < now - self.window:
                self._count -= self._events.popleft()[1]
            return self._count / self.window


class _Resubmit:
    """The worker's own sweeps: queued like any submission, but not counted as intake."""

    def __init__(self, worker: EmbeddedWorker) -> None:
        self._worker = worker

    def submit(self, inbound_ids: Sequence[int]) -> None:
        self._worker._enqueue(inbound_ids)


class EmbeddedWorker:
    """Processes submitted ids on one background thread, and sweeps every ``sweep_every`` s.
    During an intake burst it yields to the listener (``IntakeFirst``)."""

    def __init__(self, rt: Runtime, *, sweep_every: float = 30.0,
                 policy: IntakeFirst = IntakeFirst()) -> None:
        self.rt = rt
        self.sweep_every = sweep_every
        self.policy = policy
        self._intake = _RateMeter()
        self._queue: queue.Queue[int | None] = queue.Queue()
        self._queued: set[int] = set()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="ticketgate-worker", daemon=True)
        self._stop = threading.Event()

    def submit(self, inbound_ids: Sequence[int]) -> None:
        self._intake.add(len(inbound_ids))
        self._enqueue(inbound_ids)

    def _enqueue(self, inbound_ids: Sequence[int]) -> None:
        with self._lock:
            for inbound_id in inbound_ids:
                if inbound_id not in self._queued:
                    self._queued.add(inbound_id)
                    self._queue.put(inbound_id)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._queue.put(None)
        self._thread.join(timeout)

    def idle(self) -> bool:
        with self._lock:
            return not self._queued

    def _take_batch(self) -> list[int]:
        """Wait up to a second for one id, then take whatever else is already queued (up to
        ``BATCH``, ``IntakeFirst.hot_batch`` during a burst): one transaction for many messages
        is what keeps up with intake."""
        try:
            first = self._queue.get(timeout=1.0)
        except queue.Empty:
            return []
        batch = [first] if first is not None else []
        size = self.policy.batch_size(self._intake.rate())
        while len(batch) < size:
            try:
                more = self._queue.get_nowait()
            except queue.Empty:
                break
            if more is not None:
                batch.append(more)
        return batch

    def _run(self) -> None:
        # At start nothing else runs our messages: take everything left, however young.
        resubmit = _Resubmit(self)
        sweep(self.rt, resubmit, stuck_after=dt.timedelta(0), grace=dt.timedelta(0))
        next_sweep = self.rt.now().timestamp() + self.sweep_every
        while not self._stop.is_set():
            batch = self._take_batch()
            if batch:
                started = time.monotonic()
                try:
                    process_batch(self.rt, batch)
                except DatabaseUnavailable as exc:  # an outage: one line, no traceback
                    _outage("processing %d messages failed", len(batch), error=exc)
                except Exception:  # process boundary: the rows stay received; the sweep retries
                    log.exception("processing %d messages crashed the worker loop", len(batch))
                finally:
                    with self._lock:
                        self._queued.difference_update(batch)
                rest = self.policy.rest_after(time.monotonic() - started, self._intake.rate())
                if rest:
                    self._stop.wait(rest)
            if self.rt.now().timestamp() >= next_sweep:
                next_sweep = self.rt.now().timestamp() + self.sweep_every
                try:
                    sweep(self.rt, resubmit)
                except DatabaseUnavailable as exc:
                    _outage("sweep failed", error=exc)
                except Exception:
                    log.exception("sweep failed")
