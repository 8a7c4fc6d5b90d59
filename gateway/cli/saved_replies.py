"""``ticketgate reply list|set|remove|render``: the desk's saved replies.

Place in the flow: outside the message flow; thin shells over ``workflows.cases.saved_replies`` (the
service the API and the case page's picker call too), one transaction each. ``render`` prints
a reply filled in for a case, ready for ``case post --body``.
"""

from __future__ import annotations

import argparse
import sys

from gateway.cli.commands import _actor, _runtime
from gateway.cli.output import emit
from workflows.cases import saved_replies


def reply_list(args: argparse.Namespace) -> int:
    rt = _runtime(args)
    with rt.db.transaction() as s:
        for r in saved_replies.list_replies(s):
            emit({"name": r.name, "body": r.body, "updated_by": r.updated_by,
                  "updated_at": r.updated_at.isoformat()})
    return 0


def reply_set(args: argparse.Namespace) -> int:
    body = sys.stdin.read() if args.body == "-" else args.body
    rt = _runtime(args)
    with rt.db.transaction() as s:
        r = saved_replies.set_reply(s, name=args.name, body=body, actor=_actor(args),
                                    now=rt.now())
    emit({"name": r.name, "body": r.body})
    return 0


def reply_remove(args: argparse.Namespace) -> int:
    rt = _runtime(args)
    with rt.db.transaction() as s:
        saved_replies.remove_reply(s, name=args.name, actor=_actor(args), now=rt.now())
    emit({"name": args.name, "removed": True})
    return 0


def reply_render(args: argparse.Namespace) -> int:
    rt = _runtime(args)
    with rt.db.transaction() as s:
        text = saved_replies.render_reply(s, name=args.name, number=args.case)
    emit({"name": args.name, "case": args.case.upper(), "body": text})
    return 0
