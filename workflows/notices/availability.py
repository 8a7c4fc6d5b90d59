"""Monthly availability per organization (PureEngage 11.4). The formula is pure.

Place in the flow: read-only, for ``ticketgate notice availability``. Availability =
100% - sum over incidents of (affected agents x affected minutes) / (total agents x 43,200), with
43,200 minutes in a month whatever its length (DOMAIN.md "Availability").

An incident's minutes run from its start (``--start``, else when the alert went out) to its
all-clear (still ongoing: to ``now``), clipped to the month as the organization's zone draws it.
Agents: ``notice create --agents ORG=N`` per incident, the organization's agents from
``notice profile ORG --agents N``; with neither known the incident counts as hitting every agent.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.cases.directory import find_organization
from workflows.notices.model import NoticeKind, NoticeState
from workflows.notices.timefmt import zone_of
from workflows.storage.models import Notice, NoticeAudience, NoticeProfile, Organization

MONTH_MINUTES = 43_200


@dataclass(frozen=True, slots=True)
class IncidentImpact:
    reference: str
    minutes: float  # inside the month
    agents_affected: int | None  # None: all of the organization's agents


@dataclass(frozen=True, slots=True)
class Availability:
    organization: str
    month: str  # YYYY-MM
    total_agents: int | None
    incidents: tuple[IncidentImpact, ...]
    availability_percent: float


def availability_percent(total_agents: int | None, impacts: Sequence[IncidentImpact]) -> float:
    """100 - sum(agents x minutes) / (total agents x 43,200) x 100, never below 0."""
    lost = 0.0
    for impact in impacts:
        if total_agents is None or impact.agents_affected is None:
            share = 1.0
        else:
            share = min(impact.agents_affected / total_agents, 1.0)
        lost += share * impact.minutes
    return max(100.0 - lost / MONTH_MINUTES * 100.0, 0.0)


def _month(year: int, month: int, zone: str) -> tuple[dt.datetime, dt.datetime]:
    tz = zone_of(zone)
    first = dt.datetime(year, month, 1, tzinfo=tz)
    after = dt.datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=tz)
    return first.astimezone(dt.UTC), after.astimezone(dt.UTC)


def monthly_availability(session: Session, year: int, month: int, *, now: dt.datetime,
                         organizations: Sequence[str] = ()) -> list[Availability]:
    query = select(Organization).order_by(Organization.name)
    if organizations:  # each must exist: a typo is an error, not an empty answer
        names = [find_organization(session, name).name for name in organizations]
        query = query.where(Organization.name.in_(names))
    results = []
    for org in session.scalars(query):
        profile = session.get(NoticeProfile, org.id)
        total = profile.agents if profile else None
        start_of, end_of = _month(year, month, org.timezone)
        impacts = []
        for notice, audience in session.execute(
            select(Notice, NoticeAudience).join(
                NoticeAudience, NoticeAudience.notice_id == Notice.id)
            .where(NoticeAudience.organization_id == org.id,
                   Notice.kind == NoticeKind.INCIDENT.value,
                   Notice.state.in_([NoticeState.ACTIVE.value, NoticeState.RESOLVED.value]),
                   Notice.sent_at.is_not(None))
            .order_by(Notice.reference)):
            began = notice.starts_at or notice.sent_at
            assert began is not None
            ended = notice.resolved_at or now
            first, last = max(began, start_of), min(ended, end_of)
            if last > first:
                impacts.append(IncidentImpact(notice.reference,
                                              (last - first).total_seconds() / 60,
                                              audience.agents_affected))
        results.append(Availability(org.name, f"{year:04d}-{month:02d}", total, tuple(impacts),
                                    round(availability_percent(total, impacts), 4)))
    return results
