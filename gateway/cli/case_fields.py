"""``case set``: change a case's severity, type or subject after it was opened.

Place in the flow: outside the message flow; a thin shell over
``workflows.cases.fields.set_case_fields`` (the service the API and the console call too), one
transaction. Prints the case's number, what changed and how many pending SLA timers moved
(``null`` when the severity stayed).
"""

from __future__ import annotations

import argparse

from gateway.cli.commands import _actor, _runtime
from gateway.cli.output import emit
from gateway.config import ConfigError
from workflows.cases.fields import CaseFieldsChange, set_case_fields
from workflows.domain import Severity


def case_set(args: argparse.Namespace) -> int:
    change = CaseFieldsChange(severity=Severity(args.severity) if args.severity else None,
                              case_type=args.type, subject=args.subject)
    if change.empty:
        raise ConfigError("case set: nothing to change (--severity, --type or --subject)")
    rt = _runtime(args)
    with rt.db.transaction() as s:
        done = set_case_fields(s, rt.settings, number=args.number, change=change,
                               actor=_actor(args), now=rt.now())
    timers = done.timers
    emit({"number": done.number,
          "changed": {c.field.value: {"from": c.old, "to": c.new} for c in done.changes},
          "timers": None if timers is None else {
              "examined": timers.examined, "moved": timers.moved, "now_due": timers.now_due}})
    return 0
