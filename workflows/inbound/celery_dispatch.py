"""The Celery dispatcher: how the listener and the sweeper hand committed inbound ids to
the workers at scale (``workflows.tasks`` defines the tasks they run).

Place in the flow: ``serve --role listener`` (``gateway.cli.serve``) builds one from its
settings and submits each group commit's new ids after the commit; when the broker is down the
rows stay committed and ``workflows.inbound.dispatch.sweep`` submits them again.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from celery import Celery
from kombu.exceptions import OperationalError as BrokerUnavailable
from sqlalchemy import select

from workflows.errors import error_line
from workflows.settings import Settings
from workflows.storage.db import Database, DatabaseUnavailable
from workflows.storage.models import InboundMessage
from workflows.tasks import (
    PROCESS_INBOUND,
    PROCESS_INBOUND_BATCH,
    CeleryOptions,
    TicketgateCelery,
    celery_options,
)

log = logging.getLogger(__name__)


class CeleryDispatcher:
    """The ``Dispatcher`` at scale: the committed ids in groups of up to ``batch`` per task
    (``process_inbound_batch``; a lone id goes as ``process_inbound``). Ids, never objects:
    a group redelivered after a worker died is claimed row by row, so it applies once.

    Call ``submit`` only after the commit of the rows (the worker must find them). A broker
    that is down does not fail the caller: the rows are committed, so the sweeper will submit
    them again; the mail is delayed, not lost.
    """

    def __init__(self, celery: Celery, *, queue: str | None = None, batch: int = 1,
                 db: Database | None = None) -> None:
        self.celery = celery
        self.queue = queue
        self.batch = max(1, batch)
        self.db = db  # where the Message-IDs are read when the broker is down (for the log)

    @classmethod
    def from_settings(cls, settings: Settings, options: CeleryOptions | None = None, *,
                      db: Database | None = None) -> CeleryDispatcher:
        """A dispatcher with its own client app (e.g. for ``serve --role listener``)."""
        options = options or celery_options()
        return cls(TicketgateCelery(settings, options, set_as_current=False),
                   queue=options.queue, batch=options.batch, db=db)

    def submit(self, inbound_ids: Sequence[int]) -> None:
        if not inbound_ids:
            return
        try:
            with self.celery.producer_or_acquire() as producer:
                for group in _groups([int(i) for i in inbound_ids], self.batch):
                    if len(group) == 1:
                        self.celery.send_task(PROCESS_INBOUND, args=(group[0],),
                                              queue=self.queue, producer=producer)
                    else:
                        self.celery.send_task(PROCESS_INBOUND_BATCH, args=(group,),
                                              queue=self.queue, producer=producer)
        except Exception as exc:
            if not isinstance(exc, self._broker_errors()):
                raise
            # A line a mail, naming it as mail.accepted did, so it can be followed to the sweep.
            error = error_line(exc)
            names = _message_ids(self.db, inbound_ids) if self.db is not None else {}
            for i in map(int, inbound_ids):
                log.warning("<%s> #%s: broker unavailable, left for the sweeper: %s",
                            names.get(i), i, error, extra={
                                "event": "mail.dispatch_failed", "inbound_id": i,
                                "message_id": names.get(i), "error": error})

    def _broker_errors(self) -> tuple[type[BaseException], ...]:
        """What a broker that is down or refuses us raises: kombu wraps only the recoverable
        errors as ``OperationalError``; RabbitMQ refusing the login or the vhost (amqp's
        ``AccessRefused``, ``NotAllowed``) comes through as the transport's own error."""
        conn = self.celery.connection_for_write()  # no connection is made to read these
        try:
            return (BrokerUnavailable, *conn.connection_errors, *conn.channel_errors)
        finally:
            conn.release()

    def close(self) -> None:
        """Close the broker connections this dispatcher's app opened."""
        self.celery.close()



def _message_ids(db: Database, inbound_ids: Sequence[int]) -> dict[int, str | None]:
    """The Message-IDs of ``inbound_ids``; none when the database cannot say."""
    try:
        with db.reading() as conn:
            return dict(conn.execute(select(InboundMessage.id, InboundMessage.message_id)
                                     .where(InboundMessage.id.in_(list(map(int, inbound_ids)))))
                        .tuples().all())
    except DatabaseUnavailable:
        return {}


def _groups(ids: list[int], size: int) -> list[list[int]]:
    """``ids`` in order, in groups of at most ``size``, as even as that allows (25 ids by 10:
    9, 8, 8, not 10, 10, 5: the workers get like shares). Pure."""
    if not ids:
        return []
    count = -(-len(ids) // size)
    step, extra = divmod(len(ids), count)
    groups, start = [], 0
    for k in range(count):
        end = start + step + (1 if k < extra else 0)
        groups.append(ids[start:end])
        start = end
    return groups
