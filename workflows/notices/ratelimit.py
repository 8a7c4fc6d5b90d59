"""The per-recipient limit on automated mail: N an hour, shared by every automated sender.

Place in the flow: ``delivery`` asks ``allowed_counts``/``allow`` before handing a notice to the
transport and calls ``record`` for each one sent; the case-lifecycle timers call ``allow`` and
``record`` the same way, so a recipient's hour counts everything automated we sent them. A mail
over the limit is not dropped: it is deferred to ``next_free`` (RFC 3834 5: automated mail must
not flood a recipient; a loop or a burst of timers is the usual cause).

The window is a sliding hour over the ``automated_mail_log`` table; ``prune`` (run by the
scheduler) deletes entries older than a day.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from workflows.storage.base import table_of
from workflows.storage.models import AutomatedMailLog

WINDOW = dt.timedelta(hours=1)
DEFAULT_PER_HOUR = 20
KEEP = dt.timedelta(days=1)


def recent_counts(session: Session, recipients: Iterable[str], now: dt.datetime
                  ) -> Counter[str]:
    """Automated mails each recipient got in the hour before ``now`` (one query per 500)."""
    wanted = sorted({r.lower() for r in recipients})
    counts: Counter[str] = Counter()
    for i in range(0, len(wanted), 500):
        chunk = wanted[i:i + 500]
        for recipient, count in session.execute(
            select(AutomatedMailLog.recipient, func.count())
            .where(AutomatedMailLog.recipient.in_(chunk), AutomatedMailLog.at > now - WINDOW)
            .group_by(AutomatedMailLog.recipient)
        ):
            counts[recipient] = count
    return counts


def allow(session: Session, recipient: str, now: dt.datetime, *,
          per_hour: int = DEFAULT_PER_HOUR) -> bool:
    """True when ``recipient`` may get one more automated mail now. Reads only."""
    return recent_counts(session, (recipient,), now)[recipient.lower()] < per_hour


def next_free(session: Session, recipient: str, now: dt.datetime, *,
              per_hour: int = DEFAULT_PER_HOUR) -> dt.datetime:
    """When ``recipient`` may get the next one: when the oldest mail of the hour ages out."""
    times = list(session.scalars(
        select(AutomatedMailLog.at)
        .where(AutomatedMailLog.recipient == recipient.lower(),
               AutomatedMailLog.at > now - WINDOW)
        .order_by(AutomatedMailLog.at.desc()).limit(per_hour)))
    if len(times) < per_hour:
        return now
    return times[-1] + WINDOW


def record(session: Session, recipients: Iterable[str], now: dt.datetime, *,
           source: str) -> None:
    """Count one automated mail to each of ``recipients`` (in the caller's transaction)."""
    rows = [{"recipient": r.lower(), "at": now, "source": source} for r in recipients]
    if rows:  # one executemany: a fan-out records thousands at a time
        session.execute(insert(table_of(AutomatedMailLog)), rows)


def prune(session: Session, now: dt.datetime) -> int:
    """Drop entries no window can count any more."""
    result = session.execute(delete(AutomatedMailLog).where(AutomatedMailLog.at < now - KEEP))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
