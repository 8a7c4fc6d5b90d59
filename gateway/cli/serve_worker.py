"""``ticketgate serve --role worker``: processing and the scheduler, without the edges.

Place in the flow: the process that takes committed ids and runs ``workflows.inbound.process`` on
them (``EmbeddedWorker``) and the clock's passes (``EmbeddedScheduler``). ``ticketgate serve``
starts it as its own child (``gateway.supervisor``) and writes the ids it commits to its stdin. Run
by hand (stdin not a pipe), it finds its work in the database instead: every ``POLL_EVERY``
seconds it takes the rows still ``received``.

Stops cleanly on SIGTERM/SIGINT and on end-of-file on a piped stdin (the listener that fed it is
gone, even by SIGKILL): the batch in hand is finished and committed, nothing else is started.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import stat
import sys
import threading

from gateway.supervisor import decode_ids
from workflows.clock.scheduler import EmbeddedScheduler
from workflows.errors import error_line
from workflows.inbound.dispatch import EmbeddedWorker, sweep
from workflows.runtime import Runtime, start_up_frozen
from workflows.storage.db import DatabaseUnavailable

log = logging.getLogger(__name__)
POLL_EVERY = 1.0  # seconds between looks for received rows when no listener feeds this worker


def _is_pipe(fd: int) -> bool:
    try:
        return stat.S_ISFIFO(os.fstat(fd).st_mode)
    except OSError:
        return False


def _feed_from_pipe(fd: int, worker: EmbeddedWorker, stop: threading.Event) -> None:
    """Submit the ids of each line; end-of-file means the listener is gone: stop.

    Reads the descriptor with ``os.read``, not through ``sys.stdin``'s buffered reader: this
    daemon thread is still blocked in the read when the process exits, and a buffered reader's
    lock held at interpreter shutdown aborts the process."""
    pending = b""
    try:
        while chunk := os.read(fd, 65536):
            *lines, pending = (pending + chunk).split(b"\n")
            ids = [i for line in lines for i in decode_ids(line)]
            if ids:
                worker.submit(ids)
    except OSError:
        log.exception("reading ids from the listener failed")
    finally:
        stop.set()


def _poll_database(rt: Runtime, worker: EmbeddedWorker, stop: threading.Event) -> None:
    """Without a listener feeding us: what is committed and still ``received`` is ours."""
    while not stop.wait(POLL_EVERY):
        try:
            sweep(rt, worker, grace=dt.timedelta(0))
        except DatabaseUnavailable as exc:  # an outage: one line, no traceback
            error = error_line(exc)
            log.warning("looking for received messages failed, the database is unavailable: "
                        "they stay received, the next look in %.0f s retries; %s", POLL_EVERY,
                        error, extra={"event": "worker.poll_failed", "error": error})
        except Exception:  # process boundary: the next look tries again
            log.exception("looking for received messages failed")


def run_worker(rt: Runtime, stop: threading.Event) -> int:
    """Process and keep the clock until ``stop`` is set (signal or end of input); 0. Acts."""
    # Processing's batch commits leave WAL checkpoints to a thread of their own
    # (workflows.storage.checkpoint): the listener's group commits then rarely meet one.
    with rt.db.checkpoints_in_background():
        return _run_worker(rt, stop)


def _run_worker(rt: Runtime, stop: threading.Event) -> int:
    worker = EmbeddedWorker(rt)
    worker.start()
    # Timers, SLA clocks and notice follow-ups; at scale Celery beat runs the same pass.
    scheduler = EmbeddedScheduler(rt)
    scheduler.start()
    stdin = sys.stdin.fileno() if sys.stdin is not None else -1
    if stdin >= 0 and _is_pipe(stdin):
        feeder = threading.Thread(target=_feed_from_pipe, args=(stdin, worker, stop),
                                  name="ticketgate-ids", daemon=True)
    else:
        feeder = threading.Thread(target=_poll_database, args=(rt, worker, stop),
                                  name="ticketgate-poll", daemon=True)
    feeder.start()
    try:
        with start_up_frozen():
            while not stop.wait(1.0):
                pass
        log.info("worker stopping: finishing the batch in hand")
    finally:
        stop.set()
        scheduler.stop()
        worker.stop()
    return 0
