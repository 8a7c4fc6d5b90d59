"""``ticketgate health``: the operator's figures on outbound mail, as one JSON line.

Place in the flow: the CLI edge of ``workflows.outbound.health`` (the console's ``/health`` page
shows the same figures): case mail and notice deliveries by status, when the next retry is due, and
the case mail deferred or failed.
"""

from __future__ import annotations

import argparse

from gateway.cli.commands import _runtime
from gateway.cli.output import emit
from workflows.outbound.health import mail_health


def health(args: argparse.Namespace) -> int:
    rt = _runtime(args)
    with rt.db.transaction() as session:
        emit(mail_health(session))
    return 0
