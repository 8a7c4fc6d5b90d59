"""What the domain's actions need from the running process, in one value.

Place in the flow: built once by ``gateway.app.build_runtime`` (CLI, server, workers) and passed
to ``workflows.inbound.process``, the case services and the triage services. The clock is injected
so that tests travel in time instead of sleeping.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from workflows.outbound.outbox import SendReport, Transport, send_queued
from workflows.settings import Settings
from workflows.storage.db import Database


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    db: Database
    key: bytes
    transport: Transport
    clock: Callable[[], dt.datetime] = field(default=utc_now)

    def now(self) -> dt.datetime:
        return self.clock()

    def send_outbox(self, ids: Iterable[int] | None = None, *, at: dt.datetime | None = None
                    ) -> SendReport:
        """Send queued mail (after the commit that queued it), or with ``ids=None`` every
        outbox row due (queued, or deferred until then); ``at``: as of that time (a clock
        pass's), default now."""
        return send_queued(self.db, self.transport, self.settings.from_address, ids=ids,
                           now=at or self.now(), retry_minutes=self.settings.mail_retry_minutes)


@contextlib.contextmanager
def start_up_frozen() -> Iterator[None]:
    """While the block runs, what is alive at its start (the modules, settings, the runtime)
    is out of the garbage collector's way: it outlives the block, and every full collection
    walked all of it. Unfrozen after, so that a caller going on in this process (the tests run
    commands in-process) has its own garbage collected. Acts, process-wide.

    Measured (issue 15): ``ingest`` 108 -> 20 us a mail in the collector (bench/process.py,
    2,000 replies, CPU time); the ``serve --role worker`` path 9.8 -> 0.9 us a mail in full
    collections (8,000 replies); ``serve``'s listener 23.3 -> 20.0 M instructions in 400 mails
    (callgrind, a new connection per mail). A Celery worker process freezes for its whole life
    (``workflows.tasks.freeze_start_up``)."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
