"""Auto follow-up: reminders at 2 and 5 business days, auto-close at 10, stopped by a reply.

The clock starts on Monday 2026-03-02 10:00 in Berlin (Acme's zone, German holidays). With the
default 08:00-18:00 calendar, 2/5/10 business days after that are Wednesday 4, Monday 9 and
Monday 16 March at 10:00.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from tests.conftest import KEY
from tests.lifecycle.conftest import body, case_row, local, mails, run, subject, timers, wait_until
from tests.support import ingest, open_case, post, reply_to
from workflows.clock.scheduler import EmbeddedScheduler
from workflows.domain import Severity
from workflows.storage.db import Database

REMINDER, CLOSED = "follow_up_reminder", "follow_up_closed"
DAY2, DAY5, DAY10 = local(2026, 3, 4, 10), local(2026, 3, 9, 10), local(2026, 3, 16, 10)
MINUTE = dt.timedelta(minutes=1)


def ask(rt, *, severity=Severity.MEDIUM, action="request_info") -> str:
    number = open_case(rt, severity=severity)
    post(rt, number, action=action)
    return number


def follow_ups(rt) -> list[str]:
    """Follow-up mails so far: "1", "2" (reminders) and "closed"."""
    seen = []
    for m in mails(rt):
        if m.kind == REMINDER:
            seen.append("2" if "Second reminder" in body(m.raw) else "1")
        elif m.kind == CLOSED:
            seen.append("closed")
    return seen


def at(rt, clock, when):
    clock.current = when
    return run(rt)


def test_whole_sequence_2_5_10(rt, people, clock):
    """No answer: reminder #1 at 2 business days, #2 at 5, closed as resolved at 10."""
    number = ask(rt)
    seen = []
    for when in (DAY2 - MINUTE, DAY2, DAY5 - MINUTE, DAY5, DAY10 - MINUTE, DAY10):
        at(rt, clock, when)
        seen.append(follow_ups(rt))
    assert seen == [[], ["1"], ["1"], ["1", "2"], ["1", "2"], ["1", "2", "closed"]]
    case = case_row(rt, number)
    assert (case.status, case.resolution, case.closed_at) == ("closed", "resolved", DAY10)



def test_auto_close_is_the_follow_up_expired_event(rt, people, clock):
    """"Resolved by auto-follow-up" is visible in the case history, not just "closed"."""
    from gateway.cli.commands import _case_json

    number = ask(rt)
    at(rt, clock, DAY10)
    detail = _case_json(rt, number)
    assert detail["status_changes"][-1]["event"] == "follow_up_expired"
    assert "auto follow-up" in detail["updates"][-1]["visible_text"]


def test_reminder_says_what_was_asked_with_the_reference(rt, people, clock):
    """The contact who opened the case gets the question again and the Reference ID; no link
    to the console, where a customer has no login."""
    number = ask(rt)
    at(rt, clock, DAY2)
    (reminder,) = mails(rt, REMINDER)
    text = body(reminder.raw)
    assert reminder.recipients == [people["alice"]]
    assert "Which model is it?" in text
    assert rt.settings.public_url not in text and "Case: " not in text
    assert f"[ref:{number}:" in subject(reminder.raw)


@pytest.mark.parametrize(("when", "kind"), [(DAY2, REMINDER), (DAY10, CLOSED)])
def test_customer_mail_links_to_the_desks_portal_when_it_has_one(rt, people, clock, when,
                                                                  kind):
    """The support guides' "link to access the case": customer_case_url, the number filled in."""
    rt = dataclasses.replace(rt, settings=dataclasses.replace(
        rt.settings, customer_case_url="https://support.example/case?n={number}"))
    number = ask(rt)
    at(rt, clock, when)
    (sent,) = mails(rt, kind)
    assert f"https://support.example/case?n={number}" in body(sent.raw)
    assert rt.settings.public_url not in body(sent.raw)


def test_a_reply_to_a_reminder_links_like_a_reply_to_the_case(rt, people, clock):
    """The reminder carries the Reference ID, so answering it updates the case."""
    number = ask(rt)
    at(rt, clock, DAY2)
    (reminder,) = mails(rt, REMINDER)
    clock.current = DAY2.replace(hour=12)
    result = ingest(rt, reply_to(reminder.raw, sender=people["alice"]))
    assert (result.outcome, result.reason, result.case_number, result.case_status) == (
        "linked", "reply", number, "open")


def test_a_reply_on_day_4_stops_the_sequence(rt, people, clock):
    """The customer answered: no reminder #2 and no auto-close, and the timers say why."""
    number = ask(rt)
    at(rt, clock, DAY2)
    (reminder,) = mails(rt, REMINDER)
    clock.current = local(2026, 3, 6, 11)  # Friday: business day 4
    assert ingest(rt, reply_to(reminder.raw, sender=people["alice"])).case_status == "open"
    at(rt, clock, DAY5)
    at(rt, clock, DAY10)
    assert follow_ups(rt) == ["1"]
    assert case_row(rt, number).status == "open"
    states = {t.kind: t.outcome for t in timers(rt, number) if t.kind.startswith("follow_up")}
    assert states == {"follow_up_1": "sent", "follow_up_2": "stale"}  # the chain ended there


def test_an_out_of_office_on_day_3_does_not_stop_it(rt, people, clock):
    """An auto-reply is not a customer answer: reminder #2 still goes out."""
    number = ask(rt)
    at(rt, clock, DAY2)
    (reminder,) = mails(rt, REMINDER)
    clock.current = local(2026, 3, 5, 11)  # Thursday: business day 3
    ooo = reply_to(reminder.raw, sender=people["alice"], body="I am out of the office.",
                   message_id="<ooo-1@acme.example>",
                   extra_headers={"Auto-Submitted": "auto-replied"})
    result = ingest(rt, ooo)
    assert (result.outcome, result.reason, result.case_status) == (
        "ignored", "auto_reply", "awaiting_info")
    at(rt, clock, DAY5)
    assert follow_ups(rt) == ["1", "2"]
    assert case_row(rt, number).status == "awaiting_info"


def test_a_new_request_after_a_reply_restarts_the_timer(rt, people, clock):
    """Awaiting Info again (after the customer answered) starts a fresh 2/5/10 cycle."""
    number = ask(rt)
    at(rt, clock, DAY2)
    (reminder,) = mails(rt, REMINDER)
    clock.current = local(2026, 3, 6, 11)
    ingest(rt, reply_to(reminder.raw, sender=people["alice"]))
    clock.current = local(2026, 3, 9, 12)  # Monday: the analyst asks again
    post(rt, number, body="And the firmware version?")
    at(rt, clock, local(2026, 3, 11, 11, 59))
    assert follow_ups(rt) == ["1"]
    at(rt, clock, local(2026, 3, 11, 12))  # 2 business days after the second request
    assert follow_ups(rt) == ["1", "1"]
    assert "firmware" in body(mails(rt, REMINDER)[-1].raw)
    at(rt, clock, DAY10)  # the first cycle's close is stale
    assert case_row(rt, number).status == "awaiting_info"
    at(rt, clock, local(2026, 3, 16, 12))  # 5 business days after the second request
    at(rt, clock, local(2026, 3, 23, 12))  # 10
    assert follow_ups(rt) == ["1", "1", "2", "closed"]


def test_asking_again_while_awaiting_info_restarts_the_timer(rt, people, clock):
    """A second question the next day gives the customer two business days from then."""
    number = ask(rt)
    clock.current = local(2026, 3, 3, 10)
    post(rt, number, body="Also: which firmware?")
    at(rt, clock, DAY2)
    assert follow_ups(rt) == []
    at(rt, clock, local(2026, 3, 5, 10))
    assert follow_ups(rt) == ["1"]


def test_a_proposed_solution_starts_the_timer_too(rt, people, clock):
    """Solution Proposed waits on the customer like Awaiting Info does."""
    ask(rt, action="propose_solution")
    at(rt, clock, DAY2)
    (reminder,) = mails(rt, REMINDER)
    assert "We proposed a solution" in body(reminder.raw)


@pytest.mark.parametrize("severity", [Severity.CRITICAL, Severity.INCIDENT])
def test_no_automated_follow_ups_for_critical_cases(rt, people, clock, severity):
    """PureEngage 4.9: Critical / Prod Down cases are never chased or auto-closed."""
    number = ask(rt, severity=severity)
    at(rt, clock, DAY10)
    at(rt, clock, local(2026, 4, 30, 10))
    assert follow_ups(rt) == []
    assert case_row(rt, number).status == "awaiting_info"
    assert not [t for t in timers(rt, number) if t.kind.startswith("follow_up")]


def test_public_holidays_are_not_business_days(rt, people, clock):
    """Asked on the Thursday before Easter (Good Friday, Easter Monday): due Wednesday."""
    clock.current = local(2026, 4, 2, 10)
    ask(rt)
    at(rt, clock, local(2026, 4, 7, 17))
    assert follow_ups(rt) == []
    at(rt, clock, local(2026, 4, 8, 10))
    assert follow_ups(rt) == ["1"]


def test_due_time_follows_the_local_clock_across_dst(rt, people, clock):
    """Asked Friday 16:00 before the spring change: due Tuesday 16:00 CEST, 14:00 UTC."""
    clock.current = local(2026, 3, 27, 16)
    ask(rt)
    at(rt, clock, local(2026, 3, 31, 15, 59))
    assert follow_ups(rt) == []
    at(rt, clock, local(2026, 3, 31, 16))
    assert follow_ups(rt) == ["1"]


def test_after_an_outage_only_the_last_due_step_acts(rt, people, clock):
    """A first pass on day 10 closes the case without sending two stale reminders first."""
    number = ask(rt)
    report = at(rt, clock, DAY10)
    assert follow_ups(rt) == ["closed"]
    outcomes = {(f.kind, f.outcome) for f in report.fired if f.case == number}
    assert {("follow_up_1", "superseded"), ("follow_up_2", "superseded"),
            ("follow_up_close", "closed")} <= outcomes


def test_after_an_outage_the_row_shows_when_the_acting_step_was_due(rt, people, clock):
    """`case show` and the console list the auto-close due on day 10, not reminder #1's day 2
    (the row's own step, overtaken)."""
    number = ask(rt)
    at(rt, clock, DAY10 + MINUTE)
    [row] = [t for t in timers(rt, number) if t.kind == "follow_up_close"]
    assert row.due_at == DAY10


def test_after_a_shorter_outage_the_sequence_carries_on(rt, people, clock):
    """First pass on day 5: reminder #2 only; the auto-close still follows on day 10."""
    ask(rt)
    at(rt, clock, DAY5)
    assert follow_ups(rt) == ["2"]
    at(rt, clock, DAY10)
    assert follow_ups(rt) == ["2", "closed"]


def test_an_unknown_country_falls_back_to_a_calendar_without_holidays(rt, people, clock):
    """A bad stored country must not stop the scheduler for every organization."""
    from sqlalchemy import update

    from workflows.storage.models import Organization

    with rt.db.transaction() as s:
        s.execute(update(Organization).values(country="XX"))
    ask(rt)
    at(rt, clock, DAY2)
    assert follow_ups(rt) == ["1"]


def test_a_second_pass_at_the_same_time_does_nothing_new(rt, people, clock):
    """Re-running a pass is safe: every timer fired once."""
    ask(rt)
    first = at(rt, clock, DAY2)
    second = at(rt, clock, DAY2)
    assert [f.kind for f in first.fired if f.outcome == "sent"] == ["follow_up_1"]
    assert (second.fired, second.armed) == ((), 0)
    assert follow_ups(rt) == ["1"]


def test_a_restarted_scheduler_carries_on(rt, people, clock, settings):
    """Timers live in the database: a new process's scheduler sends reminder #2 on time."""
    from workflows.runtime import Runtime

    ask(rt)
    clock.current = DAY2
    first = EmbeddedScheduler(rt, interval=0.02)
    first.start()
    try:
        wait_until(lambda: follow_ups(rt) == ["1"])
    finally:
        first.stop()
    db = Database(settings.database_url, sqlite_synchronous="NORMAL")
    restarted = Runtime(settings=settings, db=db, key=KEY, transport=rt.transport, clock=clock)
    clock.current = DAY5
    second = EmbeddedScheduler(restarted, interval=0.02)
    second.start()
    try:
        wait_until(lambda: follow_ups(rt) == ["1", "2"])
    finally:
        second.stop()
        db.dispose()


def test_a_reminder_names_the_closing_time_in_the_organizations_zone(rt, people, clock):
    """Acme is in Berlin: the reminder says when the case closes in its time, zone named,
    and its HTML shows the question asked as text, line by line."""
    from tests.mail_kinds import visible_lines
    from tests.workflows.test_mail_html import MARKUP_AS_TEXT, html_part

    number = open_case(rt)
    post(rt, number, body="Which model?\nAnd which firmware?", action="request_info")
    at(rt, clock, DAY2)
    [reminder] = mails(rt, REMINDER)
    assert "closed as resolved on 2026-03-16 10:00 CET (Europe/Berlin)" in body(reminder.raw)
    shown = visible_lines(html_part(reminder.raw))
    assert [line for line in shown if MARKUP_AS_TEXT.search(line)] == []
    assert shown[shown.index("Which model?") + 1] == "And which firmware?"


def test_a_reminder_continues_the_thread_of_the_post_it_follows_up(rt, people, clock):
    """RFC 5322 3.6.4: In-Reply-To the analyst's post, References its chain plus the post."""
    import email

    number = open_case(rt)
    first = email.message_from_bytes(post(rt, number, action=None))
    ingest(rt, reply_to(first.as_bytes(), sender=people["alice"], message_id="<r1@acme.example>"))
    asked = email.message_from_bytes(post(rt, number))
    at(rt, clock, DAY2)
    [reminder] = [email.message_from_bytes(m.raw) for m in mails(rt, REMINDER)]
    assert reminder["In-Reply-To"] == asked["Message-ID"]
    assert reminder["References"].split() == [first["Message-ID"], "<r1@acme.example>",
                                              asked["Message-ID"]]
