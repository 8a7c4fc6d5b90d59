"""Contacts of an organization: list, set (add or change), remove, with their warnings.

Place in the flow: outside the message flow, beside ``workflows.cases.directory`` (``org add``,
``contact add``) and ``workflows.cases.organizations`` (``org set``). These are the services the CLI
(``ticketgate contact list|set|remove``), the API (``/api/v1/contacts``) and the console's
organization pages call, each in the caller's transaction with an audit event per change.

Who may touch a case is decided from the contact rows by ``workflows.inbound.snapshot``: a contact
that is not designated, or was removed, is a stranger there, so its next reply goes to triage
as ``unauthorized_sender``. Removal is soft (``removed_at``): cases and the audit trail keep
naming the address, and ``contact set --org`` brings it back.

The guides ask for at least two designated contacts per organization (PureEngage 3; Echopass
"Designated Contacts"); ``OrganizationContacts.below_minimum`` says when one has fewer, and
every view of the contacts shows it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflows.cases.directory import find_organization
from workflows.cases.service import audit
from workflows.errors import NotFound
from workflows.outbound.compose import BadAddress, checked_address
from workflows.storage.models import Contact, Organization

MIN_DESIGNATED = 2  # PureEngage 3, Echopass: "at least two designated contacts"


class InvalidContact(ValueError):
    """A value that cannot be used (a malformed address): the edges say so, nothing changes."""


class ContactField(StrEnum):
    """What ``contact set`` changes, as its audit event names it."""

    ORGANIZATION = "organization"
    NAME = "name"
    DESIGNATED = "designated"
    REMOVED = "removed"


@dataclass(frozen=True, slots=True)
class ContactView:
    """One contact as every edge shows it. ``foreign_domain`` is True when the address's
    domain is not one of its organization's mail domains (a typo or a contractor: shown as a
    warning, never refused)."""

    email: str
    name: str
    organization: str
    designated: bool
    created_at: dt.datetime
    removed_at: dt.datetime | None
    foreign_domain: bool

    @property
    def active(self) -> bool:
        return self.removed_at is None

    @property
    def warnings(self) -> tuple[str, ...]:
        if not self.foreign_domain or not self.active:
            return ()
        domain = self.email.rpartition("@")[2]
        return (f"{self.email}: the domain {domain} is not one of {self.organization}'s "
                "mail domains",)


@dataclass(frozen=True, slots=True)
class OrganizationContacts:
    """An organization's contacts (removed ones only when asked for) and its designated
    count, with the guides' minimum."""

    organization: str
    domains: tuple[str, ...]
    contacts: tuple[ContactView, ...]
    designated: int  # active designated contacts

    @property
    def below_minimum(self) -> bool:
        return self.designated < MIN_DESIGNATED

    @property
    def warnings(self) -> tuple[str, ...]:
        found = [w for c in self.contacts for w in c.warnings]
        if self.below_minimum:
            found.append(f"{self.organization} has {self.designated} designated contact"
                         f"{'' if self.designated == 1 else 's'}; the guides ask for at least "
                         f"{MIN_DESIGNATED}")
        return tuple(found)


@dataclass(frozen=True, slots=True)
class ContactChange:
    """What ``contact set`` asks for; None leaves a field as it is. A new contact needs
    ``organization``; ``designated`` defaults to True for a new one (as ``contact add``)."""

    organization: str | None = None
    name: str | None = None
    designated: bool | None = None


@dataclass(frozen=True, slots=True)
class ContactFieldChange:
    field: ContactField
    old: str | bool | None
    new: str | bool | None


@dataclass(frozen=True, slots=True)
class ContactResult:
    """The contact after ``contact set`` or ``contact remove``, what changed (``created``
    for a new address) and the warnings about the contact and its organization."""

    contact: ContactView
    created: bool
    changes: tuple[ContactFieldChange, ...]
    warnings: tuple[str, ...]


def _email(value: str) -> str:
    try:
        return checked_address(value).lower()
    except BadAddress as exc:
        raise InvalidContact(str(exc)) from None


def _view(contact: Contact, org: Organization) -> ContactView:
    domain = contact.email.rpartition("@")[2]
    return ContactView(email=contact.email, name=contact.name, organization=org.name,
                       designated=contact.designated, created_at=contact.created_at,
                       removed_at=contact.removed_at,
                       foreign_domain=domain not in set(org.domains or ()))


def designated_count(session: Session, organization_id: int) -> int:
    """Active designated contacts of one organization."""
    return session.scalar(select(func.count()).select_from(Contact).where(
        Contact.organization_id == organization_id, Contact.designated.is_(True),
        Contact.removed_at.is_(None))) or 0


def designated_counts(session: Session) -> dict[int, int]:
    """Active designated contacts per organization id (organizations with none are absent)."""
    return {org_id: int(n) for org_id, n in session.execute(
        select(Contact.organization_id, func.count()).where(
            Contact.designated.is_(True), Contact.removed_at.is_(None))
        .group_by(Contact.organization_id))}


def list_contacts(session: Session, organization: str, *, include_removed: bool = False
                  ) -> OrganizationContacts:
    """``contact list ORG``: the organization's contacts by address. Raises ``NotFound``."""
    org = find_organization(session, organization)
    query = select(Contact).where(Contact.organization_id == org.id).order_by(Contact.email)
    if not include_removed:
        query = query.where(Contact.removed_at.is_(None))
    views = tuple(_view(c, org) for c in session.scalars(query))
    return OrganizationContacts(org.name, tuple(sorted(org.domains or ())), views,
                                designated_count(session, org.id))


def _result(session: Session, contact: Contact, org: Organization, created: bool,
            changes: tuple[ContactFieldChange, ...]) -> ContactResult:
    view = _view(contact, org)
    listing = OrganizationContacts(org.name, tuple(org.domains or ()), (view,),
                                   designated_count(session, org.id))
    return ContactResult(view, created, changes, listing.warnings)


def set_contact(session: Session, *, email: str, change: ContactChange, actor: str,
                now: dt.datetime) -> ContactResult:
    """Add the contact ``email`` or change it (organization, name, designation); a removed
    contact given an organization comes back. Audited as ``contact.set``; a change to the
    values already set is a no-op (no audit event).

    Raises ``InvalidContact`` (a malformed address), ``NotFound`` (no such organization; a new
    or removed address without ``organization``).
    """
    address = _email(email)
    contact = session.scalars(select(Contact).where(Contact.email == address)
                              .with_for_update()).first()
    org = (find_organization(session, change.organization)
           if change.organization is not None else None)
    name = change.name.strip() if change.name is not None else None
    if (contact is None or contact.removed_at is not None) and org is None:
        raise NotFound(f"no contact {address}" + (" (removed)" if contact else "")
                       + ": give --org to add it")
    if contact is None:
        assert org is not None
        contact = Contact(organization_id=org.id, email=address, name=name or "",
                          designated=True if change.designated is None else change.designated,
                          created_at=now)
        session.add(contact)
        session.flush()
        audit(session, actor=actor, action="contact.add", now=now, contact=address,
              organization=org.name, designated=contact.designated, name=contact.name)
        return _result(session, contact, org, True, ())
    current_org = session.get(Organization, contact.organization_id)
    assert current_org is not None
    changes: list[ContactFieldChange] = []
    if contact.removed_at is not None:
        changes.append(ContactFieldChange(ContactField.REMOVED, True, False))
        contact.removed_at = None
    if org is not None and org.id != current_org.id:
        changes.append(ContactFieldChange(ContactField.ORGANIZATION, current_org.name,
                                          org.name))
        contact.organization_id = org.id
        current_org = org
    if name is not None and name != contact.name:
        changes.append(ContactFieldChange(ContactField.NAME, contact.name, name))
        contact.name = name
    if change.designated is not None and change.designated != contact.designated:
        changes.append(ContactFieldChange(ContactField.DESIGNATED, contact.designated,
                                          change.designated))
        contact.designated = change.designated
    if changes:
        session.flush()
        audit(session, actor=actor, action="contact.set", now=now, contact=address,
              organization=current_org.name,
              changes={c.field.value: {"from": c.old, "to": c.new} for c in changes})
    return _result(session, contact, current_org, False, tuple(changes))


def remove_contact(session: Session, *, email: str, actor: str, now: dt.datetime
                   ) -> ContactResult:
    """``contact remove``: mark the contact removed (the row and its history stay); from now
    on its mail is a stranger's. Raises ``NotFound`` (no such contact, or removed already)."""
    address = _email(email)
    contact = session.scalars(select(Contact).where(Contact.email == address)
                              .with_for_update()).first()
    if contact is None or contact.removed_at is not None:
        raise NotFound(f"no contact {address}" + (" (removed already)" if contact else ""))
    org = session.get(Organization, contact.organization_id)
    assert org is not None
    contact.removed_at = now
    session.flush()
    audit(session, actor=actor, action="contact.remove", now=now, contact=address,
          organization=org.name, designated=contact.designated)
    return _result(session, contact, org, False,
                   (ContactFieldChange(ContactField.REMOVED, False, True),))

