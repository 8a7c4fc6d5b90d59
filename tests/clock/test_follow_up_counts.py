"""Follow-up mail counts in English when a desk sets its numbers to 1 (``follow_up_days =
[1, 2, 3]``, ``reopen_days = 1``): "1 business day", "within 1 day", read as the contact
receives them after ``ticketgate timers run --at`` on a real SMTP sink."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.clock.conftest import _MAIN, WAIT, Done, ticketgate, ticketgate_env  # noqa: F401
from tests.support import open_case, post

ALICE = "alice@acme.example"


def test_reminder_and_close_say_one_business_day_and_one_day(rt, people, settings, sink):
    env = ticketgate_env(settings, sink[1]) | {"TICKETGATE_FOLLOW_UP_DAYS": "1,2,3",
                                                "TICKETGATE_REOPEN_DAYS": "1"}

    def tg(*argv: str) -> Done:
        proc = subprocess.run([sys.executable, "-c", _MAIN, *argv], env=env,
                              capture_output=True, text=True, timeout=WAIT, check=False)
        return Done(proc.returncode, [json.loads(line) for line in proc.stdout.splitlines()
                                      if line.strip()], proc.stderr)

    number = open_case(rt)
    post(rt, number)  # Awaiting Info: the follow-up timer starts
    timers = {t["kind"]: t for t in tg("case", "show", number).out[0]["timers"]}
    for kind in ("follow_up_1", "follow_up_2", "follow_up_close"):
        assert tg("timers", "run", "--at", timers[kind]["due_at"]).code == 0
        timers = {t["kind"]: t for t in tg("case", "show", number).out[0]["timers"]}
    first, _, closed = sink[0].to(ALICE)
    for mail, words in ((first, ("it has been 1 business day.",)),
                        (closed, ("for 3 business days", "within 1 day "))):
        for kind in ("plain", "html"):
            part = mail.get_body((kind,)).get_content()
            assert all(w in part for w in words), part
            assert "1 business days" not in part and "1 days" not in part


def test_a_reminder_says_a_reply_puts_the_case_back_to_open(rt, people, sink, ticketgate):  # noqa: F811
    """The case waits Awaiting Info, it is not closed: a reply sends it back to Open (DOMAIN:
    "the status flips back to Open"), it does not "reopen" it, which the closed mail promises
    for closed cases."""
    number = open_case(rt)
    post(rt, number)
    timers = {t["kind"]: t for t in ticketgate("case", "show", number).out[0]["timers"]}
    assert ticketgate("timers", "run", "--at", timers["follow_up_1"]["due_at"]).code == 0
    [reminder] = sink[0].to(ALICE)
    for kind in ("plain", "html"):
        part = reminder.get_body((kind,)).get_content()
        assert "the case goes back to Open as soon as your reply arrives" in part
        assert "reopens" not in part


def test_a_proposed_solution_says_the_case_closes_without_an_answer(rt, people, sink,
                                                                    ticketgate):  # noqa: F811
    """"No reply is needed" was followed by reminders "we are still waiting for your answer":
    the proposal now says that without an answer the case closes as resolved after the
    desk's 10 business days, with reminders before; a reply sends it back to Open."""
    number = open_case(rt)
    done = ticketgate("case", "post", number, "--body", "Restart it.", "--propose-solution")
    assert done.code == 0, done.err
    [proposal] = sink[0].to(ALICE)
    for kind in ("plain", "html"):
        part = " ".join(proposal.get_body((kind,)).get_content().split())
        assert ("without an answer the case is closed as resolved after 10 business days, "
                "with reminders before") in part
        assert "reply to this email and the case goes back to Open" in part
