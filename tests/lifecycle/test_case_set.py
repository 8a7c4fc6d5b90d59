"""`case set`: severity, type and subject after opening; SLA deadlines follow a new severity.

Acme runs on Berlin time (08:00-18:00, German holidays). A Medium case opened on Monday
2026-03-02 10:00 has 5 business days to resolution; High has 2 (DOMAIN: Service level
targets)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.lifecycle.conftest import run, timers
from tests.support import open_case
from workflows.cases import views
from workflows.cases.fields import CaseFieldsChange, set_case_fields
from workflows.domain import Severity
from workflows.errors import Refused
from workflows.search.query import search
from workflows.storage.models import AuditEvent

RESOLUTION = "resolution_warning"


def change(rt, number, **fields):
    with rt.db.transaction() as s:
        return set_case_fields(s, rt.settings, number=number,
                               change=CaseFieldsChange(**fields), actor="ops@desk.example",
                               now=rt.now())


def pending(rt, number, kind):
    (row,) = [t for t in timers(rt, number) if t.kind == kind and t.fired_at is None]
    return row.due_at


def resolution_target(rt, number) -> str:
    with rt.db.transaction() as s:
        detail = views.case_detail(s, number, settings=rt.settings, now=rt.now())
    (clock,) = [c for c in detail.clocks if c.name == "resolution"]
    return clock.target


def test_raising_severity_brings_the_resolution_deadline_forward(rt, people, clock):
    """Medium -> High: the armed resolution warning is due days earlier."""
    number = open_case(rt, severity=Severity.MEDIUM)
    run(rt)  # arms the SLA timers on Medium's targets
    before = pending(rt, number, RESOLUTION)
    done = change(rt, number, severity=Severity.HIGH)
    assert done.timers is not None and done.timers.moved >= 1
    assert pending(rt, number, RESOLUTION) < before


def test_the_case_page_shows_the_new_target(rt, people, clock):
    number = open_case(rt, severity=Severity.MEDIUM)
    medium = resolution_target(rt, number)
    change(rt, number, severity=Severity.LOW)
    assert resolution_target(rt, number) != medium


def test_every_change_is_one_audit_event(rt, people, clock):
    number = open_case(rt)
    change(rt, number, severity=Severity.HIGH, case_type="Service Request",
           subject="Printer  on\nfire again")
    with rt.db.transaction() as s:
        (event,) = s.scalars(select(AuditEvent).where(AuditEvent.action == "case.set"))
        assert event.actor == "ops@desk.example"
        assert event.detail["changes"] == {
            "severity": {"from": "medium", "to": "high"},
            "type": {"from": "support", "to": "service request"},
            "subject": {"from": "Printer on fire", "to": "Printer on fire again"}}


def test_setting_the_same_values_changes_nothing(rt, people, clock):
    number = open_case(rt)
    assert change(rt, number, severity=Severity.MEDIUM).changes == ()
    with rt.db.transaction() as s:
        assert s.scalars(select(AuditEvent).where(AuditEvent.action == "case.set")).all() == []


def test_a_new_subject_is_searchable_at_once(rt, people, clock):
    number = open_case(rt)
    change(rt, number, subject="Scanner smoking")
    with rt.db.transaction() as s:
        hits = search(s, "smoking")
    assert [h.number for h in hits.items] == [number]


def test_an_empty_subject_is_refused(rt, people, clock):
    number = open_case(rt)
    with pytest.raises(Refused):
        change(rt, number, subject="   ")


def test_cli_case_set_prints_the_change(cli, desk):
    """Through `ticketgate case set`: CASE-1001 (High) lowered to Low."""
    done = cli("case", "set", "case-1001", "--severity", "LOW", "--subject", "Toner")
    assert done.code == 0
    assert done.out[0]["changed"] == {"severity": {"from": "high", "to": "low"},
                                      "subject": {"from": "Printer on fire", "to": "Toner"}}
    nothing = cli("case", "set", "CASE-1001")
    assert nothing.code == 2 and "nothing to change" in nothing.err
