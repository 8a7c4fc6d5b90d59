"""A desk's week, as the customer sees it (issue 11 §5, scenario 1).

Alice, a designated contact of Acme (Berlin), writes to the open-case mailbox and gets the
case's acknowledgement; an analyst asks her for information through the API; her reply, threaded
to our mail, lands on the case. The analyst asks again (the first try meets a 451 and is retried
by the clock); nobody answers: reminders go out after 2 and 5 business days, the case closes
after 10 with a closing mail, and its attachment is purged 30 days later. Meanwhile a High case
nobody answers is escalated and its SLA warned and breached to the care team, and Bob's mail to
the triage mailbox is answered and opened as a case by an analyst.

Time moves only through ``ticketgate timers run --at``; every "due" moment is computed here,
on an independent walk of the business calendar (``workdays``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest

from tests.acceptance.browser import Browser
from tests.acceptance.deployment import CARE, MANAGERS, NEW, TEAM, Deployment, clock_argv
from tests.acceptance.sink import Received
from tests.acceptance.story import Story, assert_reads_right, case_of, telling
from tests.acceptance.workdays import add_business_days, add_business_time

pytestmark = pytest.mark.acceptance

ZONE = "Europe/Berlin"
ALICE, BOB = "alice@acme.example", "bob@acme.example"
ANALYST = "analyst@desk.example"
ASK = ("Which client version do you run?", "And the gateway & firmware, please.")
ASK_AGAIN = ("Thanks. Please also send the router log", "of the last hour & the one before.")
TRIAGE_ANSWER = ("We are on it.", "Expect news within the hour & thanks for writing.")
MINUTE, HOUR = dt.timedelta(minutes=1), dt.timedelta(hours=1)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _status(desk: Deployment, token: str, number: str) -> dict[str, object]:
    code, body = desk.api("GET", f"/cases/{number}", token)
    assert code == 200, body
    return dict(body)


def _triage(desk: Deployment, token: str) -> list[int]:
    """The pending triage items, as an analyst lists them."""
    code, body = desk.api("GET", "/triage", token)
    assert code == 200, f"an analyst cannot list triage: {code} {body}"
    return [item["id"] for item in body["items"]]


def _tell(story: Story) -> None:
    desk, sink = story.desk, story.desk.sink
    with story.step("setup"):
        story.facts["t0"] = t0 = _now()
        *_, issued, high = desk.cli_many(
            ("org", "add", "Acme", "--domain", "acme.example", "--tz", ZONE,
             "--notify", "ops@acme.example"),
            ("contact", "add", "Acme", ALICE, "--name", "Alice Adler"),
            ("contact", "add", "Acme", BOB, "--name", "Bob Berg"),
            ("user", "add", ANALYST, "--role", "analyst", "--no-password"),
            ("token", "create", ANALYST, "--name", "acceptance"),
            ("case", "open", "--org", "Acme", "--contact", BOB, "--subject",
             "Call queue stuck", "--severity", "high"))
        story.facts["token"] = token = issued.one["token"]
        story.facts["high"] = high.one["number"]

    with story.step("alice writes"):
        desk.send_mail(sender=ALICE, to=NEW, subject="VPN drops every hour",
                       body="Since Monday the VPN drops.\nEvery hour & on the hour.",
                       attachment=("vpn.log", b"09:00 drop\n10:00 drop\n"))
        sink.wait_for(lambda ms: any(ALICE in m.rcpt_tos for m in ms), "the acknowledgement")
    [ack] = story.mail("alice writes", to=ALICE, kind="new_case_ack")
    story.facts["case"] = number = case_of(ack)

    with story.step("analyst asks"):
        code, body = desk.api("POST", f"/cases/{number}/updates", token,
                              {"body": "\n".join(ASK), "action": "request_info"})
        assert code == 201, body
        sink.wait_for(lambda ms: len(ms) > ack.seq + 1, "the analyst's question")
    [question] = story.mail("analyst asks", to=ALICE, kind="analyst_post", lines=ASK)

    with story.step("alice replies"):
        desk.send_mail(sender=ALICE, to=NEW, subject=f"Re: {question.subject}",
                       body="Client 4.2, gateway firmware 7.1.\n\n> " + ASK[0],
                       reply_to=question.message)
        desk.wait_until(lambda: _status(desk, token, number)["status"] == "open",
                        "alice's reply to reopen the case")
    story.facts["after reply"] = _status(desk, token, number)

    with story.step("analyst asks again, greylisted"):
        sink.defer_recipient(ALICE, 1)
        story.facts["t1"] = t1 = _now()
        posted = desk.cli("case", "post", number, "--body", "\n".join(ASK_AGAIN),
                          "--request-info").one
        story.facts["asked again"] = f"<{posted['message_id']}>"
    with story.step("clock: retry"):
        story.facts["retry pass"] = desk.clock(t1 + 10 * MINUTE)
    story.mail("clock: retry", to=ALICE, kind="analyst_post", lines=ASK_AGAIN)

    # The unanswered High case: escalated after 1 business hour; its response target is 2bh,
    # warned when a quarter of it is left (1.5bh).
    for name, hours in (("escalation and warning", 1.5), ("breach", 2.0)):
        with story.step(f"clock: high {name}"):
            desk.clock(add_business_time(t0, hours * HOUR, ZONE) + MINUTE)
    story.mail("clock: high escalation and warning", to=MANAGERS,
               kind="unanswered_escalation")
    story.mail("clock: high escalation and warning", to=TEAM, kind="sla_warning")
    story.mail("clock: high breach", to=TEAM, kind="sla_breach")

    # Acme closes on the day reminder #1 was due: the pending timers move a business day.
    first_due = add_business_days(t1, 2, ZONE)
    closed = first_due.astimezone(ZoneInfo(ZONE)).date()
    due = {n: add_business_days(t1, n, ZONE, [closed]) for n in (2, 5, 10)}
    story.facts["due"] = due
    with story.step("clock: before reminder 1"):  # Acme's change sends nothing itself
        desk.cli_many(("org", "set", "Acme", "--add-closed", closed.isoformat()),
                      clock_argv(due[2] - HOUR))
    for name, at in (("clock: reminder 1", due[2] + MINUTE),
                     ("clock: reminder 2", due[5] + MINUTE),
                     ("clock: before close", due[10] - HOUR),
                     ("clock: close", due[10] + MINUTE)):
        with story.step(name):
            desk.clock(at)
    for step in ("clock: reminder 1", "clock: reminder 2"):
        story.mail(step, to=ALICE, subject="Reminder:", kind="follow_up_reminder",
                   lines=ASK_AGAIN)
    story.mail("clock: close", to=ALICE, subject=" closed:", kind="follow_up_closed",
               lines=ASK_AGAIN)
    story.facts["closed"] = _status(desk, token, number)
    with story.step("clock: purge"):
        desk.clock(due[10] + MINUTE + dt.timedelta(days=30) + HOUR)
    story.facts["purged"] = _status(desk, token, number)


def _tell_triage(story: Story) -> None:
    desk, sink, token = story.desk, story.desk.sink, story.fact("token")
    with story.step("bob writes to triage"):
        desk.send_mail(sender=BOB, to=CARE, subject="Invoice shows the wrong VAT",
                       body="Our invoice 2026-11 shows 19% & we are exempt.")
        desk.wait_until(lambda: _triage(desk, token) != [], "bob's mail in triage")
    with story.step("analyst lists triage"):
        [item] = _triage(desk, token)
    with story.step("analyst answers triage"):
        story.facts["triage reply"] = desk.api("POST", f"/triage/{item}/reply", token,
                                               {"body": "\n".join(TRIAGE_ANSWER)})
        sink.wait_for(lambda ms: any(BOB in m.rcpt_tos and "VAT" in m.subject for m in ms),
                      "the triage reply")
    story.mail("analyst answers triage", to=BOB, kind="triage_reply", lines=TRIAGE_ANSWER)
    with story.step("analyst opens triage"):
        code, opened = desk.api("POST", f"/triage/{item}/open", token)
        story.facts["triage open"] = (code, opened)
        assert code == 200, opened


@pytest.fixture(scope="module")
def week(deployment: Deployment) -> Iterator[Story]:
    story = Story(deployment)
    with telling(story):
        _tell(story)
    triage = Story(deployment, facts={"token": story.facts.get("token")})
    with telling(triage):
        _tell_triage(triage)
    story.facts["triage"] = triage
    yield story


# -- a customer writes, an analyst answers, the customer replies -----------------------------
def test_mail_to_the_open_case_mailbox_is_acknowledged_with_the_case_reference(week):
    """Alice's first mail opens a case; she is told its number and gets its reference."""
    [ack] = week.mail("alice writes", to=ALICE)
    assert case_of(ack) == week.fact("case") and week.fact("case").startswith("CASE-")
    assert week.fact("case") in ack.text()


def test_the_analysts_question_reaches_the_customer_on_the_case_thread(week):
    """The API post goes to Alice, tagged with the case reference."""
    [question] = week.mail("analyst asks", to=ALICE)
    assert case_of(question) == week.fact("case")
    assert ASK[1] in question.text()


def test_a_reply_threaded_to_our_mail_lands_on_the_case_and_reopens_it(week):
    """Awaiting Info + the contact's threaded reply -> Open, with her words on the case."""
    case = week.fact("after reply")
    assert case["status"] == "open"
    assert any("Client 4.2" in u["visible_text"] for u in case["updates"]
               if u["direction"] == "inbound")


# -- case mail after a temporary failure -------------------------------------------------------
def _copies(week: Story, steps: tuple[str, ...]) -> int:
    wanted = week.fact("asked again")
    return sum(m.message_id == wanted for step in steps for m in week.during(step))


def test_case_mail_refused_with_451_is_retried_by_the_clock(week):
    """The sink greylists Alice once; by the clock's next pass the question is delivered."""
    assert week.desk.sink.refusals, "the sink never refused anything"
    assert _copies(week, ("analyst asks again, greylisted", "clock: retry")) == 1, (
        week.desk.logs())


def test_case_mail_retried_after_451_arrives_once(week):
    """A retry is not a resend: one copy in the whole week."""
    assert _copies(week, tuple(week.steps)) == 1


# -- the auto follow-up: 2, 5 and 10 business days ----------------------------------------------
def _news(week: Story, step: str) -> list[Received]:
    """Alice's mail of ``step`` other than the greylisted question (which a real-time clock,
    Celery beat, may deliver during any step)."""
    return [m for m in week.mail(step, to=ALICE) if m.message_id != week.fact("asked again")]


def test_no_reminder_before_two_business_days(week):
    """Reminder #1 waits for 2 business days (Acme's closed day not counted)."""
    assert _news(week, "clock: before reminder 1") == []


def test_reminder_one_after_two_business_days(week):
    [reminder] = _news(week, "clock: reminder 1")
    assert case_of(reminder) == week.fact("case")


def test_reminder_two_after_five_business_days(week):
    [reminder] = _news(week, "clock: reminder 2")
    assert case_of(reminder) == week.fact("case")


def test_case_closes_after_ten_business_days_with_a_closing_mail(week):
    """Not a minute early; then closed as resolved, and Alice is told."""
    assert _news(week, "clock: before close") == []
    [closing] = _news(week, "clock: close")
    assert case_of(closing) == week.fact("case")
    closed = week.fact("closed")
    assert (closed["status"], closed["resolution"]) == ("closed", "resolved")


def test_attachments_of_a_case_closed_30_days_are_purged(week):
    """Alice's log file is gone a month after closure (the record of it stays)."""
    [log] = week.fact("purged")["attachments"]
    assert log["filename"] == "vpn.log" and log["purged_at"] is not None


# -- the unanswered High case ------------------------------------------------------------------
def test_unanswered_high_case_is_escalated_after_one_business_hour(week):
    [mail] = week.mail("clock: high escalation and warning", to=MANAGERS)
    assert week.fact("high") in mail.subject


def test_care_team_is_warned_before_the_response_target_is_breached(week):
    [warning] = week.mail("clock: high escalation and warning", to=TEAM)
    [breach] = week.mail("clock: high breach", to=TEAM)
    assert week.fact("high") in warning.subject and "close to" in warning.subject
    assert week.fact("high") in breach.subject and "missed" in breach.subject


# -- triage is the analysts' work too ----------------------------------------------------------
def test_analyst_answers_a_mail_waiting_in_triage(week):
    """README: analysts work triage. Bob gets the analyst's answer."""
    triage = week.fact("triage")
    [answer] = triage.mail("analyst answers triage", to=BOB)
    assert TRIAGE_ANSWER[0] in answer.text()


def test_analyst_opens_a_case_from_triage(week):
    triage = week.fact("triage")
    code, opened = triage.fact("triage open")
    assert code == 200 and str(opened.get("case", "")).startswith("CASE-"), opened


# -- what every mail looks like in a browser ---------------------------------------------------
@pytest.mark.parametrize("kind", ["new_case_ack", "analyst_post", "follow_up_reminder",
                                  "follow_up_closed", "unanswered_escalation", "sla_warning",
                                  "sla_breach"])
def test_html_part_reads_right_in_a_browser(week, browser: Browser, kind):
    """No markup shown as text; the analyst's lines stay lines."""
    assert_reads_right(browser, week, kind)


def test_triage_reply_reads_right_in_a_browser(week, browser: Browser):
    assert_reads_right(browser, week.fact("triage"), "triage_reply")
