"""Every entry point that moves the clock reaches every job of the registry.

A job added to ``workflows.clock.jobs.JOBS`` that one of ``ticketgate timers run``, ``serve``'s
embedded scheduler or Celery beat's task does not run fails here: each is started for real and
must report (in its output, or in the one log line a pass writes) every registered name.
"""

from __future__ import annotations

import dataclasses
import re

import pytest

from tests.celery_worker import wait_until
from tests.clock.conftest import ticketgate_env, wait_for
from tests.gateway.serving import ServeProcess
from tests.test_celery import ONE_BROKER, broker_url, dispatcher, queue, worker  # noqa: F401
from workflows.clock.jobs import JOBS
from workflows.tasks import RUN_TIMERS, CeleryOptions, celery_config

NAMES = [job.name for job in JOBS]
PASS_LINE = re.compile(r"clock pass at \S+ ran ([a-z, -]+);")


def test_the_registry_covers_everything_the_clock_owes():
    """The issue's list, by name: a job dropped from the registry fails here first."""
    assert NAMES == ["follow-ups", "sla", "escalations", "purge", "incident-follow-ups",
                     "rca-reminders", "case-reports", "notice-deliveries", "case-mail"]


def test_timers_run_runs_every_job(ticketgate):
    """``ticketgate timers run`` (a subprocess, as an operator runs it) reports each job."""
    done = ticketgate("timers", "run")
    assert done.code == 0, done.err
    assert [job["name"] for job in done.out[0]["jobs"]] == NAMES
    assert [job["error"] for job in done.out[0]["jobs"]] == [None] * len(NAMES)


@pytest.mark.parametrize("at", ["", "0001-01-01T00:00Z", "9999-12-31T23:59Z"])
def test_timers_run_refuses_a_time_it_cannot_run_at(ticketgate, at):
    """An empty --at (a script's unset variable) is not "now", and a year the clock's date
    arithmetic cannot reach (jobs failing with OverflowError) is not a time to run at: one
    line, exit 2, nothing run."""
    done = ticketgate("timers", "run", "--at", at)
    assert (done.code, done.out) == (2, [])
    assert done.err.count("\n") == 1 and done.err.startswith("ticketgate: error: --at ")


def test_timers_run_dry_run_lists_every_job(ticketgate):
    """``--dry-run`` goes through the same registry: one entry per job, nothing done."""
    done = ticketgate("timers", "run", "--dry-run", "--at", "2026-03-02T09:00Z")
    assert done.code == 0, done.err
    assert done.out[0]["dry_run"] is True and done.out[0]["at"] == "2026-03-02T09:00:00+00:00"
    assert [job["name"] for job in done.out[0]["jobs"]] == NAMES


def test_serve_embedded_scheduler_runs_every_job(settings, sink):
    """``ticketgate -v serve``: the embedded scheduler's first pass logs every job's name."""
    proc = ServeProcess(settings.home, database_url=settings.database_url,
                        env={"TICKETGATE_TRANSPORT": f"smtp://127.0.0.1:{sink[1]}"})
    ticketgate_env(settings, sink[1])  # writes the home's config.toml
    proc.args = ("-v", *proc.args)
    try:
        proc.start()
        wait_for(lambda: PASS_LINE.search(proc.output()) is not None, "a clock pass")
        match = PASS_LINE.search(proc.output())
        assert match is not None and match.group(1).split(", ") == NAMES
    finally:
        proc.stop()


def test_beat_schedules_the_clock_pass_task(settings):
    """Beat's schedule holds the one clock task, at the scheduler interval."""
    config = celery_config(dataclasses.replace(settings, broker_url="redis://127.0.0.1:1/0"),
                           CeleryOptions())
    entries = {e["task"]: e["schedule"] for e in config["beat_schedule"].values()}
    assert entries[RUN_TIMERS] == settings.scheduler_interval


@pytest.mark.services
@ONE_BROKER
def test_beat_task_runs_every_job_on_a_worker(dispatcher, worker):  # noqa: F811
    """The task beat sends, run by a real worker, logs a pass over every job."""
    dispatcher.celery.send_task(RUN_TIMERS, queue=worker.queue)
    def log() -> str:
        return worker.log_path.read_text(encoding="utf-8", errors="replace")

    wait_until(lambda: PASS_LINE.search(log()) is not None, "the clock pass", worker=worker)
    match = PASS_LINE.search(log())
    assert match is not None and match.group(1).split(", ") == NAMES
