"""``case assign``, ``case list``, ``case note``, ``case search`` and ``search reindex``: the
desk's day-to-day commands.

Place in the flow: outside the message flow; the same services as the console and the API
(``workflows.cases.assignment``, ``workflows.cases.notes``, ``workflows.search``, the case list of
``gateway.http.queries``), one transaction each. ``case list`` and ``case search`` print a table
for people and, with ``--json``, one JSON object per line for scripts.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from gateway.cli.commands import _actor, _read_files, _runtime
from gateway.cli.output import emit
from gateway.http import queries
from workflows.cases import assignment, directory, notes
from workflows.outbound.files import Limits
from workflows.outbound.htmltext import counted
from workflows.search import index as search_index
from workflows.search.query import search


def _table(header: Sequence[str], rows: list[list[str]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(header)]
    for line in [list(header), *rows]:
        sys.stdout.write("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True))
                         .rstrip() + "\n")


def case_assign(args: argparse.Namespace) -> int:
    rt = _runtime(args)
    with rt.db.transaction() as s:
        case = assignment.assign(s, number=args.number, owner=None if args.none else args.to,
                                 actor=_actor(args), now=rt.now())
        emit({"number": case.number, "owner": assignment.owner_email(s, case)})
    return 0


def case_list(args: argparse.Namespace) -> int:
    rt = _runtime(args)
    rows: list[queries.CaseRow] = []
    with rt.db.transaction() as s:
        if args.assignee:
            assignment.find_user(s, args.assignee)  # an unknown owner is an error, not []
        if args.org:
            directory.find_organization(s, args.org)  # so is an unknown organization
        page = 1
        while True:
            listing = queries.case_page(s, status=args.status, organization=args.org,
                                        assignee=args.assignee, unassigned=args.unassigned,
                                        page=page, per_page=queries.MAX_PER_PAGE)
            rows.extend(listing.items)
            if not listing.has_next:
                break
            page += 1
    if args.json:
        for r in rows:
            emit({"number": r.number, "subject": r.subject, "organization": r.organization,
                  "status": r.status, "severity": r.severity, "owner": r.owner,
                  "unread": r.owner_unread, "escalated": r.escalated,
                  "updated_at": r.updated_at.isoformat()})
        return 0
    _table(["NUMBER", "STATUS", "SEVERITY", "OWNER", "ORGANIZATION", "SUBJECT"],
           [[r.number + (" *" if r.owner_unread else ""), r.status, r.severity,
             r.owner or "-", r.organization, r.subject[:60]] for r in rows])
    return 0


def case_note(args: argparse.Namespace) -> int:
    rt = _runtime(args)
    uploads = _read_files(args.attach, Limits.of(rt.settings))
    with rt.db.transaction() as s:
        note = notes.add_note(s, rt.settings, number=args.number, body=args.body,
                              actor=_actor(args), now=rt.now(), attachments=uploads)
        emit({"number": args.number.strip().upper(), "note": note.id, "kind": note.kind,
              "attachments": notes.note_files(s, note.id)})
    return 0


def case_search(args: argparse.Namespace) -> int:
    rt = _runtime(args)
    with rt.db.transaction() as s:
        found = search(s, args.query, page=args.page, per_page=args.per_page)
    if args.json:
        for hit in found.items:
            emit({"number": hit.number, "subject": hit.subject, "status": hit.status,
                  "organization": hit.organization, "source": hit.source,
                  "author": hit.author, "at": hit.at.isoformat(), "score": hit.score,
                  "snippet": hit.snippet_text})
        return 0
    _table(["NUMBER", "STATUS", "SOURCE", "SUBJECT", "MATCH"],
           [[h.number, h.status, h.source, h.subject[:40], " ".join(h.snippet_text.split())]
            for h in found.items])
    sys.stdout.write(f"{counted(found.total, 'hit')}; page {found.page} of {found.pages}\n")
    return 0


def search_reindex(args: argparse.Namespace) -> int:
    rt = _runtime(args)
    with rt.db.transaction() as s:
        done = search_index.reindex(s)
    emit({"cases": done.cases, "updates": done.updates})
    return 0
