"""What the domain's actions need from the running process, in one value.

Place in the flow: built once by ``gateway.app.build_runtime`` (CLI, server, workers) and passed
to ``workflows.inbound.process``, the case services and the triage services. The clock is injected
so that tests travel in time instead of sleeping.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
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
