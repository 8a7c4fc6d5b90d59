"""Every clock-driven promise of the README is kept by some acceptance scenario.

The list below is explicit: each promise is quoted from README.md (whitespace aside) and mapped
to the scenario tests that prove it as the customer sees it. A promise reworded or dropped in
the README fails here until the list is reviewed; a job added to the clock's registry
(``workflows.clock.jobs.JOBS``, which the README's ``timers run`` row names) fails here until a
scenario covers it. The few clock promises judged elsewhere say where, and why not here.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from workflows.clock.jobs import JOBS

pytestmark = pytest.mark.acceptance

HERE = Path(__file__).parent
README = HERE.parents[1] / "README.md"

# README phrase -> the scenario tests ("module::test") that keep it.
PROMISES: dict[str, tuple[str, ...]] = {
    "`follow_up_days` (`[2, 5, 10]`)": (
        "test_desk_week::test_no_reminder_before_two_business_days",
        "test_desk_week::test_reminder_one_after_two_business_days",
        "test_desk_week::test_reminder_two_after_five_business_days",
        "test_desk_week::test_case_closes_after_ten_business_days_with_a_closing_mail"),
    "`care_team_address` (SLA warnings and breaches; unset: recorded only)": (
        "test_desk_week::test_care_team_is_warned_before_the_response_target_is_breached",),
    "`sla_warning_share` (`0.25`)": (
        "test_desk_week::test_care_team_is_warned_before_the_response_target_is_breached",),
    "`escalate_unanswered_hours` (`1`)": (
        "test_desk_week::test_unanswered_high_case_is_escalated_after_one_business_hour",),
    "`purge_after_days` (`30`)": (
        "test_desk_week::test_attachments_of_a_case_closed_30_days_are_purged",),
    "`follow_up_minutes` (`30`)": (
        "test_incident::test_first_follow_up_30_minutes_after_the_alert_carries_the_status",
        "test_incident::test_follow_ups_go_on_after_a_serve_restart",
        "test_incident::test_a_follow_up_is_sent_once",
        "test_incident::test_all_clear_ends_the_follow_ups"),
    "`rca_business_days` (`5`)": (
        "test_incident::test_care_team_is_reminded_of_an_overdue_rca",),
    "retry schedule": (
        "test_maintenance::test_greylisted_delivery_is_deferred_not_failed",
        "test_maintenance::test_deferred_delivery_waits_for_its_backoff",
        "test_maintenance::test_deferred_delivery_is_retried_by_the_clock",
        "test_maintenance::test_each_recipient_gets_one_copy"),
    "retried by the clock's `case-mail` job after `mail_retry_minutes`": (
        "test_desk_week::test_case_mail_refused_with_451_is_retried_by_the_clock",
        "test_desk_week::test_case_mail_retried_after_451_arrives_once"),
    "pending timers of its cases move with a new calendar": (
        "test_desk_week::test_no_reminder_before_two_business_days",),
    "and one now overdue fires on the next scheduler pass": (
        "test_reports::test_timer_made_overdue_by_a_new_calendar_fires_on_the_next_pass",),
    "scheduled case reports": (
        "test_reports::test_no_report_before_it_is_due",
        "test_reports::test_report_is_delivered_when_due_listing_the_cases",
        "test_reports::test_report_is_delivered_once",
        "test_reports::test_next_report_a_week_later"),
}

# The clock's jobs (workflows.clock.jobs.JOBS, named in the README's `timers run` row) -> scenarios.
JOB_SCENARIOS: dict[str, tuple[str, ...]] = {
    "follow-ups": PROMISES["`follow_up_days` (`[2, 5, 10]`)"],
    "sla": PROMISES["`sla_warning_share` (`0.25`)"],
    "escalations": PROMISES["`escalate_unanswered_hours` (`1`)"],
    "purge": PROMISES["`purge_after_days` (`30`)"],
    "incident-follow-ups": PROMISES["`follow_up_minutes` (`30`)"],
    "rca-reminders": PROMISES["`rca_business_days` (`5`)"],
    "case-reports": PROMISES["scheduled case reports"],
    "notice-deliveries": PROMISES["retry schedule"],
    "case-mail": PROMISES["retried by the clock's `case-mail` job after `mail_retry_minutes`"],
}

# Clock promises proven below the product's outside, with the reason they are not judged here.
JUDGED_ELSEWHERE: dict[str, str] = {
    "every `scheduler_interval` (60 s) the clock's pass":
        "a real-time cadence (a minute at least) that `timers run --at` cannot move: "
        "tests/clock runs serve's scheduler and beat's task and checks every job is reached",
    "every 30 s a sweep that re-enqueues messages left `received`":
        "recovery from a lost broker publish, not visible from outside without breaking Redis: "
        "tests/test_celery.py::test_sweep_reenqueues_a_received_row_without_broker_message",
    "Files of mail never linked to a case go `triage_attachment_retention_days` (30) after it "
    "arrived and its triage item was resolved":
        "a rewrite of the raw mail the database keeps, nothing that leaves the desk: "
        "tests/lifecycle/test_purge_raw.py::"
        "test_triage_only_files_follow_their_retention_after_the_item_is_resolved",
}


def _readme() -> str:
    return " ".join(README.read_text(encoding="utf-8").split())


def _scenario_tests() -> set[str]:
    """``module::test`` for every test function of the scenario modules."""
    found = set()
    for path in HERE.glob("test_*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        found.update(f"{path.stem}::{node.name}" for node in tree.body
                     if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"))
    return found


@pytest.mark.parametrize("promise", sorted([*PROMISES, *JUDGED_ELSEWHERE]))
def test_promise_is_still_in_the_readme(promise):
    """A promise reworded or dropped in the README must be reviewed here."""
    assert " ".join(promise.split()) in _readme()


def test_every_listed_scenario_exists():
    tests = _scenario_tests()
    missing = sorted({t for ts in [*PROMISES.values(), *JOB_SCENARIOS.values()] for t in ts}
                     - tests)
    assert missing == []


def test_every_job_of_the_clock_is_covered_by_a_scenario():
    """A job added to the registry (and so to the README) needs a scenario first."""
    assert sorted(job.name for job in JOBS) == sorted(JOB_SCENARIOS)


def test_readme_names_every_job_of_the_clock():
    row = re.search(r"every job of the registry \(([^)]*)\)", _readme())
    assert row, "the README's `timers run` row no longer lists the clock's jobs"
    assert sorted(re.findall(r"`([a-z-]+)`", row.group(1))) == sorted(JOB_SCENARIOS)
