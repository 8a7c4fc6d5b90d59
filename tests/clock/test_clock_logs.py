"""The clock and the outbox log what they did, one JSON line per job run and per mail sent
(issue 16), read from ``timers run``'s stderr as a log pipeline would."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from tests.clock.test_clock_mail import ALICE, MINUTE, _mail
from tests.support import open_case
from workflows.clock.jobs import JOBS


def _events(stderr: str, event: str) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("event") == event]


def test_each_clock_job_run_is_one_log_line(ticketgate):
    done = ticketgate("--log-format", "json", "timers", "run", "--at", "2026-03-02T09:00Z")
    assert done.code == 0, done.err
    jobs = _events(done.err, "clock.job")
    assert [line["job"] for line in jobs] == [job.name for job in JOBS]
    assert all(line["at"] == "2026-03-02T09:00:00+00:00" and line["error"] is None
               for line in jobs)


def test_a_sent_case_mail_is_one_log_line(rt, people, sink, ticketgate):
    handler, _ = sink
    number = open_case(rt)
    handler.replies[ALICE] = "451 4.3.0 mailbox busy, try later"
    message_id = ticketgate("case", "post", number, "--body", "Which model?").out[0]["message_id"]
    retry_at = dt.datetime.fromisoformat(_mail(ticketgate, number, message_id)["next_attempt_at"])
    handler.replies.clear()
    done = ticketgate("--log-format", "json", "timers", "run", "--at",
                      (retry_at + MINUTE).isoformat())
    (sent,) = _events(done.err, "mail.sent")
    assert (sent["message_id"], sent["kind"], sent["recipients"], sent["attempt"]) == (
        message_id, "analyst_post", 1, 2)
    assert "Which model?" not in done.err and ALICE not in done.err
