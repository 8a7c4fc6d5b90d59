"""``contact list``, ``contact set`` and ``contact remove``: an organization's contacts.

Place in the flow: outside the message flow; thin shells over ``workflows.cases.contacts`` (the
services the API and the console's organization pages call), one transaction each. ``contact
list`` prints a table for people (with the organization's warnings under it) and, with
``--json``, one JSON object per contact for scripts; ``set`` and ``remove`` print the contact
as JSON with its ``warnings`` (a foreign domain, fewer than two designated contacts), which
are also written to stderr so an operator sees them.
"""

from __future__ import annotations

import argparse
import sys

from gateway.cli.commands import _actor, _runtime
from gateway.cli.desk import _table
from gateway.cli.output import emit
from gateway.config import ConfigError
from workflows.cases import contacts


def contact_json(c: contacts.ContactView) -> dict[str, object]:
    return {"email": c.email, "name": c.name, "org": c.organization,
            "designated": c.designated, "foreign_domain": c.foreign_domain,
            "created_at": c.created_at.isoformat(),
            "removed_at": c.removed_at.isoformat() if c.removed_at else None}


def _warn(warnings: tuple[str, ...]) -> None:
    for w in warnings:
        sys.stderr.write(f"ticketgate: warning: {w}\n")


def contact_list(args: argparse.Namespace) -> int:
    rt = _runtime(args)
    with rt.db.transaction() as s:
        listing = contacts.list_contacts(s, args.org, include_removed=args.removed)
    if args.json:
        for c in listing.contacts:
            emit(contact_json(c))
    else:
        _table(["EMAIL", "NAME", "DESIGNATED", "NOTE"],
               [[c.email, c.name or "-", "yes" if c.designated else "no",
                 "removed" if not c.active else "foreign domain" if c.foreign_domain else ""]
                for c in listing.contacts])
        sys.stdout.write(f"{listing.designated} designated contact(s); "
                         f"at least {contacts.MIN_DESIGNATED} asked for\n")
    _warn(listing.warnings)
    return 0


def _result_json(done: contacts.ContactResult) -> dict[str, object]:
    return {**contact_json(done.contact), "created": done.created,
            "changed": {c.field.value: {"from": c.old, "to": c.new} for c in done.changes},
            "warnings": list(done.warnings)}


def contact_set(args: argparse.Namespace) -> int:
    change = contacts.ContactChange(organization=args.org, name=args.name,
                                    designated=args.designated)
    rt = _runtime(args)
    try:
        with rt.db.transaction() as s:
            done = contacts.set_contact(s, email=args.email, change=change,
                                        actor=_actor(args), now=rt.now())
    except contacts.InvalidContact as exc:
        raise ConfigError(str(exc)) from None
    emit(_result_json(done))
    _warn(done.warnings)
    return 0


def contact_remove(args: argparse.Namespace) -> int:
    rt = _runtime(args)
    try:
        with rt.db.transaction() as s:
            done = contacts.remove_contact(s, email=args.email, actor=_actor(args),
                                           now=rt.now())
    except contacts.InvalidContact as exc:
        raise ConfigError(str(exc)) from None
    emit(_result_json(done))
    _warn(done.warnings)
    return 0
