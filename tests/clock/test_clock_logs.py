"""The clock and the outbox log what they did, one JSON line per job run and per mail sent
(issue 16), read from ``timers run``'s stderr as a log pipeline would."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import shutil
import time
from typing import Any

from tests.clock.test_clock_mail import ALICE, MINUTE, _mail
from tests.support import open_case
from workflows.clock.jobs import JOBS
from workflows.clock.scheduler import EmbeddedScheduler
from workflows.storage.db import Database


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


def test_a_pass_the_database_outage_stops_is_one_warning_line(rt, tmp_path, caplog):
    """serve's worker runs the clock every ``scheduler_interval``: a pass during a database
    outage is one warning with the error (what is due stays due), not a traceback."""
    gone = tmp_path / "gone"
    down = Database(f"sqlite:///{gone / 'ticketgate.db'}")  # creates the folder
    shutil.rmtree(gone)  # and now the file cannot be opened: "unable to open database file"
    scheduler = EmbeddedScheduler(dataclasses.replace(rt, db=down), interval=60)
    caplog.set_level(logging.INFO, logger="workflows.clock")
    try:
        scheduler.start()
        deadline = time.monotonic() + 30
        while scheduler.passes < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        scheduler.stop()
        down.dispose()
    assert [r for r in caplog.records if r.exc_info] == []
    [line] = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert line.event == "clock.pass_failed" and "unable to open database file" in line.error
