"""``ticketgate serve --role worker``: processing and the scheduler, without the edges.

Place in the flow: the process that takes committed ids and runs ``workflows.process`` on them
(``EmbeddedWorker``) and the clock's passes (``EmbeddedScheduler``). ``ticketgate serve`` starts
it as its own child (``gateway.supervisor``) and writes the ids it commits to its stdin. Run by
hand (stdin not a pipe), it finds its work in the database instead: every ``POLL_EVERY``
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
from typing import BinaryIO

from gateway.supervisor import decode_ids
from workflows.dispatch import EmbeddedWorker, sweep
from workflows.runtime import Runtime
from workflows.scheduler import EmbeddedScheduler

log = logging.getLogger(__name__)
POLL_EVERY = 1.0  # seconds between looks for received rows when no listener feeds this worker


def _is_pipe(stream: BinaryIO) -> bool:
    try:
        return stat.S_ISFIFO(os.fstat(stream.fileno()).st_mode)
    except (OSError, ValueError):
        return False


def _feed_from_pipe(stream: BinaryIO, worker: EmbeddedWorker, stop: threading.Event) -> None:
    """Submit the ids of each line; end-of-file means the listener is gone: stop."""
    try:
        for line in stream:
            ids = decode_ids(line)
            if ids:
                worker.submit(ids)
    except (OSError, ValueError):
        log.exception("reading ids from the listener failed")
    finally:
        stop.set()


def _poll_database(rt: Runtime, worker: EmbeddedWorker, stop: threading.Event) -> None:
    """Without a listener feeding us: what is committed and still ``received`` is ours."""
    while not stop.wait(POLL_EVERY):
        try:
            sweep(rt, worker, grace=dt.timedelta(0))
        except Exception:  # process boundary: the next look tries again
            log.exception("looking for received messages failed")


def run_worker(rt: Runtime, stop: threading.Event) -> int:
    """Process and keep the clock until ``stop`` is set (signal or end of input); 0. Acts."""
    worker = EmbeddedWorker(rt)
    worker.start()
    # Timers, SLA clocks and notice follow-ups; at scale Celery beat runs the same pass.
    scheduler = EmbeddedScheduler(rt)
    scheduler.start()
    stdin = sys.stdin.buffer if sys.stdin is not None else None
    if stdin is not None and _is_pipe(stdin):
        feeder = threading.Thread(target=_feed_from_pipe, args=(stdin, worker, stop),
                                  name="ticketgate-ids", daemon=True)
    else:
        feeder = threading.Thread(target=_poll_database, args=(rt, worker, stop),
                                  name="ticketgate-poll", daemon=True)
    feeder.start()
    try:
        while not stop.wait(1.0):
            pass
        log.info("worker stopping: finishing the batch in hand")
    finally:
        stop.set()
        scheduler.stop()
        worker.stop()
    return 0
