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


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """``ticketgate reply …`` (``gateway.cli.main.OPTIONAL_COMMANDS``)."""
    reply = sub.add_parser("reply", help="saved replies (canned responses) with the case's "
                           "fields as {placeholders}").add_subparsers(dest="sub", required=True)
    reply.add_parser("list").set_defaults(run=reply_list)
    a = reply.add_parser("set", help="save or replace a reply; placeholders: " + ", ".join(
        f"{{{p}}}" for p in saved_replies.PLACEHOLDERS))
    a.add_argument("name")
    a.add_argument("--body", required=True, help="the text ('-': read it from stdin)")
    a.add_argument("--as", dest="actor", default=None, help="who acts (audit)")
    a.set_defaults(run=reply_set)
    a = reply.add_parser("remove")
    a.add_argument("name")
    a.add_argument("--as", dest="actor", default=None, help="who acts (audit)")
    a.set_defaults(run=reply_remove)
    a = reply.add_parser("render", help="a reply filled in for a case")
    a.add_argument("name")
    a.add_argument("--case", required=True)
    a.set_defaults(run=reply_render)
