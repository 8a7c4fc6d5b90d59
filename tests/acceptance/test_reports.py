"""A scheduled case report, as Hooli's service manager sees it (issue 11 §5, scenario 4).

Hooli asked for a weekly report of its open and closed cases. The first goes out when it is
due -- not before, and once -- and the next one a week later.

Hooli's desk first counts business time one hour a week (Mondays 08:00-09:00), so the response
target of its unanswered case (4 business hours) is weeks away; then it moves to 24/7. The
pending timers move with the new calendar: the breach, now in the clock's past, fires on the
very next pass.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from tests.acceptance.browser import Browser
from tests.acceptance.deployment import TEAM, Deployment, clock_argv
from tests.acceptance.story import Story, assert_reads_right, telling

pytestmark = pytest.mark.acceptance

MANAGER = "service@hooli.example"
CONTACT = "gavin@hooli.example"
MINUTE = dt.timedelta(minutes=1)


def _tell(story: Story) -> None:
    desk = story.desk
    with story.step("setup"):
        story.facts["first"] = first = dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)
        done = desk.cli_many(
            ("org", "add", "Hooli", "--domain", "hooli.example", "--tz", "America/New_York",
             "--notify", "ops@hooli.example", "--hours", "08:00-09:00", "--workdays", "mon"),
            ("contact", "add", "Hooli", CONTACT, "--name", "Gavin"),
            ("case", "open", "--org", "Hooli", "--contact", CONTACT, "--subject",
             "Agents cannot log in & see errors"),
            ("case", "open", "--org", "Hooli", "--contact", CONTACT, "--subject",
             "Wallboard shows stale numbers"),
            ("case", "close", "CASE-1002"),
            ("notice", "report", "add", "Hooli", "--every", "weekly", "--to", MANAGER,
             "--first", first.isoformat()))
        story.facts["cases"] = (done[2].one["number"], done[3].one["number"])
    later = first + dt.timedelta(hours=3)  # past a 24/7 response target of 4 hours
    for name, at in (("clock: before", first - MINUTE), ("clock: due", first + MINUTE),
                     ("clock: due again", first + 2 * MINUTE), ("clock: hours later", later)):
        with story.step(name):
            desk.clock(at)
    with story.step("hooli goes 24/7, the next pass"):
        desk.cli_many(("org", "set", "Hooli", "--hours", "00:00-24:00", "--workdays",
                       "mon-sun"), clock_argv(later))
    with story.step("clock: a week later"):
        desk.clock(first + dt.timedelta(days=7, minutes=1))
    story.mail("clock: due", to=MANAGER, kind="case_report")


@pytest.fixture(scope="module")
def report(deployment: Deployment) -> Iterator[Story]:
    story = Story(deployment)
    with telling(story):
        _tell(story)
    yield story


def test_no_report_before_it_is_due(report):
    assert report.mail("clock: before", to=MANAGER) == []


def test_report_is_delivered_when_due_listing_the_cases(report):
    [mail] = report.mail("clock: due", to=MANAGER)
    text = mail.text()
    assert all(number in text for number in report.fact("cases")), text


def test_report_is_delivered_once(report):
    assert report.mail("clock: due again", to=MANAGER) == []


def test_next_report_a_week_later(report):
    assert len(report.mail("clock: a week later", to=MANAGER)) == 1


def test_timer_made_overdue_by_a_new_calendar_fires_on_the_next_pass(report):
    """Weeks away on the old calendar; past due on the new one: the next pass breaches it."""
    open_case = report.fact("cases")[0]
    before = [m for step in ("clock: due", "clock: hours later")
              for m in report.mail(step, to=TEAM)]
    assert before == []
    breached = [m for m in report.mail("hooli goes 24/7, the next pass", to=TEAM)
                if open_case in m.subject]
    assert len(breached) == 1 and "missed" in breached[0].subject, breached


@pytest.mark.parametrize("kind", ["case_report"])
def test_html_part_reads_right_in_a_browser(report, browser: Browser, kind):
    assert_reads_right(browser, report, kind)
