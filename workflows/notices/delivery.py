"""Send queued notice deliveries: claim, hand to the transport, record; retry and report.

Place in the flow: after the commit that queued a mailing (``notice send``, ``all-clear``...) and
on every clock pass (the ``notice-deliveries`` job of ``workflows.clock.jobs``, run by
``workflows.clock.scheduler.run_pass``: retries of deferred deliveries).

Never twice. A delivery is claimed with a compare-and-set (``UPDATE ... SET status='sending',
claim_token=T WHERE id IN (...) AND status IN ('queued','deferred')``) in its own commit before
the transport sees it, and its result is recorded in a later commit. A worker killed between
the two leaves the row in ``sending``: it *may* have been sent, and nothing tells us which. Such
a row, once older than ``notice_stale_minutes``, becomes ``uncertain`` and is reported, never
resent automatically: a notice missing for one recipient is a smaller harm than a duplicate to a
whole list, and ``notice send REF --resend-uncertain`` lets an operator decide. The same goes for
a connection lost after the end of DATA (``outbox.UncertainDelivery``). A batch that runs long
releases its unsent claims so they never go stale while waiting.

A 4xx (or a lost connection before the message was taken) defers the delivery with backoff
(``notice_retry_minutes``, through ``workflows.outbound.backoff``, the rule case mail follows too),
then fails it; a 5xx fails it at once. Addresses that bounced are
skipped; the per-recipient hourly limit (``ratelimit``) defers instead of sending.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from sqlalchemy import and_, bindparam, func, insert, literal, or_, select, update
from sqlalchemy.orm import Session

from workflows.notices import ratelimit
from workflows.notices.mime import for_recipient
from workflows.notices.model import PENDING, DeliveryStatus
from workflows.outbound.backoff import next_attempt
from workflows.outbound.outbox import Transport, TransportError, UncertainDelivery
from workflows.runtime import Runtime
from workflows.storage.base import table_of
from workflows.storage.models import (
    AutomatedMailLog,
    NoticeDelivery,
    NoticePart,
    NoticeSuppression,
    UTCDateTime,
)

log = logging.getLogger(__name__)
Progress = Callable[[int, int], None]
_TABLE = table_of(NoticeDelivery)
_RUN = 50  # messages pipelined in one go; the time budget is checked between runs


@runtime_checkable
class SessionTransport(Protocol):
    """A transport that can keep one connection open for many messages."""

    def session(self) -> AbstractContextManager[Transport]: ...


@dataclass(frozen=True, slots=True)
class SendReport:
    sent: int = 0
    deferred: int = 0
    failed: int = 0
    skipped: int = 0  # the address bounced before
    uncertain: int = 0  # "maybe sent": stale claims found, or lost after the end of DATA

    def __add__(self, other: SendReport) -> SendReport:
        return SendReport(self.sent + other.sent, self.deferred + other.deferred,
                          self.failed + other.failed, self.skipped + other.skipped,
                          self.uncertain + other.uncertain)


@dataclass(frozen=True, slots=True)
class _Claimed:
    id: int
    part_id: int
    recipient: str
    message_id: str
    attempts: int


@contextmanager
def _opened(transport: Transport) -> Iterator[Transport]:
    if isinstance(transport, SessionTransport):
        with transport.session() as session:
            yield session
    else:
        yield transport


def due_deliveries(at: dt.datetime):  # type: ignore[no-untyped-def]
    """The deliveries due at ``at``: queued, or deferred until a time that has come."""
    return and_(NoticeDelivery.status.in_([s.value for s in PENDING]),
                or_(NoticeDelivery.next_attempt_at.is_(None),
                    NoticeDelivery.next_attempt_at <= at))


def mark_stale_uncertain(session: Session, at: dt.datetime, stale: dt.timedelta) -> int:
    """Claims older than ``stale`` that never reported: ``uncertain`` (maybe sent)."""
    result = session.execute(
        update(NoticeDelivery)
        .where(NoticeDelivery.status == DeliveryStatus.SENDING.value,
               NoticeDelivery.claimed_at < at - stale)
        .values(status=DeliveryStatus.UNCERTAIN.value, claim_token=None,
                last_error="claimed by a worker that never reported back: maybe sent; "
                           "not resent automatically")
        .execution_options(synchronize_session=False))
    count = int(result.rowcount or 0)  # type: ignore[attr-defined]
    if count:
        log.warning("%s notice deliveries were left in 'sending': marked uncertain", count)
    return count


def requeue_uncertain(session: Session, mailing_ids: Iterable[int]) -> int:
    """An operator's decision to resend the uncertain deliveries of these mailings."""
    result = session.execute(
        update(NoticeDelivery)
        .where(NoticeDelivery.status == DeliveryStatus.UNCERTAIN.value,
               NoticeDelivery.mailing_id.in_(list(mailing_ids)))
        .values(status=DeliveryStatus.QUEUED.value, next_attempt_at=None)
        .execution_options(synchronize_session=False))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def send_pending(rt: Runtime, *, at: dt.datetime, mailing_ids: Sequence[int] | None = None,
                 transport: Transport | None = None, progress: Progress | None = None
                 ) -> SendReport:
    """Send every delivery due at ``at`` (of ``mailing_ids``, or all), batch by batch."""
    settings = rt.settings
    with rt.db.transaction() as session:
        report = SendReport(uncertain=mark_stale_uncertain(
            session, at, dt.timedelta(minutes=settings.notice_stale_minutes)))
        query = select(func.count()).select_from(NoticeDelivery).where(due_deliveries(at))
        if mailing_ids is not None:
            query = query.where(NoticeDelivery.mailing_id.in_(list(mailing_ids)))
        total = int(session.scalar(query) or 0)
    if total == 0:
        return report
    token = secrets.token_hex(8)
    parts: dict[int, bytes] = {}
    done = 0
    # Release unsent claims well before another worker would call them stale.
    budget = settings.notice_stale_minutes * 60 / 3
    started = time.monotonic()
    with _opened(transport or rt.transport) as conn:
        while True:
            # A claim is stamped when it is made, so a long send never looks stale to others.
            now = at + dt.timedelta(seconds=time.monotonic() - started)
            claimed, early = _claim(rt, at, mailing_ids, token, parts, claimed_at=now)
            if not claimed and early == SendReport():
                break
            outcomes = _hand_over(conn, claimed, parts, settings.from_address, budget)
            batch = early + _record(rt, at, token, outcomes)
            report += batch
            done += batch.sent + batch.deferred + batch.failed + batch.skipped + \
                batch.uncertain
            if progress is not None:
                progress(min(done, total), total)
    return report


def _claim(rt: Runtime, at: dt.datetime, mailing_ids: Sequence[int] | None, token: str,
           parts: dict[int, bytes], *, claimed_at: dt.datetime
           ) -> tuple[list[_Claimed], SendReport]:
    """Claim a batch (compare-and-set) and settle at once what must not be sent."""
    settings = rt.settings
    with rt.db.transaction() as session:
        query = select(NoticeDelivery.id).where(due_deliveries(at))
        if mailing_ids is not None:
            query = query.where(NoticeDelivery.mailing_id.in_(list(mailing_ids)))
        ids = list(session.scalars(query.order_by(NoticeDelivery.id)
                                   .limit(settings.notice_batch_size)))
        if not ids:
            return [], SendReport()
        session.execute(update(NoticeDelivery)
                        .where(NoticeDelivery.id.in_(ids), due_deliveries(at))
                        .values(status=DeliveryStatus.SENDING.value, claim_token=token,
                                claimed_at=claimed_at)
                        .execution_options(synchronize_session=False))
        rows = [_Claimed(*row) for row in session.execute(
            select(NoticeDelivery.id, NoticeDelivery.part_id, NoticeDelivery.recipient,
                   NoticeDelivery.message_id, NoticeDelivery.attempts)
            .where(NoticeDelivery.id.in_(ids), NoticeDelivery.claim_token == token,
                   NoticeDelivery.status == DeliveryStatus.SENDING.value)
            .order_by(NoticeDelivery.id))]
        recipients = {r.recipient for r in rows}
        bounced = set(session.scalars(select(NoticeSuppression.recipient)
                                      .where(NoticeSuppression.recipient.in_(recipients))))
        counts = ratelimit.recent_counts(session, recipients, at)
        send, skip, limited = [], [], []
        for row in rows:
            if row.recipient in bounced:
                skip.append(row)
            elif counts[row.recipient] >= settings.automated_per_hour:
                limited.append(row)
            else:
                counts[row.recipient] += 1  # this batch counts too
                send.append(row)
        _settle(session, token, [
            {"b_id": r.id, "b_status": DeliveryStatus.SKIPPED.value, "b_attempts": r.attempts,
             "b_next": None, "b_sent": None,
             "b_error": "skipped: this address bounced a notice before"} for r in skip])
        _settle(session, token, [
            {"b_id": r.id, "b_status": DeliveryStatus.DEFERRED.value, "b_attempts": r.attempts,
             "b_next": ratelimit.next_free(session, r.recipient, at,
                                           per_hour=settings.automated_per_hour),
             "b_sent": None, "b_error": f"rate limit: {settings.automated_per_hour} automated "
                                        "mails an hour to this recipient"} for r in limited])
        missing = {r.part_id for r in send} - parts.keys()
        if missing:
            parts.update((part_id, content) for part_id, content in session.execute(
                select(NoticePart.id, NoticePart.content).where(NoticePart.id.in_(missing))))
    return send, SendReport(deferred=len(limited), skipped=len(skip))


def _hand_over(conn: Transport, claimed: list[_Claimed], parts: dict[int, bytes], sender: str,
               budget: float) -> list[tuple[_Claimed, TransportError | bool | None]]:
    """Send each claimed delivery; ``False`` marks one released unsent (the batch ran long).
    A session that pipelines across messages (``send_many``) gets them in runs of ``_RUN``."""
    outcomes: list[tuple[_Claimed, TransportError | bool | None]] = []
    started = time.monotonic()
    many = getattr(conn, "send_many", None)
    step = _RUN if many is not None else 1
    for first in range(0, len(claimed), step):
        run = claimed[first:first + step]
        if time.monotonic() - started > budget:
            outcomes.extend((row, False) for row in run)
            continue
        items = [(for_recipient(parts[r.part_id], r.recipient, r.message_id), sender,
                  [r.recipient]) for r in run]
        if many is not None:
            results: list[TransportError | None] = many(items)
        else:
            results = [_send_one(conn, items[0], run[0].message_id)]
        for row, error in zip(run, results, strict=True):
            if error is not None:
                log.warning("notice <%s> not sent: %s", row.message_id, error)
            else:
                log.info("notice <%s> sent", row.message_id, extra={
                    "event": "notice.sent", "delivery_id": row.id,
                    "message_id": row.message_id})
            outcomes.append((row, error))
    return outcomes


def _send_one(conn: Transport, item: tuple[bytes, str, list[str]], message_id: str
              ) -> TransportError | None:
    try:
        conn.send(item[0], item[1], item[2], message_id)
    except TransportError as exc:
        return exc
    return None


def _record(rt: Runtime, at: dt.datetime, token: str,
            outcomes: list[tuple[_Claimed, TransportError | bool | None]]) -> SendReport:
    retry = rt.settings.notice_retry_minutes
    values = []
    counts = {"sent": 0, "deferred": 0, "failed": 0, "uncertain": 0}
    for row, outcome in outcomes:
        item: dict[str, object] = {"b_id": row.id, "b_attempts": row.attempts + 1,
                                   "b_next": None, "b_sent": None, "b_error": None}
        if outcome is False:
            item.update(b_status=DeliveryStatus.QUEUED.value, b_attempts=row.attempts)
        elif outcome is None:
            item.update(b_status=DeliveryStatus.SENT.value, b_sent=at)
            counts["sent"] += 1
        elif isinstance(outcome, UncertainDelivery):
            item.update(b_status=DeliveryStatus.UNCERTAIN.value, b_error=str(outcome))
            counts["uncertain"] += 1
        elif isinstance(outcome, TransportError) and (later := next_attempt(
                temporary=outcome.temporary, attempts_before=row.attempts, at=at,
                schedule_minutes=retry)) is not None:
            item.update(b_status=DeliveryStatus.DEFERRED.value, b_error=str(outcome),
                        b_next=later)
            counts["deferred"] += 1
        else:
            item.update(b_status=DeliveryStatus.FAILED.value, b_error=str(outcome))
            counts["failed"] += 1
        values.append(item)
    sent_ids = [v["b_id"] for v in values if v["b_status"] == DeliveryStatus.SENT.value]
    with rt.db.transaction() as session:
        # The common case in two set-based statements, no parameters per row: a fan-out
        # records thousands at a time.
        if sent_ids:
            session.execute(
                update(_TABLE)
                .where(_TABLE.c.id.in_(sent_ids), _TABLE.c.claim_token == token,
                       _TABLE.c.status == DeliveryStatus.SENDING.value)
                .values(status=DeliveryStatus.SENT.value, attempts=_TABLE.c.attempts + 1,
                        sent_at=at, next_attempt_at=None, last_error=None, claim_token=None))
            log_table = table_of(AutomatedMailLog)
            session.execute(insert(log_table).from_select(
                ["recipient", "at", "source"],
                select(_TABLE.c.recipient, literal(at, UTCDateTime()), literal("notice"))
                .where(_TABLE.c.id.in_(sent_ids))))
        _settle(session, token, [v for v in values
                                 if v["b_status"] != DeliveryStatus.SENT.value])
    return SendReport(**counts)


def _settle(session: Session, token: str, values: list[dict[str, object]]) -> None:
    """Write outcomes of claimed rows; only rows still claimed by ``token`` change."""
    if not values:
        return
    session.execute(
        update(_TABLE)
        .where(_TABLE.c.id == bindparam("b_id"), _TABLE.c.claim_token == token,
               _TABLE.c.status == DeliveryStatus.SENDING.value)
        .values(status=bindparam("b_status"), attempts=bindparam("b_attempts"),
                next_attempt_at=bindparam("b_next"), sent_at=bindparam("b_sent"),
                last_error=bindparam("b_error"), claim_token=None),
        values)
