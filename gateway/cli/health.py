"""``ticketgate health``: the operator's figures on outbound mail, as one JSON line; and
``ticketgate case resend``, the operator's answer to a case mail it lists as failed.

Place in the flow: the CLI edge of ``workflows.outbound.health`` (the console's ``/health`` page
shows the same figures): case mail and notice deliveries by status, when the next retry is due, and
the case mail deferred, failed or held (by ``automated_per_hour``).
"""

from __future__ import annotations

import argparse

from gateway.cli.commands import _actor, _runtime
from gateway.cli.output import emit, fail
from workflows.domain import OutboundStatus
from workflows.outbound.health import mail_health


def health(args: argparse.Namespace) -> int:
    rt = _runtime(args)
    with rt.db.transaction() as session:
        emit(mail_health(session))
    return 0


def case_resend(args: argparse.Namespace) -> int:
    from workflows.outbound.resend import requeue_failed
    from workflows.storage.models import OutboundMessage

    rt = _runtime(args)
    with rt.db.transaction() as session:
        out_id = requeue_failed(session, args.message_id, now=rt.now(), actor=_actor(args)).id
    rt.send_outbox([out_id])
    with rt.db.transaction() as session:
        row = session.get(OutboundMessage, out_id)
        assert row is not None
        emit({"message_id": row.message_id, "status": row.status, "attempts": row.attempts,
              "last_error": row.last_error})
        refused = row.status == OutboundStatus.FAILED.value
        error = row.last_error
    if refused:  # refused again for good: say so, as a script checking $? expects
        fail(f"the relay refused {args.message_id} again: {error}")
        return 1
    return 0
