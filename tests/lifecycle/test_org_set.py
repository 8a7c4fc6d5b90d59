"""Changing an organization after ``org add``: its settings, the audit trail, and its pending
timers following a new business calendar.

Acme runs on Berlin time with German holidays and the default 08:00-18:00 calendar. The analyst
asks for information on Monday 2026-03-02 10:00 Berlin (the test clock's start); reminder #1 is
due 2 business days later, Wednesday 4 March 10:00.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.lifecycle.conftest import local, mails, run, timers
from tests.support import ingest, new_mail, open_case, post, reply_to
from workflows.cases.organizations import (
    InvalidSetting,
    OrganizationChange,
    OrgField,
    organization_settings,
    update_organization,
)
from workflows.errors import NotFound, Refused
from workflows.storage.models import AuditEvent

NEW_YORK = "America/New_York"
REMINDER = "follow_up_reminder"
DAY2 = local(2026, 3, 4, 10)


def change(rt, name="Acme", actor="admin@desk.example", **fields):
    with rt.db.transaction() as s:
        return update_organization(s, rt.settings, name=name,
                                   change=OrganizationChange(**fields), actor=actor,
                                   now=rt.now())


def settings_of(rt, name="Acme"):
    with rt.db.transaction() as s:
        return organization_settings(s, name)


def awaiting_info(rt) -> str:
    """A Medium case of alice's, information requested now, its timers armed."""
    number = open_case(rt)
    post(rt, number, action="request_info")
    run(rt)
    return number


def pending(rt, number: str, kind: str):
    (row,) = [t for t in timers(rt, number) if t.kind == kind and t.fired_at is None]
    return row.due_at


def audits(rt) -> list[AuditEvent]:
    with rt.db.transaction() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.action == "org.update")))


def test_an_extra_closed_day_moves_the_reminder_by_a_day(rt, people, clock):
    """Acme announces a closure on Tuesday: the 2-business-day reminder comes on Thursday."""
    number = awaiting_info(rt)
    assert pending(rt, number, "follow_up_1") == DAY2
    done = change(rt, add_closed_days=("2026-03-03",))
    assert done.timers is not None and done.timers.moved >= 1
    assert pending(rt, number, "follow_up_1") == local(2026, 3, 5, 10)


def test_the_moved_reminder_fires_at_its_new_time_not_the_old(rt, people, clock):
    """Time travel: nothing at the old due time, reminder #1 at the new one."""
    number = awaiting_info(rt)
    change(rt, add_closed_days=("2026-03-03",))
    clock.current = DAY2
    run(rt)
    assert mails(rt, REMINDER) == []
    clock.current = local(2026, 3, 5, 10)
    run(rt)
    assert len(mails(rt, REMINDER)) == 1
    assert pending(rt, number, "follow_up_2")  # the chain goes on


def test_a_zone_change_moves_the_due_time(rt, people, clock):
    """To New York: the request (04:00 there) counts from Monday 08:00 New York time, so two
    business days end on Tuesday at closing time, New York."""
    number = awaiting_info(rt)
    change(rt, timezone=NEW_YORK)
    assert pending(rt, number, "follow_up_1") == local(2026, 3, 3, 18, zone=NEW_YORK)


def test_a_zone_change_moves_the_sla_warning(rt, people, clock):
    """The response clock (Medium: 4 business hours, warned with 25% left) follows the zone."""
    number = open_case(rt)
    run(rt)
    assert pending(rt, number, "response_warning") == local(2026, 3, 2, 13)
    change(rt, timezone=NEW_YORK)
    assert pending(rt, number, "response_warning") == local(2026, 3, 2, 11, zone=NEW_YORK)


def test_a_resumed_resolution_clock_is_measured_on_the_new_calendar(rt, people, clock):
    """Medium: 5 business days, warned with 25% (12.5 h) left. Open Monday 10:00, asked at
    12:00 (2 h used), answered Tuesday 10:00: 35.5 h to go, Friday 15:30; with Thursday
    closed, Monday 9 March 15:30."""
    number = open_case(rt)
    clock.current = local(2026, 3, 2, 12)
    sent = post(rt, number, action="request_info")
    clock.current = local(2026, 3, 3, 10)
    ingest(rt, reply_to(sent, sender=people["alice"]))
    run(rt)
    assert pending(rt, number, "resolution_warning") == local(2026, 3, 6, 15, 30)
    change(rt, add_closed_days=("2026-03-05",))
    assert pending(rt, number, "resolution_warning") == local(2026, 3, 9, 15, 30)


def test_new_hours_move_the_due_time(rt, people, clock):
    """10:00-14:00 days: two business days (8 hours) from Monday 10:00 end Tuesday 14:00."""
    number = awaiting_info(rt)
    change(rt, hours="10:00-14:00")
    assert pending(rt, number, "follow_up_1") == local(2026, 3, 3, 14)


def test_a_later_step_armed_before_the_change_moves_too(rt, people, clock):
    """Reminder #2, armed when #1 fired, follows new workdays (Fridays off: a day later)."""
    number = awaiting_info(rt)
    clock.current = DAY2
    run(rt)
    assert pending(rt, number, "follow_up_2") == local(2026, 3, 9, 10)
    change(rt, workdays="mon-thu")
    assert pending(rt, number, "follow_up_2") == local(2026, 3, 10, 10)


def test_a_due_time_moved_into_the_past_fires_on_the_next_pass(rt, people, clock):
    """A closure that is called off on Thursday morning: reminder #1, now due since Wednesday,
    goes out on the next scheduler pass (and the change itself sends nothing)."""
    change(rt, add_closed_days=("2026-03-03",))
    number = awaiting_info(rt)
    assert pending(rt, number, "follow_up_1") == local(2026, 3, 5, 10)
    clock.current = local(2026, 3, 5, 9)
    done = change(rt, remove_closed_days=("2026-03-03",))
    assert done.timers is not None and done.timers.now_due == 1
    assert mails(rt, REMINDER) == []
    report = run(rt)
    assert [(f.kind, f.outcome) for f in report.fired] == [("follow_up_1", "sent")]


def test_timers_not_armed_yet_are_armed_on_the_new_calendar(rt, people, clock):
    """A request whose timers the scheduler has not armed: the next pass uses the new zone."""
    number = open_case(rt)
    post(rt, number, action="request_info")
    done = change(rt, timezone=NEW_YORK)
    assert done.timers is not None and done.timers.examined == 0
    run(rt)
    assert pending(rt, number, "follow_up_1") == local(2026, 3, 3, 18, zone=NEW_YORK)


def test_a_stopped_clock_keeps_its_row_as_it_was(rt, people, clock):
    """Alice answered: the follow-up row is dead (it will fire as stale), so it is not moved."""
    number = open_case(rt)
    sent = post(rt, number, action="request_info")
    run(rt)
    ingest(rt, reply_to(sent, sender=people["alice"]))
    done = change(rt, add_closed_days=("2026-03-03",))
    assert pending(rt, number, "follow_up_1") == DAY2
    assert done.timers is not None and (done.timers.examined, done.timers.moved) == (1, 0)


def test_other_organizations_timers_do_not_move(rt, people, clock):
    """Globex's case keeps its due time when Acme's calendar changes."""
    number = open_case(rt, contact=people["carol"])
    post(rt, number, action="request_info")
    run(rt)
    before = pending(rt, number, "follow_up_1")
    change(rt, timezone=NEW_YORK, add_closed_days=("2026-03-03", "2026-03-04"))
    assert pending(rt, number, "follow_up_1") == before


def test_a_calendar_change_is_audited_with_old_and_new_values(rt, people, clock):
    """Who changed what, from what to what, and how many timers moved."""
    awaiting_info(rt)
    change(rt, timezone=NEW_YORK, actor="cli:ops")
    (event,) = audits(rt)
    assert event.actor == "cli:ops" and event.case_id is None
    assert event.detail["changes"] == {"timezone": {"from": "Europe/Berlin", "to": NEW_YORK}}
    assert event.detail["organization"] == "Acme" and event.detail["timers_moved"] >= 1


def test_setting_what_is_already_set_changes_nothing(rt, people, clock):
    """Same zone, a domain it already has: no change, no audit event, no timer work."""
    done = change(rt, timezone="Europe/Berlin", add_domains=("ACME.example",))
    assert (done.changes, done.timers) == ((), None)
    assert audits(rt) == []


def test_domains_and_the_distribution_list_change_without_touching_timers(rt, people, clock):
    """Sets change by adding and removing; a new distribution list replaces the old one."""
    awaiting_info(rt)
    done = change(rt, add_domains=("acme.org",), remove_domains=("acme.example",),
                  notify=("desk@acme.org", "ops@acme.org"), remove_notify=("ops@acme.org",))
    assert {c.field for c in done.changes} == {OrgField.DOMAINS, OrgField.NOTIFY}
    assert done.timers is None
    shown = settings_of(rt)
    assert (shown.domains, shown.notify) == (("acme.org",), ("desk@acme.org",))


@pytest.mark.parametrize(("fields", "message"), [
    ({"timezone": "Mars/Olympus"}, "unknown time zone"),
    ({"country": "XX"}, "no public holidays"),
    ({"hours": "18:00-08:00"}, "business hours"),
    ({"workdays": "someday"}, "workdays"),
    ({"add_closed_days": ("03/03/2026",)}, "closed day"),
    ({"add_notify": ("not an address",)}, "not a usable email address"),
])
def test_an_invalid_value_changes_nothing(rt, people, clock, fields, message):
    """One bad value refuses the whole change: the valid parts are not stored either."""
    with pytest.raises(InvalidSetting, match=message):
        change(rt, add_domains=("acme.org",), **fields)
    assert settings_of(rt).domains == ("acme.example",)
    assert audits(rt) == []


def test_removing_what_is_not_there_is_refused(rt, people, clock):
    """A typo in --remove-domain must not look like success."""
    with pytest.raises(NotFound, match=r"acme\.invalid"):
        change(rt, remove_domains=("acme.invalid",))


def test_the_last_domain_cannot_be_removed(rt, people, clock):
    """org add requires a domain; so does org set."""
    with pytest.raises(Refused, match="at least one mail domain"):
        change(rt, remove_domains=("acme.example",))


def test_a_rename_to_a_taken_name_is_refused(rt, people, clock):
    with pytest.raises(Refused, match="already exists"):
        change(rt, rename="Globex")


def test_a_renamed_organization_keeps_its_cases_and_contacts(rt, people, clock):
    """Everything refers to the organization by id: the new name opens cases as before."""
    number = awaiting_info(rt)
    before = settings_of(rt)
    change(rt, rename="Acme Corp")
    assert settings_of(rt, "Acme Corp").id == before.id
    with pytest.raises(NotFound):
        settings_of(rt, "Acme")
    assert timers(rt, number)  # the case is still there
    assert open_case(rt).startswith("CASE-")


def test_removing_a_domain_unmatches_new_mail_in_the_console(rt, people, clock):
    """Mail routing matches contacts, not domains (a stranger at acme.example is triaged as
    new mail either way); the console's triage filter by organization uses the domains."""
    from gateway.http.queries import TriageFilter, triage_page

    result = ingest(rt, new_mail(sender="dave@acme.example"))
    assert (result.outcome, result.reason) == ("triaged", "new_mail")

    def acme_items() -> int:
        with rt.db.transaction() as s:
            return triage_page(s, TriageFilter(organization="Acme"), rt.now()).total

    assert acme_items() == 1
    change(rt, add_domains=("acme.org",), remove_domains=("acme.example",))
    assert acme_items() == 0
    again = ingest(rt, new_mail(sender="erin@acme.example", message_id="<new-2@x.example>"))
    assert (again.outcome, again.reason) == ("triaged", "new_mail")
