"""Change an organization after ``org add``, and read back all its settings.

Place in the flow: outside the message flow, beside ``workflows.cases.directory`` (which adds
organizations and contacts). ``update_organization`` is the one service that changes an
organization: the CLI (``ticketgate org set``) is a thin shell over it, and the console/API can
call it the same way. In one transaction it locks the organization row, validates every new
value the way ``org add`` does before it changes anything, stores them, writes an audit event,
and, when the business calendar changed, moves the due times of the organization's pending
timers (``workflows.clock.reschedule``) so reminders and SLA notices follow the new calendar.

Settings that are sets (mail domains, the notification distribution list, extra closed days)
change by adding and removing members, so two operators' edits never silently undo each other;
the distribution list can also be replaced whole, as a customer sends a new one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.cases.directory import (
    find_organization,
    normalize_domain,
    organization_missing,
    zone_problem,
)
from workflows.cases.service import audit
from workflows.clock.calendar import (
    DEFAULT_HOURS,
    DEFAULT_WORKDAYS,
    BusinessCalendar,
    CalendarError,
    format_workdays,
    parse_closed_day,
    parse_workdays,
)
from workflows.clock.reschedule import Rescheduled, reschedule_organization
from workflows.errors import NotFound, Refused
from workflows.outbound import headers as mailheaders
from workflows.outbound.compose import BadAddress, checked_address
from workflows.search.index import refresh_organization
from workflows.settings import Settings
from workflows.storage.models import Organization

AUDIT_ACTION = "org.update"


class InvalidSetting(ValueError):
    """A new value that cannot be used (unknown zone or country, bad hours, a malformed date,
    domain or address): the edges report it as a wrong argument and nothing is changed."""


class OrgField(StrEnum):
    """The settings of an organization, as ``changes`` and the audit event name them."""

    NAME = "name"
    DOMAINS = "domains"
    NOTIFY = "notify"
    TIMEZONE = "timezone"
    COUNTRY = "country"
    HOURS = "hours"
    WORKDAYS = "workdays"
    CLOSED_DAYS = "closed_days"


# A change to any of these changes when business time runs, so pending timers move.
CALENDAR_FIELDS = frozenset({OrgField.TIMEZONE, OrgField.COUNTRY, OrgField.HOURS,
                             OrgField.WORKDAYS, OrgField.CLOSED_DAYS})
Value = str | tuple[str, ...] | None


@dataclass(frozen=True, slots=True)
class OrganizationSettings:
    """Everything one can set on an organization, with the calendar's defaults filled in."""

    id: int
    name: str
    domains: tuple[str, ...]
    notify: tuple[str, ...]  # the distribution list for notices (empty: none received)
    timezone: str
    country: str | None  # public holidays (ISO 3166, "DE-BY" for a subdivision)
    hours: str  # business hours, local time
    workdays: str  # "mon,tue,wed,thu,fri"
    closed_days: tuple[str, ...]  # ISO dates closed beyond the public holidays
    created_at: dt.datetime

    def value(self, name: OrgField) -> Value:
        return getattr(self, name.value)


@dataclass(frozen=True, slots=True)
class OrganizationChange:
    """What to change; the defaults change nothing. Raw text as an operator typed it: the
    service normalizes and validates it (so every edge gets the same messages)."""

    rename: str | None = None
    timezone: str | None = None
    country: str | None = None
    hours: str | None = None
    workdays: str | None = None
    add_closed_days: tuple[str, ...] = ()
    remove_closed_days: tuple[str, ...] = ()
    add_domains: tuple[str, ...] = ()
    remove_domains: tuple[str, ...] = ()
    notify: tuple[str, ...] | None = None  # replaces the whole distribution list
    add_notify: tuple[str, ...] = ()
    remove_notify: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return self == OrganizationChange()


@dataclass(frozen=True, slots=True)
class FieldChange:
    field: OrgField
    old: Value
    new: Value


@dataclass(frozen=True, slots=True)
class OrganizationUpdate:
    """The organization after the change, what changed, and what its timers did (None when
    the calendar stayed as it was)."""

    organization: OrganizationSettings
    changes: tuple[FieldChange, ...]
    timers: Rescheduled | None


def settings_of(org: Organization) -> OrganizationSettings:
    """An organization row as its settings (NULL calendar columns mean the defaults)."""
    return OrganizationSettings(
        # Sets, so sorted: "changed" compares members, never the order org add was given.
        id=org.id, name=org.name, domains=tuple(sorted(set(org.domains or ()))),
        notify=tuple(sorted(set(org.notify or ()))), timezone=org.timezone or "UTC",
        country=org.country,
        hours=org.business_hours or DEFAULT_HOURS,
        workdays=org.workdays or format_workdays(parse_workdays(DEFAULT_WORKDAYS)),
        closed_days=tuple(sorted(org.closed_days or ())), created_at=org.created_at)


def organization_settings(session: Session, name: str) -> OrganizationSettings:
    """``org show``: one organization's settings, by name. Raises ``NotFound``."""
    return settings_of(find_organization(session, name))


def all_organization_settings(session: Session) -> list[OrganizationSettings]:
    """``org list``: every organization's settings, by name."""
    return [settings_of(o) for o in session.scalars(select(Organization)
                                                    .order_by(Organization.name))]


# -- normalizing and validating, before anything changes -----------------------------------------
def check_timezone(zone: str) -> str:
    """An IANA zone name, stripped; ``InvalidSetting`` (with org add's message) otherwise."""
    zone = zone.strip()
    problem = zone_problem(zone)
    if problem:
        raise InvalidSetting(problem)
    return zone


def check_domain(value: str) -> str:
    """A mail domain as organizations store it; ``InvalidSetting`` (the one check of org add
    and org set) otherwise."""
    domain = normalize_domain(value)
    if not domain or any(c.isspace() or c in "@,;<>" for c in domain):
        raise InvalidSetting(f"not a mail domain: {value!r} (e.g. acme.example)")
    return domain


def _address(value: str) -> str:
    try:
        return checked_address(value).lower()
    except BadAddress as exc:
        raise InvalidSetting(str(exc)) from None


def _day(value: str) -> str:
    try:
        return parse_closed_day(value).isoformat()
    except CalendarError as exc:
        raise InvalidSetting(str(exc)) from None


def _edit_set(field: OrgField, current: Iterable[str], add: Iterable[str],
              remove: Iterable[str]) -> tuple[str, ...]:
    """Members added, then removed. Removing one that is not there is refused: a typo would
    otherwise look like success and leave the old member in place."""
    result = set(current) | set(add)
    for member in remove:
        if member not in result:
            raise NotFound(f"{field.value}: {member} is not set")
        result.discard(member)
    return tuple(sorted(result))


def _proposed(org: Organization, change: OrganizationChange) -> OrganizationSettings:
    """The settings the change asks for, normalized and checked; raises ``InvalidSetting``,
    ``NotFound`` (removing what is not there) or ``Refused``."""
    current = settings_of(org)
    name = current.name
    if change.rename is not None:
        try:  # names reach mail (reports, notices): folded like every header value
            name = mailheaders.stored_name(change.rename, what="organization name")
        except mailheaders.UnsafeValue as exc:
            raise InvalidSetting(str(exc)) from None
    zone = current.timezone if change.timezone is None else check_timezone(change.timezone)
    country = current.country if change.country is None else change.country.strip().upper()
    hours, workdays = current.hours, current.workdays
    if any(v is not None for v in (change.timezone, change.country, change.hours,
                                   change.workdays)):
        # Building the calendar checks hours, workdays and the country the way org add does
        # (only when one of them changes: a domain edit never trips over an old setting).
        try:
            described = BusinessCalendar(
                zone, country=country or None,
                hours=hours if change.hours is None else change.hours,
                workdays=workdays if change.workdays is None else change.workdays).describe()
        except CalendarError as exc:
            raise InvalidSetting(str(exc)) from None
        hours, workdays = str(described["hours"]), str(described["workdays"])
    domains = _edit_set(OrgField.DOMAINS, current.domains,
                        [check_domain(d) for d in change.add_domains],
                        [check_domain(d) for d in change.remove_domains])
    if not domains:
        raise Refused("an organization needs at least one mail domain (add one first)")
    notify = current.notify if change.notify is None else tuple(
        sorted({_address(a) for a in change.notify}))
    notify = _edit_set(OrgField.NOTIFY, notify, [_address(a) for a in change.add_notify],
                       [_address(a) for a in change.remove_notify])
    closed = _edit_set(OrgField.CLOSED_DAYS, current.closed_days,
                       [_day(d) for d in change.add_closed_days],
                       [_day(d) for d in change.remove_closed_days])
    return OrganizationSettings(
        id=org.id, name=name, domains=domains, notify=notify, timezone=zone,
        country=country or None, hours=hours, workdays=workdays, closed_days=closed,
        created_at=org.created_at)


def _store(org: Organization, new: OrganizationSettings, changed: set[OrgField]) -> None:
    """Write the changed fields; calendar fields keep NULL for "the default" until set."""
    if OrgField.NAME in changed:
        org.name = new.name
    if OrgField.DOMAINS in changed:
        org.domains = list(new.domains)
    if OrgField.NOTIFY in changed:
        org.notify = list(new.notify)
    if OrgField.TIMEZONE in changed:
        org.timezone = new.timezone
    if OrgField.COUNTRY in changed:
        org.country = new.country
    if OrgField.HOURS in changed:
        org.business_hours = new.hours
    if OrgField.WORKDAYS in changed:
        org.workdays = new.workdays
    if OrgField.CLOSED_DAYS in changed:
        org.closed_days = list(new.closed_days) or None


def update_organization(session: Session, settings: Settings, *, name: str,
                        change: OrganizationChange, actor: str, now: dt.datetime
                        ) -> OrganizationUpdate:
    """Change organization ``name`` as ``change`` says, audit it, and move its pending
    timers when its business calendar changed; all in the caller's transaction.

    Raises ``NotFound`` (no such organization, removing a member that is not there),
    ``Refused`` (the new name is taken, no mail domain left) or ``InvalidSetting``; nothing is
    changed then. A change to the values already set is a no-op: no audit event, no timers.
    """
    # FOR NO KEY UPDATE: two edits of one organization take turns (the set edits are
    # read-modify-write), while rows that merely refer to it (cases, contacts) stay insertable.
    org = session.scalars(select(Organization).where(Organization.name == name.strip())
                          .with_for_update(key_share=True)).first()
    if org is None:
        raise organization_missing(session, name)
    old = settings_of(org)
    new = _proposed(org, change)
    changed = {f for f in OrgField if old.value(f) != new.value(f)}
    if OrgField.NAME in changed and session.scalars(
            select(Organization.id).where(Organization.name == new.name)).first():
        raise Refused(f"organization {new.name!r} already exists")
    if not changed:
        return OrganizationUpdate(old, (), None)
    _store(org, new, changed)
    if OrgField.NAME in changed:
        refresh_organization(session, org.id, new.name)  # search finds it by its new name
    timers = (reschedule_organization(session, settings, org.id, now)
              if changed & CALENDAR_FIELDS else None)
    changes = tuple(FieldChange(f, old.value(f), new.value(f)) for f in OrgField
                    if f in changed)
    detail: dict[str, Any] = {
        "organization": new.name, "organization_id": org.id,
        "changes": {c.field.value: {"from": json_value(c.old), "to": json_value(c.new)}
                    for c in changes}}
    if timers is not None:
        detail["timers_moved"] = timers.moved
        detail["timers_now_due"] = timers.now_due
    audit(session, actor=actor, action=AUDIT_ACTION, now=now, **detail)
    return OrganizationUpdate(settings_of(org), changes, timers)


def json_value(value: Value) -> str | list[str] | None:
    """A setting's value as JSON has it (sets as lists), for the audit trail and the API."""
    return list(value) if isinstance(value, tuple) else value
