"""SLA clocks: warnings and breach notices to the care team, the paused resolution clock, the
1-hour escalation of unanswered High/Critical cases.

Acme runs on Berlin time with German holidays and the default 08:00-18:00 calendar; the clock
starts on Monday 2026-03-02 10:00 there. Medium: response 4 business hours; High: response 2
business hours, resolution 2 business days (20 business hours); warnings at 25% left.
"""

from __future__ import annotations

import dataclasses

from tests.lifecycle.conftest import CARE_TEAM, body, case_row, local, mails, run, timers
from tests.support import close, ingest, open_case, post, reply_to
from workflows.clock.report import sla_report
from workflows.domain import Severity

WARNING, BREACH, ESCALATION = "sla_warning", "sla_breach", "unanswered_escalation"


def notices(rt, clock_name: str | None = None) -> list[str]:
    """SLA notices so far, as "warning:response", "breach:resolution", ..."""
    seen = []
    for m in mails(rt):
        if m.kind in (WARNING, BREACH):
            name = "response" if "response target" in m.subject else "resolution"
            if clock_name in (None, name):
                seen.append(f"{m.kind.removeprefix('sla_')}:{name}")
    return seen


def at(rt, clock, when):
    clock.current = when
    return run(rt)


def test_response_warning_then_breach_go_to_the_care_team_once(rt, people, clock):
    """Medium, no answer: warning at 3 business hours (25% left), breach at 4, once each."""
    open_case(rt)
    at(rt, clock, local(2026, 3, 2, 12, 59))
    assert notices(rt) == []
    at(rt, clock, local(2026, 3, 2, 13))
    at(rt, clock, local(2026, 3, 2, 14))
    at(rt, clock, local(2026, 3, 2, 17))
    assert notices(rt) == ["warning:response", "breach:response"]
    assert {tuple(m.recipients) for m in mails(rt) if m.kind in (WARNING, BREACH)} == {
        (CARE_TEAM,)}


def test_notice_names_the_case_and_the_missed_time_in_local_time(rt, people, clock):
    """The care team reads what was missed, when (organization's time), and a link."""
    number = open_case(rt)
    at(rt, clock, local(2026, 3, 2, 14))
    (breach,) = mails(rt, BREACH)
    text = body(breach.raw)
    assert number in breach.subject
    assert "2026-03-02 14:00 CET" in text
    assert f"/cases/{number}" in text
    assert breach.case_id == case_row(rt, number).id


def test_first_analyst_post_stops_the_response_clock(rt, people, clock):
    """An answer within the target: no response warning, no breach."""
    number = open_case(rt)
    clock.current = local(2026, 3, 2, 12)
    post(rt, number, body="We are looking into it.", action=None)
    at(rt, clock, local(2026, 3, 2, 17))
    assert notices(rt, "response") == []


def test_resolution_clock_pauses_while_awaiting_info(rt, people, clock):
    """Two days waiting on the customer do not count: the breach moves from Wednesday 10:00
    to Thursday 18:00."""
    number = open_case(rt, severity=Severity.HIGH)
    clock.current = local(2026, 3, 2, 12)
    sent = post(rt, number)  # 2 business hours used, then paused
    clock.current = local(2026, 3, 4, 10)
    ingest(rt, reply_to(sent, sender=people["alice"]))  # resumes with 18 hours left
    at(rt, clock, local(2026, 3, 4, 10, 30))
    assert notices(rt, "resolution") == []
    at(rt, clock, local(2026, 3, 5, 12, 59))  # 25% (5 h) left at Thursday 13:00
    assert notices(rt, "resolution") == []
    at(rt, clock, local(2026, 3, 5, 13))
    assert notices(rt, "resolution") == ["warning:resolution"]
    at(rt, clock, local(2026, 3, 5, 17, 59))
    at(rt, clock, local(2026, 3, 5, 18))
    assert notices(rt, "resolution") == ["warning:resolution", "breach:resolution"]


def test_each_notice_goes_out_once_however_often_the_clock_resumes(rt, people, clock):
    """After a breach, pausing and resuming the resolution clock sends no second notice."""
    number = open_case(rt, severity=Severity.HIGH)
    clock.current = local(2026, 3, 2, 10, 30)
    post(rt, number, body="Looking.", action=None)
    at(rt, clock, local(2026, 3, 3, 15))  # 25% of 20 business hours left
    at(rt, clock, local(2026, 3, 4, 10))  # breach
    clock.current = local(2026, 3, 4, 11)
    sent = post(rt, number)
    clock.current = local(2026, 3, 4, 12)
    ingest(rt, reply_to(sent, sender=people["alice"]))
    at(rt, clock, local(2026, 3, 6, 17))
    assert notices(rt, "resolution") == ["warning:resolution", "breach:resolution"]
    assert number in mails(rt, BREACH)[-1].subject
    resumed = [t for t in timers(rt, number) if t.kind.startswith("resolution")][-1]
    assert resumed.outcome == "already_notified"


def test_without_a_care_team_address_notices_are_recorded_only(rt, people, clock):
    """Nobody to mail: the breach is still recorded on the timer and in the audit log."""
    rt = dataclasses.replace(rt, settings=dataclasses.replace(rt.settings,
                                                              care_team_address=None))
    number = open_case(rt)
    at(rt, clock, local(2026, 3, 2, 14))
    assert notices(rt) == []
    outcomes = {t.kind: t.outcome for t in timers(rt, number)}
    assert outcomes["response_breach"] == "recorded"


def test_unanswered_high_case_is_escalated_after_one_business_hour(rt, people, clock):
    """LiveVox: escalation in 1 hour for High/Critical: the case is flagged, management told."""
    number = open_case(rt, severity=Severity.HIGH)
    at(rt, clock, local(2026, 3, 2, 10, 59))
    assert not case_row(rt, number).escalated
    at(rt, clock, local(2026, 3, 2, 11))
    assert case_row(rt, number).escalated
    (notice,) = mails(rt, ESCALATION)
    assert notice.recipients == ["managers@desk.example"]
    assert number in notice.subject


def test_the_hour_of_a_high_case_is_a_business_hour(rt, people, clock):
    """Opened Friday 17:30: escalated Monday 08:30, not during the weekend."""
    clock.current = local(2026, 3, 6, 17, 30)
    number = open_case(rt, severity=Severity.HIGH)
    at(rt, clock, local(2026, 3, 9, 8, 29))
    assert not case_row(rt, number).escalated
    at(rt, clock, local(2026, 3, 9, 8, 30))
    assert case_row(rt, number).escalated


def test_the_hour_of_a_critical_case_is_on_the_wall_clock(rt, people, clock):
    """Critical runs 24x7: opened on Saturday, escalated an hour later on Saturday."""
    clock.current = local(2026, 3, 7, 10)
    number = open_case(rt, severity=Severity.CRITICAL)
    at(rt, clock, local(2026, 3, 7, 11))
    assert case_row(rt, number).escalated


def test_an_answered_high_case_is_not_escalated(rt, people, clock):
    """An analyst post within the hour stops the escalation."""
    number = open_case(rt, severity=Severity.HIGH)
    clock.current = local(2026, 3, 2, 10, 45)
    post(rt, number, body="On it.", action=None)
    at(rt, clock, local(2026, 3, 2, 11))
    assert not case_row(rt, number).escalated
    assert mails(rt, ESCALATION) == []


def test_case_clocks_show_elapsed_remaining_and_pause(rt, people, clock):
    """case show: the resolution clock of a case waiting on the customer is paused."""
    from workflows.cases.views import case_detail

    number = open_case(rt, severity=Severity.HIGH)
    clock.current = local(2026, 3, 2, 12)
    post(rt, number)
    clock.current = local(2026, 3, 3, 12)
    with rt.db.transaction() as s:
        detail = case_detail(s, number, settings=rt.settings, now=rt.now())
    clocks = {c.name: c for c in detail.clocks}
    assert (clocks["response"].state, clocks["response"].elapsed_seconds,
            clocks["response"].breached) == ("stopped", 7200, False)
    assert (clocks["resolution"].state, clocks["resolution"].elapsed_seconds,
            clocks["resolution"].remaining_seconds) == ("paused", 7200, 18 * 3600)
    coming = {t.kind: t.state for t in detail.timers if t.state in ("pending", "planned")}
    assert coming == {"follow_up_1": "pending", "follow_up_2": "planned",
                      "follow_up_close": "planned"}


def test_sla_report_counts_cases_resolved_within_target(rt, people, clock):
    """Share of resolved cases within target; cancelled cases are not counted."""
    from workflows.cases import service as cases

    quick = open_case(rt, subject="quick")
    slow = open_case(rt, subject="slow")
    cancelled = open_case(rt, subject="cancelled")
    clock.current = local(2026, 3, 2, 11)
    for number in (quick, slow, cancelled):
        post(rt, number, body="Answer.", action=None)
    close(rt, quick)
    clock.current = local(2026, 3, 20, 11)  # 14 business days: Medium's 5 are long gone
    close(rt, slow)
    with rt.db.transaction() as s:
        cases.close_case(s, number=cancelled, cancelled=True, now=rt.now(), actor="test")
    with rt.db.transaction() as s:
        report = sla_report(s, rt.settings, organization="Acme")
    assert (report.total.cases, report.total.resolved_within_target,
            report.total.resolution_share, report.meets_goal) == (2, 1, 0.5, False)
    assert report.by_severity["medium"].answered_within_target == 2
