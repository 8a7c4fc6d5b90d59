"""The all-clear promises the RCA on each organization's own business calendar (issue 11 §2):
German Easter holidays push Acme's date, not the desk's or a US customer's."""

from __future__ import annotations

import datetime as dt

from workflows.clock.calendar import BusinessCalendar
from workflows.notices.model import NoticeKind, Purpose
from workflows.notices.render import NoticeFacts, Occasion, OrgFacts, render_notice

RESTORED = dt.datetime(2026, 4, 1, 10, 0, tzinfo=dt.UTC)  # Wednesday before Easter


def _all_clear_text(org: OrgFacts) -> str:
    facts = NoticeFacts(reference="INC-2026-0001", kind=NoticeKind.INCIDENT, title="Outage",
                        impact="Calls drop", starts_at=RESTORED - dt.timedelta(hours=1),
                        sent_at=RESTORED - dt.timedelta(hours=1), resolved_at=RESTORED,
                        all_clear_text="Log in again.", rca_business_days=5,
                        rca_due_at=RESTORED + dt.timedelta(days=7))
    return render_notice(facts, org, Occasion(Purpose.ALL_CLEAR, RESTORED),
                         organizer="care@desk.example").text


def test_german_holidays_move_a_berlin_organizations_rca_date():
    """Good Friday and Easter Monday are not business days in Germany: Fri 10 Apr, 12:00."""
    acme = OrgFacts(1, "Acme", "Europe/Berlin", ("ops@acme.example",),
                    BusinessCalendar("Europe/Berlin", country="DE"))
    assert "will follow by Fri 10 Apr 2026 12:00 CEST" in _all_clear_text(acme)


def test_a_us_organization_counts_its_own_days():
    """Denver works Good Friday and Easter Monday; restored at 04:00 MDT, before its day
    began, so five whole days: Wed 1 to Tue 7 Apr, 18:00."""
    initech = OrgFacts(2, "Initech", "America/Denver", ("noc@initech.example",),
                       BusinessCalendar("America/Denver", country="US"))
    assert "will follow by Tue 07 Apr 2026 18:00 MDT" in _all_clear_text(initech)


def test_without_a_calendar_the_desks_date_is_used():
    """Internal mail (the care team) reads the stored due date."""
    desk = OrgFacts(None, "the care team", "UTC", ("care@desk.example",))
    assert "will follow by Wed 08 Apr 2026 10:00 UTC" in _all_clear_text(desk)
