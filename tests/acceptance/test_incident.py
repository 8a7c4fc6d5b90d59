"""An incident, as Globex's operations team sees it (issue 11 §5, scenario 2).

The incident commander sends an alert; follow-ups every 30 minutes carry the current status
until the all-clear; ``serve`` is restarted between two follow-ups and the cadence goes on
(no follow-up lost, none doubled); after the all-clear nothing more follows, and the care team
is reminded that the RCA is overdue 5 business days later. Time moves only through ``ticketgate
timers run --at``, measured from the moment the alert went out.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest

from tests.acceptance.browser import Browser
from tests.acceptance.deployment import TEAM, Deployment, clock_argv
from tests.acceptance.story import Story, assert_reads_right, telling

pytestmark = pytest.mark.acceptance

OPS = "ops@globex.example"
ZONE = "Europe/Berlin"
STATUS_1 = "The carrier is rerouting our trunks & calls recover slowly."
ALL_CLEAR = ("Service restored at all sites.", "Sign out & in again to reconnect your phone.")
MINUTE = dt.timedelta(minutes=1)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _tell(story: Story) -> None:
    desk = story.desk
    with story.step("alert"):
        story.facts["started"] = started = _now() - 10 * MINUTE
        setup = desk.cli_many(
            ("org", "add", "Globex", "--domain", "globex.example", "--tz", ZONE,
             "--notify", OPS),
            ("notice", "create", "incident", "--title", "Inbound calls drop",
             "--impact", "Inbound calls drop after ringing & may not reach agents",
             "--details", "A carrier trunk fails.", "--recommendation",
             "Use the emergency desktop.", "--start", started.isoformat(), "--org", "Globex"))
        story.facts["ref"] = ref = setup[-1].one["reference"]
        story.facts["sent"] = sent = _now()
        desk.cli("notice", "send", ref)
    story.mail("alert", to=OPS, kind="incident")

    with story.step("status, then follow-up 1"):
        desk.cli_many(("notice", "update", ref, "--status", STATUS_1),
                      clock_argv(sent + 31 * MINUTE))
    story.mail("status, then follow-up 1", to=OPS, kind="follow_up", lines=(STATUS_1,))

    with story.step("serve restarts"):
        desk.restart_serve()
    with story.step("follow-up 2"):
        desk.clock(sent + 61 * MINUTE)
    story.mail("follow-up 2", to=OPS, kind="follow_up")
    with story.step("follow-up 2 again"):
        desk.clock(sent + 62 * MINUTE)

    with story.step("all-clear"):
        desk.cli("notice", "all-clear", ref, "--text", "\n".join(ALL_CLEAR))
        story.facts["cleared"] = cleared = _now()
    story.mail("all-clear", to=OPS, kind="all_clear", lines=ALL_CLEAR)
    with story.step("after the all-clear"):
        desk.clock(sent + 121 * MINUTE)
    with story.step("rca overdue"):
        # 5 business days (America/Denver, US holidays): two weeks leave room for any holiday.
        desk.clock(cleared + dt.timedelta(days=14))
    story.mail("rca overdue", to=TEAM, kind="rca_reminder")


@pytest.fixture(scope="module")
def incident(deployment: Deployment) -> Iterator[Story]:
    story = Story(deployment)
    with telling(story):
        _tell(story)
    yield story


def test_alert_goes_to_the_distribution_list(incident):
    [alert] = incident.mail("alert", to=OPS)
    assert incident.fact("ref") in alert.subject


def test_first_follow_up_30_minutes_after_the_alert_carries_the_status(incident):
    [follow_up] = incident.mail("status, then follow-up 1", to=OPS)
    assert incident.fact("ref") in follow_up.subject
    assert STATUS_1 in " ".join(follow_up.text().split())


def test_follow_ups_go_on_after_a_serve_restart(incident):
    """The cadence lives in the database: after the restart the next slot goes out."""
    assert incident.mail("serve restarts", to=OPS) == []
    [follow_up] = incident.mail("follow-up 2", to=OPS)
    assert incident.fact("ref") in follow_up.subject


def test_a_follow_up_is_sent_once(incident):
    """Another pass within the same 30 minutes sends nothing."""
    assert incident.mail("follow-up 2 again", to=OPS) == []


def test_all_clear_ends_the_follow_ups(incident):
    [clear] = incident.mail("all-clear", to=OPS)
    assert incident.fact("ref") in clear.subject
    assert incident.mail("after the all-clear", to=OPS) == []


def test_alert_follow_ups_and_all_clear_thread_together(incident):
    """Every mailing of the incident names one common parent in References (RFC 5322 3.6.4),
    so a mail program shows one conversation, not one thread per follow-up; each keeps a
    Message-ID of its own."""
    mails = [m for step in ("alert", "status, then follow-up 1", "follow-up 2", "all-clear")
             for m in incident.mail(step, to=OPS)]
    roots = {m.message["References"] for m in mails}
    assert len(mails) == 4 and len(roots) == 1, roots
    [root] = roots
    assert root.startswith(f"<notice.{incident.fact('ref')}.")
    assert len({m.message_id for m in mails}) == 4 and root not in {m.message_id for m in mails}


def test_care_team_is_reminded_of_an_overdue_rca(incident):
    [reminder] = incident.mail("rca overdue", to=TEAM)
    assert incident.fact("ref") in reminder.subject + reminder.text()


def test_alert_shows_the_start_in_the_organizations_zone(incident):
    """Berlin reads Berlin time, with the zone named (DOMAIN: times in the recipient's zone)."""
    [alert] = incident.mail("alert", to=OPS)
    local = incident.fact("started").astimezone(ZoneInfo(ZONE))
    text = alert.text()
    assert local.strftime("%H:%M") in text
    assert local.tzname() in text or ZONE in text, text


@pytest.mark.parametrize("kind", ["incident", "follow_up", "all_clear", "rca_reminder"])
def test_html_part_reads_right_in_a_browser(incident, browser: Browser, kind):
    assert_reads_right(browser, incident, kind)
