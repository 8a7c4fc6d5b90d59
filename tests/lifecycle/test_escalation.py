"""Escalation to another ticket family: a linked case, both ways, and the contact is told."""

from __future__ import annotations

import dataclasses

import pytest

from tests.lifecycle.conftest import body, case_row, local, mails
from tests.support import close, ingest, open_case, reply_to
from workflows.clock.escalation import escalate_case
from workflows.domain import Family
from workflows.errors import Refused


def escalate(rt, number: str, to: Family):
    with rt.db.transaction() as s:
        done = escalate_case(s, rt.settings, rt.key, number=number, to=to, now=rt.now(),
                             actor="analyst@desk.example")
    rt.send_outbox([done.outbound_id] if done.outbound_id else [])
    return done


def test_escalation_to_technical_support_opens_a_linked_case(rt, people, clock):
    """TSUP-n keeps a pointer to the original, and the original to it."""
    number = open_case(rt)
    done = escalate(rt, number, Family.TSUP)
    original, linked = case_row(rt, number), case_row(rt, done.linked)
    assert done.linked == "TSUP-1001"
    assert (original.linked_case_id, linked.linked_case_id) == (linked.id, original.id)
    assert (linked.organization_id, linked.contact_id, linked.severity, linked.subject) == (
        original.organization_id, original.contact_id, original.severity, original.subject)


def test_project_coordination_numbers_have_six_digits(rt, people, clock):
    """LiveVox: Project Coordination escalations are numbered 100100 and up."""
    assert escalate(rt, open_case(rt), Family.PC).linked == "100100"


def test_the_contact_is_told_the_new_number(rt, people, clock):
    """The mail names both numbers and carries the new case's Reference ID."""
    number = open_case(rt)
    escalate(rt, number, Family.TSUP)
    (told,) = mails(rt, "case_escalated")
    assert told.recipients == [people["alice"]]
    assert "[ref:TSUP-1001:" in told.subject
    assert number in body(told.raw) and "TSUP-1001" in body(told.raw)
    assert told.status == "sent"


@pytest.mark.parametrize("portal", [None, "https://support.example/cases/{number}"])
def test_the_escalation_mail_links_the_new_case_on_the_portal_only(rt, people, clock, portal):
    """The contact's link is the desk's portal page of the new case; without one, none (the
    console, public_url, asks a customer for a staff login)."""
    rt = dataclasses.replace(rt, settings=dataclasses.replace(rt.settings,
                                                              customer_case_url=portal))
    escalate(rt, open_case(rt), Family.TSUP)
    (told,) = mails(rt, "case_escalated")
    text = body(told.raw)
    assert rt.settings.public_url not in text
    assert ("https://support.example/cases/TSUP-1001" in text) is (portal is not None)


def test_a_reply_to_the_escalation_mail_lands_on_the_new_case(rt, people, clock):
    """The customer answering the notice updates the case the new team works on."""
    escalate(rt, open_case(rt), Family.TSUP)
    (told,) = mails(rt, "case_escalated")
    result = ingest(rt, reply_to(told.raw, sender=people["alice"]))
    assert (result.outcome, result.case_number) == ("linked", "TSUP-1001")


def test_the_new_case_runs_its_own_sla_clocks(rt, people, clock):
    """Escalated cases are answered on their own target: the response clock starts anew."""
    from tests.lifecycle.conftest import timers

    done = escalate(rt, open_case(rt), Family.TSUP)
    assert {"response_warning", "resolution_warning"} <= {
        t.kind for t in timers(rt, done.linked)}


@pytest.mark.parametrize("setup, to, message", [
    ("linked", Family.TSUP, "already escalated to Technical Support as TSUP-1001"),
    ("closed", Family.TSUP, "is closed"),
    ("tsup", Family.TSUP, "already is a Technical Support case"),
    ("plain", Family.CASE, "escalate to Technical Support"),
])
def test_escalations_that_make_no_sense_are_refused(rt, people, clock, setup, to, message):
    """One open escalation per family, open cases only, always to another family."""
    number = open_case(rt, family=Family.TSUP if setup == "tsup" else Family.CASE)
    if setup == "linked":
        escalate(rt, number, Family.TSUP)
    if setup == "closed":
        clock.current = local(2026, 3, 3, 10)
        close(rt, number)
    with pytest.raises(Refused, match=message):
        escalate(rt, number, to)


def test_a_case_can_be_escalated_to_both_other_families(rt, people, clock):
    """TSUP for the fault, PC for the project work: both point at the original."""
    number = open_case(rt)
    tsup, pc = escalate(rt, number, Family.TSUP), escalate(rt, number, Family.PC)
    original = case_row(rt, number)
    assert (case_row(rt, tsup.linked).linked_case_id,
            case_row(rt, pc.linked).linked_case_id) == (original.id, original.id)
    assert [c.number for c in _links(rt, number)] == ["TSUP-1001", "100100"]


def test_a_closed_escalation_does_not_block_a_new_one(rt, people, clock):
    """The TSUP case was resolved and the fault came back: a second TSUP case may open."""
    number = open_case(rt)
    first = escalate(rt, number, Family.TSUP)
    close(rt, first.linked)
    assert escalate(rt, number, Family.TSUP).linked == "TSUP-1002"


def test_an_escalation_sees_its_original_among_its_links(rt, people, clock):
    """The escalated case's detail names the case it came from."""
    done = escalate(rt, open_case(rt), Family.TSUP)
    assert [(c.number, c.family) for c in _links(rt, done.linked)] == [("CASE-1001", "case")]


def _links(rt, number: str):
    from workflows.cases.views import case_detail

    with rt.db.transaction() as s:
        return case_detail(s, number).linked_cases
