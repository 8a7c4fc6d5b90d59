"""The inbound queue as the sweeper and operators handle it: what is still to process, rows
left ``processing``, failed messages put back and retried.

Place in the flow: beside ``workflows.inbound.process``. The sweeper
(``workflows.inbound.dispatch.sweep``: ``serve``'s worker, Celery beat) reads ``pending_ids``
and calls ``release_stuck``; ``ticketgate failed retry`` and the console's health page call
``retry_failed``; ``ticketgate process`` reads ``pending_ids``.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update

from workflows.domain import MessageStatus
from workflows.inbound.process import ProcessResult, process_message
from workflows.runtime import Runtime
from workflows.storage.models import InboundMessage


def requeue_failed(rt: Runtime, ids: list[int] | None) -> list[int]:
    """Put failed messages (``ids``, or all) back to ``received``; returns the ids requeued."""
    with rt.db.transaction() as session:
        query = select(InboundMessage.id).where(
            InboundMessage.status == MessageStatus.FAILED.value)
        if ids is not None:
            query = query.where(InboundMessage.id.in_(ids))
        found = list(session.scalars(query.order_by(InboundMessage.id)))
        if found:  # a fresh count of attempts: the operator fixed what made them fail
            session.execute(update(InboundMessage).where(InboundMessage.id.in_(found))
                            .values(status=MessageStatus.RECEIVED.value, attempts=0))
    return found


def retry_failed(rt: Runtime, ids: list[int] | None) -> list[ProcessResult]:
    return [process_message(rt, i) for i in requeue_failed(rt, ids)]


def release_stuck(rt: Runtime, older_than: dt.timedelta) -> int:
    """Give back rows left ``processing`` by an older version or an operator; returns how many.

    Processing commits its claim and its decision together, so a killed worker leaves its rows
    ``received``; this only repairs rows set ``processing`` outside that transaction."""
    with rt.db.transaction() as session:
        return session.execute(  # type: ignore[attr-defined, no-any-return]
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
