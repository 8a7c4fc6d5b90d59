"""Scheduled case reports: open and closed cases per organization, once per period."""

from __future__ import annotations

import datetime as dt

from tests.notices.conftest import NOW
from workflows.cases import directory
from workflows.cases import service as cases
from workflows.notices.model import Cadence
from workflows.notices.reports import advance, schedule_report
from workflows.notices.scheduler import run_due


def test_monthly_reports_keep_the_local_hour_across_dst():
    """08:00 in Denver stays 08:00 when the clocks change (March: MST -> MDT)."""
    due = dt.datetime(2026, 2, 15, 15, 0, tzinfo=dt.UTC)  # 08:00 MST
    assert advance(due, Cadence.MONTHLY, "America/Denver") == dt.datetime(
        2026, 3, 15, 14, 0, tzinfo=dt.UTC)
    assert advance(dt.datetime(2026, 1, 31, 15, tzinfo=dt.UTC), Cadence.MONTHLY,
                   "America/Denver").day == 28


def test_a_weekly_report_lists_open_and_closed_cases_once_per_period(nrt, desk, sink):
    """Due once a week to the distribution list; a second pass in the same week sends
    nothing; the next week's report goes out the next week."""
    with nrt.db.transaction() as s:
        contact = directory.add_contact(s, organization="Acme", email="alice@acme.example",
                                        name="Alice", designated=True, now=NOW)
        org_id = contact.organization_id
        first = cases.open_case(s, organization_id=org_id, contact=contact,
                                subject="Printer on fire", now=NOW, actor="test").number
        cases.open_case(s, organization_id=org_id, contact=contact, subject="Queue stuck",
                        now=NOW, actor="test")
        cases.close_case(s, number=first, cancelled=False, now=NOW + dt.timedelta(days=2),
                         actor="test")
        schedule_report(s, org_name="Acme", cadence=Cadence.WEEKLY, recipients=(),
                        first_due=NOW + dt.timedelta(days=7), now=NOW)
    assert run_due(nrt, NOW + dt.timedelta(days=6)).case_reports == 0
    assert run_due(nrt, NOW + dt.timedelta(days=7, hours=1)).case_reports == 1
    assert run_due(nrt, NOW + dt.timedelta(days=8)).case_reports == 0
    [report] = sink[0].to("ops@acme.example")
    text = report.get_body(("plain",)).get_content()
    assert str(report["Subject"]).strip() == "Weekly case report for Acme: 1 open, 1 closed"
    assert "CASE-1002" in text and "Queue stuck" in text and "Printer on fire" in text
    assert report["Auto-Submitted"] == "auto-generated"
    assert run_due(nrt, NOW + dt.timedelta(days=14, hours=1)).case_reports == 1
    assert len(sink[0].to("ops@acme.example")) == 2
