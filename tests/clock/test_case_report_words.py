"""A scheduled case report, as the organization's list receives it after ``ticketgate timers
run --at``: statuses, severities and resolutions in the words the desk's guides use ("Awaiting
Info", "Solution Proposed"), not the database's spellings."""

from __future__ import annotations

import datetime as dt

from tests.clock.conftest import ticketgate  # noqa: F401 - the fixture
from tests.notices.conftest import NOW
from workflows.cases import directory
from workflows.cases import service as cases
from workflows.notices.model import Cadence
from workflows.notices.reports import schedule_report


def test_a_case_report_names_statuses_as_customers_know_them(nrt, desk, sink, ticketgate):  # noqa: F811
    with nrt.db.transaction() as s:
        contact = directory.add_contact(s, organization="Acme", email="alice@acme.example",
                                        name="Alice", designated=True, now=NOW)
        org_id = contact.organization_id
        for subject in ("Printer on fire", "Queue stuck", "Headset"):
            cases.open_case(s, organization_id=org_id, contact=contact, subject=subject,
                            now=NOW, actor="test")
        cases.post_update(s, nrt.settings, nrt.key, number="CASE-1001",
                          body="Which model?", action="request_info", now=NOW, actor="test")
        cases.post_update(s, nrt.settings, nrt.key, number="CASE-1002", body="Restart it.",
                          action="propose_solution", now=NOW, actor="test")
        cases.close_case(s, number="CASE-1003", cancelled=True, now=NOW + dt.timedelta(days=1),
                         actor="test")
        schedule_report(s, org_name="Acme", cadence=Cadence.WEEKLY, recipients=(),
                        first_due=NOW + dt.timedelta(days=7), now=NOW)
    done = ticketgate("timers", "run", "--at", (NOW + dt.timedelta(days=7, hours=1)).isoformat())
    assert done.code == 0, done.err
    [report] = sink[0].to("ops@acme.example")
    for part in (report.get_body(("plain",)).get_content(),
                 report.get_body(("html",)).get_content()):
        assert "Awaiting Info" in part and "Solution Proposed" in part
        assert "Medium" in part and "Cancelled" in part
        assert "awaiting_info" not in part and "solution_proposed" not in part


def test_an_empty_section_of_a_case_report_says_none(nrt, desk, sink, ticketgate):  # noqa: F811
    """No case closed in the period: the HTML part says "None." under its heading instead of
    a table of column names over no rows (the text part lists nothing either way)."""
    with nrt.db.transaction() as s:
        contact = directory.add_contact(s, organization="Acme", email="alice@acme.example",
                                        name="Alice", designated=True, now=NOW)
        cases.open_case(s, organization_id=contact.organization_id, contact=contact,
                        subject="Printer on fire", now=NOW, actor="test")
        schedule_report(s, org_name="Acme", cadence=Cadence.WEEKLY, recipients=(),
                        first_due=NOW + dt.timedelta(days=7), now=NOW)
    done = ticketgate("timers", "run", "--at", (NOW + dt.timedelta(days=7, hours=1)).isoformat())
    assert done.code == 0, done.err
    [report] = sink[0].to("ops@acme.example")
    html = report.get_body(("html",)).get_content()
    closed = html.split("Cases closed in the period: 0", 1)[1]
    assert "<th>" not in closed and "<p>None.</p>" in closed
    assert "<th>Status</th>" in html  # the open cases keep their table
