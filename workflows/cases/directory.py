"""Organizations and their contacts: who may open and update cases.

Place in the flow: managed by the CLI (``org add``, ``contact add``); read by
``workflows.inbound.snapshot`` to tell a designated contact from anyone else.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflows.errors import NotFound, Refused
from workflows.outbound import headers as mailheaders
from workflows.outbound.compose import checked_address
from workflows.storage.models import Contact, Organization


def zone_problem(zone: str) -> str | None:
    """Why ``zone`` is not an IANA time zone name, or None. The one check of org add and
    org set (each edge raises its own kind of error with this message)."""
    try:
        zoneinfo.ZoneInfo(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return f"unknown time zone {zone!r} (use an IANA name like Europe/Paris)"
    return None


def normalize_domain(value: str) -> str:
    """A mail domain as organizations store it: lower case, no leading ``@``."""
    return value.strip().lower().lstrip("@")


def add_organization(
    session: Session,
    *,
    name: str,
    domains: list[str],
    timezone: str,
    country: str | None,
    notify: list[str],
    now: dt.datetime,
) -> Organization:
    # Names reach mail (case reports, notices) and the console: stored folded of control and
    # bidi characters, or refused (``UnsafeValue``: exit 1, HTTP 422).
    name = mailheaders.stored_name(name, what="organization name")
    problem = zone_problem(timezone)
    if problem:
        raise Refused(problem)
    if session.scalars(select(Organization).where(Organization.name == name)).first():
        raise Refused(f"organization {name!r} already exists")
    org = Organization(
        name=name,
        domains=[normalize_domain(d) for d in domains if d.strip()],
        timezone=timezone,
        country=country.upper() if country else None,
        notify=[checked_address(a).lower() for a in notify],
        created_at=now,
    )
    session.add(org)
    session.flush()
    return org


def find_organization(session: Session, name: str) -> Organization:
    org = session.scalars(select(Organization).where(Organization.name == name.strip())).first()
    if org is None:
        raise organization_missing(session, name)
    return org


def organization_missing(session: Session, name: str) -> NotFound:
    """The error for an organization ``name`` that does not exist. Names are exact (two
    organizations may differ only in case); one that differs only in case is offered, as
    people type "acme" for "Acme"."""
    like = session.scalars(select(Organization.name).where(
        func.lower(Organization.name) == name.strip().lower())).first()
    hint = f" (did you mean {like!r}?)" if like else ""
    return NotFound(f"no organization named {name!r}{hint}")


def add_contact(
    session: Session,
    *,
    organization: str,
    email: str,
    name: str,
    designated: bool,
    now: dt.datetime,
) -> Contact:
    org = find_organization(session, organization)
    email = checked_address(email).lower()
    name = mailheaders.stored_name(name, what="contact name", required=False)
    existing = session.scalars(select(Contact).where(Contact.email == email)).first()
    if existing is not None:
        raise Refused(f"contact {email} already exists" + (
            f" (removed: `contact set {email} --org ORG` brings it back)"
            if existing.removed_at is not None else ""))
    contact = Contact(
        organization_id=org.id, email=email, name=name, designated=designated, created_at=now
    )
    session.add(contact)
    session.flush()
    return contact


def find_contact(session: Session, email: str) -> Contact:
    """A contact that was not removed (``contact remove``); raises ``NotFound``."""
    contact = session.scalars(select(Contact).where(Contact.email == email.strip().lower(),
                                                    Contact.removed_at.is_(None))).first()
    if contact is None:
        raise NotFound(f"no contact {email}")
    return contact
