"""Monthly availability per organization (PureEngage 11.4, 43,200 minutes a month)."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.notices.conftest import NOW, create
from workflows.notices import service
from workflows.notices.availability import (
    IncidentImpact,
    availability_percent,
    monthly_availability,
)
from workflows.notices.model import NoticeKind

MINUTE = dt.timedelta(minutes=1)


def test_the_formula():
    """100% - sum(affected agents x minutes) / (total agents x 43,200)."""
    impacts = (IncidentImpact("INC-1", 90, 40), IncidentImpact("INC-2", 30, 200))
    assert availability_percent(200, impacts) == pytest.approx(
        100 - (40 * 90 + 200 * 30) / (200 * 43_200) * 100)


def test_unknown_agent_counts_mean_every_agent_was_hit():
    """Without agent numbers an incident counts against the whole organization."""
    assert availability_percent(None, (IncidentImpact("INC-1", 432, None),)) == \
        pytest.approx(99.0)


def test_an_incident_lowers_the_month_of_the_organizations_it_hit(nrt, desk, sink):
    """90 minutes with 40 of Acme's 200 agents down; Wombat was not in the audience."""
    with nrt.db.transaction() as s:
        service.set_profile(s, "Acme", agents=200, components=None)
    ref = create(nrt, NoticeKind.INCIDENT, organizations=("Acme", "Initech"),
                 agents=(("Acme", 40),))
    service.send_notice(nrt, ref, actor="ic")
    nrt.clock.current = NOW + 90 * MINUTE
    service.all_clear(nrt, ref, "Back to normal.", actor="ic")
    with nrt.db.transaction() as s:
        months = {a.organization: a for a in monthly_availability(s, 2026, 2, now=nrt.now())}
    acme = months["Acme"]
    assert [(i.reference, round(i.minutes), i.agents_affected) for i in acme.incidents] == [
        (ref, 90, 40)]
    assert acme.availability_percent == pytest.approx(100 - 40 * 90 / (200 * 43_200) * 100,
                                                      abs=1e-4)
    assert months["Initech"].availability_percent == pytest.approx(100 - 90 / 432, abs=1e-4)
    assert months["Wombat"].availability_percent == 100.0


def test_an_incident_across_midnight_of_the_month_is_split(nrt, desk, sink):
    """An outage from 23:00 on the last day to 01:00 counts an hour in each month, by the
    organization's own calendar (Denver)."""
    nrt.clock.current = dt.datetime(2026, 3, 1, 6, 0, tzinfo=dt.UTC)  # 28 Feb 23:00 MST
    ref = create(nrt, NoticeKind.INCIDENT, organizations=("Initech",))
    service.send_notice(nrt, ref, actor="ic")
    nrt.clock.current += 120 * MINUTE
    service.all_clear(nrt, ref, "Fine again.", actor="ic")
    with nrt.db.transaction() as s:
        [feb] = monthly_availability(s, 2026, 2, now=nrt.now(), organizations=("Initech",))
        [mar] = monthly_availability(s, 2026, 3, now=nrt.now(), organizations=("Initech",))
    assert [round(i.minutes) for i in feb.incidents + mar.incidents] == [60, 60]
