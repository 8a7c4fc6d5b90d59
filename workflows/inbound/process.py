"""Process committed inbound messages: parse, decide, apply, then send.

Place in the flow: the task a worker runs with the ids ``intake.accept`` returned (in-process in
the embedded default, on a Celery worker at scale). Idempotent: a message is claimed by moving it
from ``received`` to ``processed`` inside the very transaction that applies its decision, so a
decision is applied once however often, and on however many workers, the task runs; a message
already processed returns what was decided.

A batch is parsed first, in a read-only transaction (``_parse_ahead``: on SQLite no write lock,
so the SMTP intake's group commit does not wait for parsing), then shares one transaction (one
commit, one fsync) and gives each message a savepoint, so a
message that fails rolls back alone. Nothing is lost (Mailman's shunt queue): a message whose
processing raises keeps the error and, after its last attempt, is marked ``failed``;
``retry_failed`` (``workflows.inbound.queue``) replays it.

A poison message cannot loop: each attempt is counted in its own short transaction *before*
processing starts (``_count_attempts``), so an attempt that raises, overruns its time limit or
takes the whole process down (a rollback, a SIGKILL, Celery's hard time limit) still counts.
An attempt that fails keeps the message ``received`` with the error, for the sweeper to retry
later; after ``Settings.process_max_attempts`` attempts it is ``failed`` and stays there until
``retry_failed`` (``ticketgate failed retry``) starts its count again. A message that needed a
second attempt is processed alone, so one poison message cannot take a batch down with it.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

# The class celery.exceptions re-exports, from where it is defined: importing celery.exceptions
# loads kombu, click and yaml (128 ms against 19 ms, -X importtime), which ingest and serve's
# worker paid at start-up.
from billiard.exceptions import SoftTimeLimitExceeded
from sqlalchemy import select, update
from sqlalchemy.orm import Session, load_only

from parsing import ParsedMail, parse
from workflows.domain import MessageStatus, Outcome
from workflows.inbound.apply import apply
from workflows.inbound.decide import decide
from workflows.inbound.rows import LOADED, UNPROCESSED, InboundRow, locked_rows, raw_of
from workflows.inbound.snapshot import load_snapshot, prefetch, remember_linked
from workflows.runtime import Runtime
from workflows.settings import Mailbox
from workflows.storage.bulk import buffered_inserts, set_columns
from workflows.storage.columns import loaded, reader
from workflows.storage.models import Case, InboundMessage

log = logging.getLogger(__name__)

# The columns of a batch's rows that processing reads, loaded on the savepoint path's ORM rows.
_LOADED = tuple(getattr(InboundMessage, name) for name in LOADED)


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


# What a result reads of its row and case, from their loaded values (workflows.storage.columns),
# and a status's member by its value (``MessageStatus(value)`` is ~1 us of enum machinery).
_RESULT_ROW = reader("id", "message_id", "status", "outcome", "reason", "case_id", "error")
_RESULT_CASE = reader("number", "status")
_STATUSES = {status.value: status for status in MessageStatus}


def _result(session: Session, row: InboundMessage | InboundRow,
            cases: dict[int, Case] | None = None) -> ProcessResult:
    inbound_id, message_id, status, outcome, reason, case_id, error = _RESULT_ROW(row)
    number = case_status = None
    if case_id:  # the batch's cases at hand: session.get() costs more than the rest here
        case = (cases or {}).get(case_id) or session.get(Case, case_id)
        if case:
            number, case_status = _RESULT_CASE(case)
    return ProcessResult(inbound_id, message_id, _STATUSES.get(status) or MessageStatus(status),
                         outcome, reason, number, case_status, error)


def result_of(rt: Runtime, inbound_id: int) -> ProcessResult:
    with rt.db.transaction() as session:
        row = session.get(InboundMessage, inbound_id)
        if row is None:
            raise LookupError(f"no inbound message #{inbound_id}")
        return _result(session, row)


def process_message(rt: Runtime, inbound_id: int) -> ProcessResult:
    return process_batch(rt, [inbound_id])[0]


class MessageTimeLimitExceeded(Exception):
    """Processing one message took longer than ``Settings.process_time_limit``."""


# Celery's soft time limit (``workflows.tasks``) raises its own exception inside the task.
TIME_LIMITS = (MessageTimeLimitExceeded, SoftTimeLimitExceeded)


class _Budget:
    """One message's time limit, checked between stages (parse, decide, apply).

    The embedded worker (``serve``'s worker process, ``ingest``) has nothing that stops running
    code from outside; so the check is cooperative: a stage that ends past the limit fails the
    attempt (and rolls it back) instead of letting it commit. Parsing done ahead of the
    transaction (``_parse_ahead``) is charged as if done inside. Celery adds real soft and hard
    limits on top (``workflows.tasks``)."""

    def __init__(self, limit: float) -> None:
        self.limit = limit
        self.spent = 0.0

    def charge(self, started: float, stage: str) -> None:
        self.spent += time.monotonic() - started
        if self.spent > self.limit:
            raise MessageTimeLimitExceeded(
                f"processing overran its time limit of {self.limit:g} s (at {stage})")


class _BatchFailed(Exception):
    """One message of a fast-path batch raised: redo the batch message by message."""


def process_batch(rt: Runtime, inbound_ids: Sequence[int], *, claimed: bool = False,
                  raws: Mapping[int, bytes] | None = None,
                  parsed: Mapping[int, tuple[ParsedMail, float]] | None = None,
                  meanwhile: Callable[[], object] | None = None) -> list[ProcessResult]:
    """Process ``inbound_ids`` in one transaction; one result per id, in order.

    ``claimed``: ``intake.commit_many(claimed=True)`` has just created these rows with their
    first attempt counted; nothing to count again. ``raws``: the bytes the caller committed
    for (some of) these ids, parsed without reading them back (``ingest``: ~15 us a bench
    mail for the read of 200 rows' bytes). ``parsed``: mail the caller parsed already (with
    the seconds it took), by id. ``meanwhile``: the caller's work that needs no database,
    run on PostgreSQL while the server writes the batch's rows (``InsertBuffer.write``),
    else not at all: the caller calls it again afterwards, so it must do its work once.

    Fast path: the whole batch without savepoints or autoflush, flushed once, so the ORM
    writes each table's rows together. If any message raises, that transaction is rolled back
    and the batch is redone with a savepoint per message, so the failure stays with its message.
    """
    retries: list[int] = []
    if claimed:
        first_tries = sorted(inbound_ids)
    else:
        first_tries, retries = _count_attempts(rt, inbound_ids)
    results: dict[int, ProcessResult] = {}
    outbound: list[int] = []
    # Alone: a message that failed, or whose process died, at least once.
    for ids in ([first_tries] if first_tries else []) + [[i] for i in retries]:
        try:
            done, sent = _run_batch(rt, ids, isolate=False,
                                    parsed=_parse_ahead(rt, ids, raws, parsed),
                                    meanwhile=meanwhile)
            meanwhile = None
        except _BatchFailed as failed:
            if len(ids) == 1:  # its own failure: record it; running it again would not help
                _record_failure_alone(rt, ids[0], failed.__cause__ or failed)
                continue
            done, sent = _run_batch(rt, ids, isolate=True)
        results.update(done)
        outbound += sent
    if outbound:
        rt.send_outbox(outbound)
    return [results[i] if i in results else result_of(rt, i) for i in inbound_ids]


def _count_attempts(rt: Runtime, inbound_ids: Sequence[int]) -> tuple[list[int], list[int]]:
    """Count one attempt for every message still to process, committed before processing
    starts; returns (first attempts, later attempts). A message whose attempts are used up
    (each failed, or its process died) is marked ``failed`` here instead.

    One UPDATE ... RETURNING and a commit: the price of counting an attempt that a crash
    rolls back, paid once per batch (per message on Celery, one id per task)."""
    limit = rt.settings.process_max_attempts
    wanted = list(inbound_ids)
    live = (InboundMessage.status.in_(UNPROCESSED))
    with rt.db.transaction() as session:
        counted = session.execute(
            update(InboundMessage)
            .where(InboundMessage.id.in_(wanted), live, InboundMessage.attempts < limit)
            .values(attempts=InboundMessage.attempts + 1, claimed_at=rt.now())
            .returning(InboundMessage.id, InboundMessage.attempts)
            .execution_options(synchronize_session=False)
        ).all()
        if len(counted) < len(wanted):
            _give_up(session, wanted, {i for i, _ in counted}, limit)
    first = sorted(i for i, attempts in counted if attempts == 1)
    again = sorted(i for i, attempts in counted if attempts > 1)
    return first, again


def _give_up(session: Session, wanted: list[int], counted: set[int], limit: int) -> None:
    """Mark ``failed`` the messages of ``wanted`` whose attempts are used up."""
    for row in session.scalars(
        select(InboundMessage)
        .where(InboundMessage.id.in_([i for i in wanted if i not in counted]),
               InboundMessage.status.in_(UNPROCESSED),
               InboundMessage.attempts >= limit)
        .with_for_update()
    ):
        last = row.error or "the worker died or overran its time limit"
        log.error("<%s> message #%s: gave up after %d attempts; kept as failed",
                  row.message_id, row.id, row.attempts)
        row.status = MessageStatus.FAILED.value
        row.error = f"gave up after {row.attempts} attempts; last: {last}"[:4000]


def _parse_ahead(rt: Runtime, inbound_ids: Sequence[int],
                 given: Mapping[int, bytes] | None = None,
                 done: Mapping[int, tuple[ParsedMail, float]] | None = None
                 ) -> dict[int, tuple[ParsedMail, float]]:
    """The batch's mail parsed before its write transaction, with the seconds each took.

    Parsing is most of processing and needs no lock: the raw bytes of a row still to be
    processed never change. Parsed here, the batch's transaction holds SQLite's write lock
    (which the SMTP intake's group commit waits for; issue 15: with reused connections the
    listener waited for it) or PostgreSQL's row locks only while deciding and applying. The
    transaction re-checks each row's status, so a row another worker processed meanwhile is
    skipped as before; a row missing here is parsed there. The seconds count against the
    message's time limit as if it had been parsed inside. ``given``: raw bytes the caller
    holds (a row already processed meanwhile is then parsed for nothing, and skipped there);
    ``done``: mail the caller parsed already, with its seconds."""
    given, done = given or {}, done or {}
    parsed: dict[int, tuple[ParsedMail, float]] = {i: done[i] for i in inbound_ids if i in done}
    raws = [(i, given[i]) for i in inbound_ids if i in given and i not in done]
    missing = [i for i in inbound_ids if i not in given and i not in done]
    if missing:
        with rt.db.reading() as conn:
            raws += conn.execute(select(InboundMessage.id, InboundMessage.raw).where(
                InboundMessage.id.in_(missing),
                InboundMessage.status.in_(UNPROCESSED))).all()
    for inbound_id, raw in raws:
        if (timed := parse_timed(rt, raw, f"#{inbound_id}")) is not None:
            parsed[inbound_id] = timed
    return parsed


def parse_timed(rt: Runtime, raw: bytes, label: str) -> tuple[ParsedMail, float] | None:
    """``raw`` parsed as processing parses it, with the seconds it took; None, logged under
    ``label``, if parse raised (it never should: processing then meets the error again)."""
    started = time.monotonic()
    try:
        mail = parse(raw, key=rt.key, loop_id=rt.settings.instance_id)
    except Exception:
        log.exception("message %s: parsing ahead failed", label)
        return None
    return mail, time.monotonic() - started


def _run_batch(rt: Runtime, inbound_ids: Sequence[int], *, isolate: bool,
               parsed: dict[int, tuple[ParsedMail, float]] | None = None,
               meanwhile: Callable[[], object] | None = None
               ) -> tuple[dict[int, ProcessResult], list[int]]:
    results: dict[int, ProcessResult] = {}
    outbound: list[int] = []
    with rt.db.transaction() as session:
        limit = rt.settings.process_time_limit
        ahead = parsed or {}
        rows: list[InboundRow] | list[InboundMessage]
        if not isolate:
            # Records read by Core (workflows.inbound.rows): the fast path writes its rows'
            # columns through the batch's buffer, never as ORM changes.
            rows = locked_rows(session, inbound_ids)
            try:
                with session.no_autoflush, buffered_inserts(session) as appended:
                    budgets = [_Budget(limit) for _ in rows]
                    mails = []
                    for row, budget in zip(rows, budgets, strict=True):
                        started = time.monotonic()
                        done = ahead.get(loaded(row, "id"))
                        if done is not None:
                            mail, seconds = done
                            started -= seconds
                        else:
                            mail = parse(raw_of(session, loaded(row, "id")), key=rt.key,
                                         loop_id=rt.settings.instance_id)
                        mails.append(mail)
                        budget.charge(started, "parse")
                    prefetch(session, rows, (m.from_.email for m in mails if m.from_), mails,
                             mailboxes=[box.address for box in rt.settings.mailboxes])
                    for row, mail, budget in zip(rows, mails, budgets, strict=True):
                        outbound.extend(_decide_and_apply(rt, session, row, budget, mail,
                                                          flush=False))
                session.flush()
                # audit events, case updates: one INSERT per table
                appended.write(session, meanwhile)
            except Exception as exc:
                raise _BatchFailed from exc
        else:
            rows = _locked_orm_rows(session, inbound_ids)
            for message in rows:
                try:
                    with session.begin_nested():
                        outbound.extend(_decide_and_apply(rt, session, message, _Budget(limit)))
                except Exception as exc:  # process boundary: keep the message, record why
                    _record_failure(message, exc, rt.settings.process_max_attempts)
        cases = {c.id: c for c in session.info.get("cases_by_number", {}).values()}
        for each in rows:
            result = _result(session, each, cases)
            results[result.inbound_id] = result
    return results, outbound


def _locked_orm_rows(session: Session, inbound_ids: Sequence[int]) -> list[InboundMessage]:
    """``rows.locked_rows`` as ORM objects, for the savepoint path's attribute changes."""
    return list(session.scalars(
        select(InboundMessage)
        .where(InboundMessage.id.in_(list(inbound_ids)), InboundMessage.status.in_(UNPROCESSED))
        .order_by(InboundMessage.id)
        # Only what deciding, applying and the result read: the JSON and date columns are
        # written, not read (loading them cost 23-29 -> 13 us a message, 200-row batches, CPU
        # time). Any other column loads on first use.
        .options(load_only(*_LOADED))
        .with_for_update()
    ).all())


def _decide_and_apply(rt: Runtime, session: Session, row: InboundMessage | InboundRow,
                      budget: _Budget,
                      mail: ParsedMail | None = None, *, flush: bool = True) -> list[int]:
    """Parse (unless given), snapshot, decide and apply in the caller's transaction; returns
    the outbox ids to send after commit. Raises ``MessageTimeLimitExceeded`` when a stage ends
    past the message's time limit."""
    began = time.perf_counter()
    started = time.monotonic()
    if mail is None:
        raw = row.raw if isinstance(row, InboundMessage) else raw_of(session, loaded(row, "id"))
        mail = parse(raw, key=rt.key, loop_id=rt.settings.instance_id)
    set_columns(session, row, defects=[f"{d.where}: {d.description}" for d in mail.defects][:50],
                automation=str(mail.automation),  # StrEnum: the value, without 3.11's slow .value
                from_address=mail.from_.email if mail.from_ else None,
                subject=mail.subject[:2000])
    box = loaded(row, "mailbox")
    mailbox = rt.settings.mailbox(box) or Mailbox(box)
    now = rt.now()
    snapshot = load_snapshot(session, rt.settings, mailbox, row, mail, now)
    decision = decide(snapshot, mail)
    budget.charge(started, "decide")
    started = time.monotonic()
    applied = apply(session, rt.settings, rt.key, row, mail, decision, now)
    if decision.outcome is Outcome.LINKED:
        remember_linked(session, row)
    if flush:  # the writes belong to this attempt's time (the fast path flushes once)
        session.flush()
    budget.charge(started, "apply")
    if log.isEnabledFor(logging.INFO):  # its extra fields cost more than the check
        log.info("mail decided: %s/%s", decision.outcome.value, decision.reason.value, extra={
            "event": "mail.decided", "inbound_id": row.id, "message_id": row.message_id,
            "outcome": decision.outcome.value, "reason": decision.reason.value,
            "case": applied.case_number,
            "ms": round((time.perf_counter() - began) * 1000, 2)})
    return list(applied.outbound_ids)


def _record_failure_alone(rt: Runtime, inbound_id: int, exc: BaseException) -> None:
    """``_record_failure`` in a transaction of its own (the attempt's was rolled back)."""
    with rt.db.transaction() as session:
        row = session.get(InboundMessage, inbound_id, with_for_update=True)
        if row is not None and row.status in UNPROCESSED:
            _record_failure(row, exc, rt.settings.process_max_attempts)


def _record_failure(row: InboundMessage, exc: BaseException, max_attempts: int) -> None:
    """Keep the error on the message; ``failed`` once its attempts are used up, otherwise
    ``received`` for the sweeper to try again (the attempt was counted before it started)."""
    detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    row.error = detail[:4000]
    if (row.attempts or 0) >= max_attempts:
        row.status = MessageStatus.FAILED.value
        verdict = "kept as failed"
    else:
        row.status = MessageStatus.RECEIVED.value
        verdict = "will be retried"
    if isinstance(exc, TIME_LIMITS):
        log.error("<%s> message #%s: attempt %s overran its time limit; %s", row.message_id,
                  row.id, row.attempts, verdict)
    else:
        log.exception("<%s> message #%s: attempt %s failed; %s", row.message_id, row.id,
                      row.attempts, verdict)
