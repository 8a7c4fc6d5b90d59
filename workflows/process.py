"""Process committed inbound messages: parse, decide, apply, then send.

Place in the flow: the task a worker runs with the ids ``intake.accept`` returned (in-process in
the embedded default, on a Celery worker at scale). Idempotent: a message is claimed by moving it
from ``received`` to ``processed`` inside the very transaction that applies its decision, so a
decision is applied once however often, and on however many workers, the task runs; a message
already processed returns what was decided.

A batch shares one transaction (one commit, one fsync) and gives each message a savepoint, so a
message that fails rolls back alone. Nothing is lost (Mailman's shunt queue): a message whose
processing raises is marked ``failed`` with the error; ``retry_failed`` replays it.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session, defer

from parsing import ParsedMail, parse
from workflows.apply import apply
from workflows.decide import decide
from workflows.domain import MessageStatus
from workflows.runtime import Runtime
from workflows.settings import Mailbox
from workflows.snapshot import load_snapshot, prefetch
from workflows.storage.bulk import buffered_inserts
from workflows.storage.models import Case, InboundMessage

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ProcessResult:
    inbound_id: int
    message_id: str | None
    status: MessageStatus
    outcome: str | None
    reason: str | None
    case_number: str | None
    case_status: str | None
    error: str | None = None


def _result(session: Session, row: InboundMessage) -> ProcessResult:
    case = session.get(Case, row.case_id) if row.case_id else None
    return ProcessResult(row.id, row.message_id, MessageStatus(row.status), row.outcome,
                         row.reason, case.number if case else None,
                         case.status if case else None, row.error)


def result_of(rt: Runtime, inbound_id: int) -> ProcessResult:
    with rt.db.transaction() as session:
        row = session.get(InboundMessage, inbound_id)
        if row is None:
            raise LookupError(f"no inbound message #{inbound_id}")
        return _result(session, row)


def process_message(rt: Runtime, inbound_id: int) -> ProcessResult:
    return process_batch(rt, [inbound_id])[0]


class _BatchFailed(Exception):
    """One message of a fast-path batch raised: redo the batch message by message."""


def process_batch(rt: Runtime, inbound_ids: Sequence[int]) -> list[ProcessResult]:
    """Process ``inbound_ids`` in one transaction; one result per id, in order.

    Fast path: the whole batch without savepoints or autoflush, flushed once, so the ORM
    writes each table's rows together. If any message raises, that transaction is rolled back
    and the batch is redone with a savepoint per message, so the failure stays with its message.
    """
    try:
        results, outbound = _run_batch(rt, inbound_ids, isolate=False,
                                       parsed=_parse_ahead(rt, inbound_ids))
    except _BatchFailed:
        results, outbound = _run_batch(rt, inbound_ids, isolate=True)
    if outbound:
        rt.send_outbox(outbound)
    return [results[i] if i in results else result_of(rt, i) for i in inbound_ids]


def _parse_ahead(rt: Runtime, inbound_ids: Sequence[int]) -> dict[int, ParsedMail]:
    """The batch's mail, parsed before its write transaction begins.

    Parsing is most of processing and needs no lock: the raw bytes of a row still to be
    processed never change. Parsed here, the batch's transaction holds SQLite's write lock
    (which the SMTP intake's group commit waits for) or PostgreSQL's row locks only while
    deciding and applying. The transaction re-checks each row's status, so a row another
    worker processed meanwhile is skipped as before; a row missing here is parsed there."""
    pending = [MessageStatus.RECEIVED.value, MessageStatus.PROCESSING.value]
    with rt.db.reading() as conn:
        raws = conn.execute(select(InboundMessage.id, InboundMessage.raw).where(
            InboundMessage.id.in_(list(inbound_ids)), InboundMessage.status.in_(pending))).all()
    return {inbound_id: parse(raw, key=rt.key) for inbound_id, raw in raws}


def _run_batch(rt: Runtime, inbound_ids: Sequence[int], *, isolate: bool,
               parsed: dict[int, ParsedMail] | None = None
               ) -> tuple[dict[int, ProcessResult], list[int]]:
    results: dict[int, ProcessResult] = {}
    outbound: list[int] = []
    with rt.db.transaction() as session:
        # Locked: on PostgreSQL a second worker waits here and then finds the rows processed;
        # SQLite's BEGIN IMMEDIATE already serializes writers.
        rows = session.scalars(
            select(InboundMessage)
            .where(InboundMessage.id.in_(list(inbound_ids)),
                   InboundMessage.status.in_([MessageStatus.RECEIVED.value,
                                              MessageStatus.PROCESSING.value]))
            .order_by(InboundMessage.id)
            .options(defer(InboundMessage.raw))  # parsed ahead; loaded if needed after all
            .with_for_update()
        ).all()
        if not isolate:
            try:
                with session.no_autoflush, buffered_inserts(session) as appended:
                    ahead = parsed or {}
                    mails = [ahead[row.id] if row.id in ahead else parse(row.raw, key=rt.key)
                             for row in rows]
                    prefetch(session, rows, (m.from_.email for m in mails if m.from_))
                    for row, mail in zip(rows, mails, strict=True):
                        outbound.extend(_decide_and_apply(rt, session, row, mail))
                session.flush()
                appended.write(session)  # audit events, case updates: one INSERT per table
            except Exception as exc:
                raise _BatchFailed from exc
        else:
            for row in rows:
                try:
                    with session.begin_nested():
                        outbound.extend(_decide_and_apply(rt, session, row))
                except Exception as exc:  # process boundary: keep the message, record why
                    log.exception("<%s> message #%s: processing failed; kept as failed",
                                  row.message_id, row.id)
                    _mark_failed(row, exc)
        for row in rows:
            results[row.id] = _result(session, row)
    return results, outbound


def _decide_and_apply(rt: Runtime, session: Session, row: InboundMessage,
                      mail: ParsedMail | None = None) -> list[int]:
    """Parse (unless given), snapshot, decide and apply in the caller's transaction; returns
    the outbox ids to send after commit."""
    started = time.perf_counter()
    row.attempts += 1
    if mail is None:
        mail = parse(row.raw, key=rt.key)
    row.defects = [f"{d.where}: {d.description}" for d in mail.defects][:50]
    row.automation = mail.automation.value
    row.from_address = mail.from_.email if mail.from_ else None
    row.subject = mail.subject[:2000]
    mailbox = rt.settings.mailbox(row.mailbox) or Mailbox(row.mailbox)
    now = rt.now()
    snapshot = load_snapshot(session, rt.settings, mailbox, row, mail, now)
    decision = decide(snapshot, mail)
    applied = apply(session, rt.settings, rt.key, row, mail, decision, now)
    log.info("mail decided: %s/%s", decision.outcome.value, decision.reason.value, extra={
        "event": "mail.decided", "inbound_id": row.id, "message_id": row.message_id,
        "outcome": decision.outcome.value, "reason": decision.reason.value,
        "case": applied.case_number,
        "ms": round((time.perf_counter() - started) * 1000, 2)})
    return list(applied.outbound_ids)


def _mark_failed(row: InboundMessage, exc: BaseException) -> None:
    detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    row.status = MessageStatus.FAILED.value
    row.error = detail[:4000]
    row.attempts = (row.attempts or 0) + 1


def requeue_failed(rt: Runtime, ids: list[int] | None) -> list[int]:
    """Put failed messages (``ids``, or all) back to ``received``; returns the ids requeued."""
    with rt.db.transaction() as session:
        query = select(InboundMessage.id).where(
            InboundMessage.status == MessageStatus.FAILED.value)
        if ids is not None:
            query = query.where(InboundMessage.id.in_(ids))
        found = list(session.scalars(query.order_by(InboundMessage.id)))
        if found:
            session.execute(update(InboundMessage).where(InboundMessage.id.in_(found))
                            .values(status=MessageStatus.RECEIVED.value))
    return found


def retry_failed(rt: Runtime, ids: list[int] | None) -> list[ProcessResult]:
    return [process_message(rt, i) for i in requeue_failed(rt, ids)]


def release_stuck(rt: Runtime, older_than: dt.timedelta) -> int:
    """Give back rows left ``processing`` by an older version or an operator; returns how many.

    Processing commits its claim and its decision together, so a killed worker leaves its rows
    ``received``; this only repairs rows set ``processing`` outside that transaction."""
    with rt.db.transaction() as session:
        return session.execute(
            update(InboundMessage)
            .where(InboundMessage.status == MessageStatus.PROCESSING.value,
                   InboundMessage.claimed_at < rt.now() - older_than)
            .values(status=MessageStatus.RECEIVED.value)
        ).rowcount


def pending_ids(rt: Runtime, limit: int = 1000,
                older_than: dt.timedelta = dt.timedelta(0)) -> list[int]:
    """Messages committed but not yet processed (a crash or a lost task left them), received
    at least ``older_than`` ago — the sweeper skips rows whose own task is likely queued."""
    with rt.db.transaction() as session:
        return list(session.scalars(
            select(InboundMessage.id)
            .where(InboundMessage.status == MessageStatus.RECEIVED.value,
                   InboundMessage.received_at <= rt.now() - older_than)
            .order_by(InboundMessage.id).limit(limit)))
