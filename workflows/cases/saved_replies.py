"""Saved replies (canned responses) of the desk, filled in with a case's fields.

Place in the flow: outside the message flow; the one service behind ``ticketgate reply
list|set|remove|render``, ``/api/v1/saved-replies`` and the case page's picker. A saved reply is
only text: filling it in gives the body of an analyst's update, which then goes out through
``workflows.cases.service.post_update`` like any other (nothing is mailed from here).

Placeholders are ``{name}`` for the fields in ``PLACEHOLDERS``; ``{{`` and ``}}`` write a
brace. They are replaced by a plain substitution, never ``str.format`` or a template engine, so
a reply's text can reach no attribute or code; an unknown placeholder is refused when the reply
is saved, so a typo never reaches a customer.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.cases.placeholders import PLACEHOLDERS
from workflows.cases.service import audit, find_case
from workflows.errors import NotFound, Refused
from workflows.storage.models import Case, ConsoleUser, Contact, Organization, SavedReply

MAX_NAME = 100
MAX_BODY = 20_000
_TOKEN = re.compile(r"\{\{|\}\}|\{([A-Za-z_]*)\}")


@dataclass(frozen=True, slots=True)
class SavedReplyView:
    name: str
    body: str
    updated_by: str
    updated_at: dt.datetime


def _view(row: SavedReply) -> SavedReplyView:
    return SavedReplyView(row.name, row.body, row.updated_by, row.updated_at)


def unknown_placeholders(body: str) -> list[str]:
    """The ``{names}`` of ``body`` that are not placeholders (a lone brace counts too)."""
    bad = [m.group(0) for m in _TOKEN.finditer(body)
           if m.group(0) not in ("{{", "}}") and m.group(1) not in PLACEHOLDERS]
    stripped = _TOKEN.sub("", body)
    bad += [c for c in stripped if c in "{}"]
    return bad


def _name(value: str) -> str:
    name = " ".join(value.split())
    if not name or len(name) > MAX_NAME:
        raise Refused(f"a saved reply's name is 1 to {MAX_NAME} characters")
    return name


def list_replies(session: Session) -> list[SavedReplyView]:
    return [_view(r) for r in session.scalars(select(SavedReply).order_by(SavedReply.name))]


def _find(session: Session, name: str) -> SavedReply:
    row = session.scalars(select(SavedReply).where(SavedReply.name == _name(name))).first()
    if row is None:
        raise NotFound(f"no saved reply {name!r}")
    return row


def set_reply(session: Session, *, name: str, body: str, actor: str, now: dt.datetime
              ) -> SavedReplyView:
    """Save (or replace) the reply ``name``; audited. Refuses an empty or too long body and
    unknown placeholders."""
    name = _name(name)
    body = body.strip()
    if not body or len(body) > MAX_BODY:
        raise Refused(f"a saved reply's text is 1 to {MAX_BODY} characters")
    bad = unknown_placeholders(body)
    if bad:
        raise Refused(f"unknown placeholder(s) {', '.join(sorted(set(bad)))}: use "
                      + ", ".join(f"{{{p}}}" for p in PLACEHOLDERS) + " ({{ and }} for braces)")
    row = session.scalars(select(SavedReply).where(SavedReply.name == name)
                          .with_for_update()).first()
    if row is None:
        row = SavedReply(name=name, body=body, updated_by=actor, created_at=now, updated_at=now)
        session.add(row)
    else:
        row.body, row.updated_by, row.updated_at = body, actor, now
    session.flush()
    audit(session, actor=actor, action="saved_reply.set", now=now, name=name)
    return _view(row)


def remove_reply(session: Session, *, name: str, actor: str, now: dt.datetime) -> None:
    row = _find(session, name)
    session.delete(row)
    audit(session, actor=actor, action="saved_reply.remove", now=now, name=row.name)


def case_fields(session: Session, case: Case) -> dict[str, str]:
    """The values of ``PLACEHOLDERS`` for one case."""
    contact = session.get(Contact, case.contact_id) if case.contact_id else None
    org = session.get(Organization, case.organization_id)
    owner = session.get(ConsoleUser, case.assignee_id) if case.assignee_id else None
    return {"number": case.number, "subject": case.subject,
            "contact_name": (contact.name or contact.email) if contact else "",
            "contact_email": contact.email if contact else "",
            "organization": org.name if org else "", "severity": case.severity,
            "type": case.case_type, "status": case.status,
            "owner": owner.email if owner else "the care team"}


def fill(body: str, fields: dict[str, str]) -> str:
    """``body`` with its placeholders replaced (pure)."""
    def one(m: re.Match[str]) -> str:
        token = m.group(0)
        if token in ("{{", "}}"):
            return token[0]
        return fields.get(m.group(1), token)
    return _TOKEN.sub(one, body)


def render_reply(session: Session, *, name: str, number: str) -> str:
    """The saved reply ``name`` filled in for case ``number``."""
    row = _find(session, name)
    return fill(row.body, case_fields(session, find_case(session, number)))


@dataclass(frozen=True, slots=True)
class Picker:
    """The case page's picker: the reply names, the chosen one and its filled-in text (or why
    it could not be filled in)."""

    names: tuple[str, ...]
    chosen: str
    text: str
    problem: str | None = None


def picker(session: Session, name: str, number: str) -> Picker:
    names = tuple(r.name for r in list_replies(session))
    if not name.strip():
        return Picker(names, "", "")
    try:
        return Picker(names, name, render_reply(session, name=name, number=number))
    except (NotFound, Refused) as exc:
        return Picker(names, name, "", str(exc))
