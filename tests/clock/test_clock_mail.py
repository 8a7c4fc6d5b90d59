"""What the clock owes, judged on the mail that leaves: through ``ticketgate timers run`` and
``serve``'s embedded scheduler, to a real SMTP sink on loopback.

Issue 11: no incident follow-up was ever mailed (no entry point ran the notice stages), and
case mail hit by a 4xx stayed ``queued`` for good in the embedded mode.
"""

from __future__ import annotations

import datetime as dt

from tests.clock.conftest import ticketgate_env, wait_for
from tests.gateway.serving import ServeProcess
from tests.notices.conftest import NOW, create_and_send
from tests.support import open_case
from workflows.notices.model import NoticeKind

MINUTE = dt.timedelta(minutes=1)
ALICE = "alice@acme.example"


def _updates(sink, recipient: str) -> list[str]:  # type: ignore[no-untyped-def]
    return [str(m["Subject"]) for m in sink.to(recipient) if "Incident update" in m["Subject"]]


def _job(out: dict, name: str) -> dict:
    (job,) = [j for j in out["jobs"] if j["name"] == name]
    return job


def test_timers_run_mails_the_incident_follow_up_due(nrt, desk, sink, ticketgate):
    """An incident alerted at NOW: ``timers run --at NOW+31min`` mails follow-up #1 to every
    organization's list, and says so in the incident-follow-ups job."""
    ref = create_and_send(nrt, NoticeKind.INCIDENT)
    assert _updates(sink[0], "ops@acme.example") == []
    done = ticketgate("timers", "run", "--at", (NOW + 31 * MINUTE).isoformat())
    assert done.code == 0, done.err
    assert _job(done.out[0], "incident-follow-ups")["done"] == [f"{ref}#1 follow-up"]
    for recipient in ("ops@acme.example", "noc@initech.example"):
        (subject,) = _updates(sink[0], recipient)
        assert subject.startswith(f"[{ref}] Incident update 1:")


def test_timers_run_dry_run_lists_the_follow_up_and_mails_nothing(nrt, desk, sink, ticketgate):
    """--dry-run names the due follow-up in its job and sends nothing; the real run later
    still finds it due."""
    ref = create_and_send(nrt, NoticeKind.INCIDENT)
    at = (NOW + 31 * MINUTE).isoformat()
    dry = ticketgate("timers", "run", "--at", at, "--dry-run")
    assert _job(dry.out[0], "incident-follow-ups")["done"] == [f"{ref}#1 follow-up"]
    assert _updates(sink[0], "ops@acme.example") == []
    assert ticketgate("timers", "run", "--at", at).code == 0
    assert len(_updates(sink[0], "ops@acme.example")) == 1


def _mail(ticketgate, number: str, message_id: str) -> dict:  # type: ignore[no-untyped-def]
    """The case's outbound mail as ``case show`` reports it."""
    (mail,) = [o for o in ticketgate("case", "show", number).out[0]["outbound"]
               if o["message_id"] == message_id]
    return mail


def test_case_mail_deferred_by_a_451_goes_out_on_a_later_timers_run(rt, people, sink,
                                                                   ticketgate):
    """``case post`` meets 451: the mail is deferred with its next attempt; a ``timers run``
    before that time leaves it; one past it delivers it (the same Message-ID)."""
    handler, _ = sink
    number = open_case(rt)
    handler.replies[ALICE] = "451 4.3.0 mailbox busy, try later"
    posted = ticketgate("case", "post", number, "--body", "Which model is it?")
    assert posted.code == 0, posted.err
    message_id = posted.out[0]["message_id"]
    deferred = _mail(ticketgate, number, message_id)
    assert (deferred["status"], handler.to(ALICE)) == ("deferred", [])
    assert "451" in deferred["last_error"]
    retry_at = dt.datetime.fromisoformat(deferred["next_attempt_at"])
    handler.replies.clear()  # the recipient's server takes mail again
    early = ticketgate("timers", "run", "--at", (retry_at - MINUTE).isoformat())
    assert (early.code, handler.to(ALICE)) == (0, [])
    done = ticketgate("timers", "run", "--at", (retry_at + MINUTE).isoformat())
    assert done.code == 0, done.err
    assert _job(done.out[0], "case-mail")["report"]["sent"] == 1
    (mail,) = handler.to(ALICE)
    assert mail["Message-ID"].strip("<>") == message_id
    assert _mail(ticketgate, number, message_id)["status"] == "sent"


def test_serve_mails_the_incident_follow_up_due(nrt, desk, sink, settings, clock):
    """An incident alerted 31 minutes ago: ``serve``'s embedded scheduler mails follow-up #1
    on its own, with nobody running a command."""
    clock.current = dt.datetime.now(dt.UTC) - 31 * MINUTE
    ref = create_and_send(nrt, NoticeKind.INCIDENT)
    proc = ServeProcess(settings.home, database_url=settings.database_url,
                        env={"TICKETGATE_TRANSPORT": f"smtp://127.0.0.1:{sink[1]}"})
    ticketgate_env(settings, sink[1])  # writes the home's config.toml
    try:
        proc.start()
        wait_for(lambda: len(_updates(sink[0], "ops@acme.example")) == 1,
                 "the follow-up from serve")
    finally:
        proc.stop()
    (subject,) = _updates(sink[0], "ops@acme.example")
    assert subject.startswith(f"[{ref}] Incident update 1:")
