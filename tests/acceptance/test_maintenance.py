"""A planned maintenance, as Initech sees it (issue 11 §5, scenario 3).

The scheduler announces next week's maintenance window to Initech's distribution list. Initech's
NOC mail server greylists the first attempt (451); the other recipient gets the notice at once.
The clock retries the deferred delivery once its backoff has passed -- not before -- and each
recipient ends with exactly one copy.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest

from tests.acceptance.browser import Browser
from tests.acceptance.deployment import Deployment
from tests.acceptance.story import Story, assert_reads_right, telling

pytestmark = pytest.mark.acceptance

NOC, CTO = "noc@initech.example", "cto@initech.example"
DESK_ZONE = ZoneInfo("America/Denver")  # notice_zone: where the weekly windows are defined
WINDOW_DAYS = (1, 3, 5)  # Tue, Thu, Sat 23:00-04:00 (the default weekly windows)
IMPACT = "Calls may drop for up to 5 minutes & queues restart."
MINUTE = dt.timedelta(minutes=1)


def _windows(now: dt.datetime) -> list[dt.datetime]:
    """Weekly window starts 7 to 14 days ahead (the notice lead the rules ask for)."""
    starts = []
    for offset in range(7, 16):
        day = (now + dt.timedelta(days=offset)).astimezone(DESK_ZONE).date()
        start = dt.datetime.combine(day, dt.time(23, 0), DESK_ZONE)
        if day.weekday() in WINDOW_DAYS and now + dt.timedelta(days=7) <= start \
                <= now + dt.timedelta(days=14):
            starts.append(start)
    return starts


def _create(desk: Deployment) -> str:
    """A planned notice in the first window the rules accept (blackouts may refuse some)."""
    refusals = []
    for start in _windows(dt.datetime.now(dt.UTC)):
        done = desk.cli("notice", "create", "planned", "--title", "Core switch upgrade",
                        "--impact", IMPACT, "--start", start.isoformat(),
                        "--end", (start + dt.timedelta(hours=5)).isoformat(),
                        "--org", "Initech", expect=None)
        if done.code == 0:
            return str(done.one["reference"])
        refusals.append(done.stderr.strip())
    raise AssertionError(f"every window of the next weeks was refused: {refusals}")


def _tell(story: Story) -> None:
    desk = story.desk
    with story.step("setup"):
        desk.cli("org", "add", "Initech", "--domain", "initech.example", "--tz",
                 "America/Chicago", "--notify", f"{NOC},{CTO}")
        story.facts["ref"] = ref = _create(desk)
    with story.step("send, NOC greylists"):
        desk.sink.defer_recipient(NOC, 1)
        story.facts["sent"] = sent = dt.datetime.now(dt.UTC)
        _send, show = desk.cli_many(("notice", "send", ref), ("notice", "show", ref))
        story.facts["show"] = show.one
    story.mail("send, NOC greylists", to=CTO, kind="planned")
    with story.step("clock: before the backoff"):
        desk.clock(sent + MINUTE)
    with story.step("clock: retry"):
        desk.clock(sent + 6 * MINUTE)
    story.mail("clock: retry", to=NOC, kind="planned")
    with story.step("clock: later"):
        desk.clock(sent + 30 * MINUTE)


@pytest.fixture(scope="module")
def maintenance(deployment: Deployment) -> Iterator[Story]:
    story = Story(deployment)
    with telling(story):
        _tell(story)
    yield story


def test_notice_reaches_the_recipient_that_accepts(maintenance):
    [notice] = maintenance.mail("send, NOC greylists", to=CTO)
    assert maintenance.fact("ref") in notice.subject


def test_greylisted_delivery_is_deferred_not_failed(maintenance):
    """The 451 was heard, and the delivery waits for a retry."""
    assert (NOC,) in maintenance.desk.sink.refusals
    assert maintenance.mail("send, NOC greylists", to=NOC) == []
    assert "deferred" in str(maintenance.fact("show")), maintenance.fact("show")


def test_deferred_delivery_waits_for_its_backoff(maintenance):
    assert maintenance.mail("clock: before the backoff", to=NOC) == []


def test_deferred_delivery_is_retried_by_the_clock(maintenance):
    [notice] = maintenance.mail("clock: retry", to=NOC)
    assert maintenance.fact("ref") in notice.subject


def test_each_recipient_gets_one_copy(maintenance):
    mails = [m for step in maintenance.steps for m in maintenance.during(step)]
    assert sorted(r for m in mails for r in m.rcpt_tos) == [CTO, NOC]


@pytest.mark.parametrize("kind", ["planned"])
def test_html_part_reads_right_in_a_browser(maintenance, browser: Browser, kind):
    assert_reads_right(browser, maintenance, kind)
