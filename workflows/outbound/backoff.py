"""When to try a mail again after a failed attempt: one rule for case mail and notices.

Place in the flow: after a transport answered. ``workflows.outbound.outbox.send_queued`` (case mail)
and ``workflows.notices.delivery`` (notice deliveries) both record a failed attempt through
``next_attempt``; the clock's jobs (``workflows.clock.jobs``) pick the row up again once its
``next_attempt_at`` has come.

A temporary failure (an SMTP 4xx reply, a connection lost before the message was taken) is
tried again after the schedule's next delay (RFC 5321 4.5.4.1: the sender retries a 4xx later,
with growing intervals); a permanent one (5xx) and a temporary one after the last delay are
final. Pure: no clock, no database.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence


def next_attempt(*, temporary: bool, attempts_before: int, at: dt.datetime,
                 schedule_minutes: Sequence[int]) -> dt.datetime | None:
    """When to try again after attempt number ``attempts_before + 1`` failed at ``at``
    (``temporary``: a 4xx or a lost connection); None: do not (the failure is permanent, or
    every delay of the schedule is spent)."""
    if not temporary or attempts_before >= len(schedule_minutes):
        return None
    return at + dt.timedelta(minutes=schedule_minutes[attempts_before])
