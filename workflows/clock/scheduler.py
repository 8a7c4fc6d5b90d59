"""The clock's one pass: run every job of the registry as of one moment.

Place in the flow: beside the message flow, on the clock. ``run_pass(rt, at)`` runs the jobs of
``workflows.clock.jobs.JOBS`` in order: case follow-ups, SLA warnings and breaches, escalations, the
attachment purge, incident follow-ups, RCA reminders, scheduled case reports, notice deliveries
due, case mail due. Its callers, and the only ones that move the clock:

- ``EmbeddedScheduler`` (below): the thread ``ticketgate serve`` starts in the embedded default,
  a pass at ``rt.now()`` at start and every ``settings.scheduler_interval`` seconds;
- ``workflows.tasks.run_timers``: the task Celery beat schedules (``run-timers``) at scale;
- ``ticketgate timers run [--at ISO] [--dry-run]`` (``gateway.cli.lifecycle.timers_run``).

A job that raises is logged, named in its ``JobRun.error`` and the pass goes on (a database that
is down fails the pass whole: ``DatabaseUnavailable`` reaches the caller): one job's
trouble does not hold up the others, and what failed is still due on the next pass. Each job is
idempotent, so running a pass again for the same ``at`` finds nothing new to do, and two passes
at once (threads, processes, beat beside a manual ``timers run``) act once.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from workflows.clock.firing import FiredTimer, TimerReport
from workflows.clock.jobs import JOBS, ClockJob, JobReport
from workflows.clock.purge import Purged, PurgeReport
from workflows.errors import error_line
from workflows.runtime import Runtime
from workflows.storage.db import DatabaseUnavailable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobRun:
    """One job's part of a pass."""

    name: str
    description: str
    done: tuple[str, ...]  # what it did (in a dry run: what is due), one line each
    report: JobReport | None  # the job's own typed report; None when it raised
    error: str | None
    seconds: float


@dataclass(frozen=True)
class PassReport:
    at: str
    dry_run: bool
    jobs: tuple[JobRun, ...]
    seconds: float

    def job(self, name: str) -> JobRun:
        for run in self.jobs:
            if run.name == name:
                return run
        raise KeyError(name)

    # The case timers' figures across their jobs (follow-ups, SLA, escalations).
    def _timers(self) -> list[TimerReport]:
        return [j.report for j in self.jobs if isinstance(j.report, TimerReport)]

    @property
    def armed(self) -> int:
        return sum(r.armed for r in self._timers())

    @property
    def fired(self) -> tuple[FiredTimer, ...]:
        return tuple(f for r in self._timers() for f in r.fired)

    @property
    def outcomes(self) -> dict[str, int]:
        return dict(Counter(f.outcome for f in self.fired))

    @property
    def mails_queued(self) -> int:
        return sum(r.mails_queued for r in self._timers())

    @property
    def purged(self) -> tuple[Purged, ...]:
        return tuple(p for r in self._purges() for p in r.attachments)

    @property
    def mails_rewritten(self) -> int:
        return sum(r.mails_rewritten for r in self._purges())

    def _purges(self) -> list[PurgeReport]:
        return [j.report for j in self.jobs if isinstance(j.report, PurgeReport)]


def run_pass(rt: Runtime, at: dt.datetime, *, dry_run: bool = False,
             jobs: Sequence[ClockJob] = JOBS) -> PassReport:
    """Run ``jobs`` (the registry by default) as of ``at``. ``dry_run``: change nothing, list
    what is due, per job."""
    if at.tzinfo is None:
        raise ValueError("run_pass needs an aware datetime")
    started = time.perf_counter()
    runs = tuple(_run_job(job, rt, at, dry_run=dry_run) for job in jobs)
    report = PassReport(at.isoformat(), dry_run, runs,
                        round(time.perf_counter() - started, 3))
    # One line a pass, naming every job run: what an operator (and tests/clock) reads to see
    # that this entry point reaches the whole registry.
    log.info("clock pass at %s%s ran %s; busy: %s", report.at, " (dry run)" if dry_run else "",
             ", ".join(r.name for r in runs),
             {r.name: len(r.done) for r in runs if r.done or r.error})
    return report


def _run_job(job: ClockJob, rt: Runtime, at: dt.datetime, *, dry_run: bool) -> JobRun:
    started = time.perf_counter()
    try:
        report: JobReport | None = job.run(rt, at, dry_run=dry_run)
        error = None
    except DatabaseUnavailable:
        raise  # no job can run: the pass fails whole, at its caller's boundary
    except Exception as exc:  # a pass boundary: log, name it, let the other jobs run
        log.exception("clock job %s at %s failed", job.name, at.isoformat())
        report, error = None, f"{type(exc).__name__}: {exc}"
    done = report.lines() if report is not None else ()
    seconds = round(time.perf_counter() - started, 3)
    log.info("clock job %s: %d done", job.name, len(done), extra={
        "event": "clock.job", "job": job.name, "at": at.isoformat(), "dry_run": dry_run,
        "done": len(done), "error": error, "seconds": seconds})
    return JobRun(job.name, job.description, done, report, error, seconds)


# -- the embedded scheduler ---------------------------------------------------------------------
class EmbeddedScheduler:
    """The clock of ``serve``'s embedded mode: a thread that runs ``run_pass(rt, rt.now())``
    (every job of the registry) at start and every ``interval`` seconds."""

    def __init__(self, rt: Runtime, *, interval: float | None = None) -> None:
        self.rt = rt
        self.interval = rt.settings.scheduler_interval if interval is None else interval
        self.passes = 0
        self.last_report: PassReport | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ticketgate-scheduler",
                                        daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.last_report = run_pass(self.rt, self.rt.now())
            except DatabaseUnavailable as exc:  # an outage: one line, no traceback
                error = error_line(exc)
                log.warning("clock pass not run, the database is unavailable: what is due "
                            "stays due, the next pass in %.0f s runs it; %s", self.interval,
                            error, extra={"event": "clock.pass_failed", "error": error})
            except Exception:  # process boundary: log, try again next interval
                log.exception("timer pass failed; retrying in %.0f s", self.interval)
            self.passes += 1
            self._stop.wait(self.interval)
