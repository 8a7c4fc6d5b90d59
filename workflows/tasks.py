"""Celery tasks: the same ``process_batch`` the embedded worker runs, on workers at scale.

Place in the flow: after ``intake.accept`` has committed, the edge (SMTP listener, IMAP poller)
calls ``CeleryDispatcher.submit(ids)`` (``workflows.inbound.celery_dispatch``), which publishes
the committed ids in groups of up to ``CeleryOptions.batch``: ``process_inbound_batch(ids)`` for
a group, ``process_inbound(id)`` for a lone id. A worker (``ticketgate worker``, or
``celery -A gateway.celery_app worker``) runs ``workflows.inbound.process.process_batch`` on the
group (``process_message`` on a lone id): one attempt-counting transaction and one processing
transaction per group instead of per message.
Beat (``ticketgate beat``) runs two periodic tasks: ``sweep`` re-enqueues rows left
``received`` or stuck ``processing`` (so a lost broker message only delays a mail, never loses it),
and ``run_timers`` runs the clock's one pass, ``workflows.clock.scheduler.run_pass``: every job of
``workflows.clock.jobs.JOBS`` (case follow-ups, SLA, escalations, purge, incident follow-ups, RCA
reminders, case reports, notice deliveries and case mail due, retries included; timers live in the
database, never in Celery ETAs) -- the same pass as ``serve``'s embedded scheduler and ``ticketgate
timers run``. ``send_outbox`` is no longer scheduled (the pass's ``case-mail`` job does its work);
it stays registered so a message an older beat left in the queue still runs.

Delivery is at-least-once and processing exactly-once: tasks take ids, never objects, and
``process_batch`` claims each row first, so running a task twice (or a group holding an id twice)
applies once. That is what makes ``acks_late`` + ``reject_on_worker_lost`` safe: a worker killed
mid-task gets its message redelivered instead of acknowledged-and-lost.

Configuration: the app reads ``gateway.config.load_settings()`` (environment and TOML) the first
time its configuration is needed, in the worker, beat, or a client such as the listener; the
queue name comes from ``TICKETGATE_QUEUE`` (default ``ticketgate``), the ids per processing task
from ``TICKETGATE_TASK_BATCH`` (default 10). The worker is a process entry
point: that is why this domain module reaches for the edge's configuration loader and runtime
builder, lazily and only there.
"""

from __future__ import annotations

import datetime as dt
import gc
import importlib.util
import logging
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from celery import Celery, Task
from celery.signals import (
    worker_process_init,
    worker_process_shutdown,
    worker_ready,
    worker_shutdown,
)

from workflows.clock.scheduler import run_pass
from workflows.inbound.dispatch import STUCK_AFTER, sweep
from workflows.inbound.process import process_batch, process_message
from workflows.runtime import Runtime
from workflows.settings import ConfigError, Settings
from workflows.storage.db import DatabaseUnavailable

log = logging.getLogger(__name__)

PROCESS_INBOUND = "ticketgate.process_inbound"
PROCESS_INBOUND_BATCH = "ticketgate.process_inbound_batch"
SWEEP = "ticketgate.sweep"
SEND_OUTBOX = "ticketgate.send_outbox"
RUN_TIMERS = "ticketgate.run_timers"

# A hard limit on one task's run time (enforced by the prefork pool). It bounds how long a row
# can legitimately stay ``processing``, so the sweeper's STUCK_AFTER must be longer.
TASK_TIME_LIMIT = 240
# Seconds between a processing task's soft time limit and its hard one: time enough to record
# the overrun on the message.
PROCESS_HARD_GRACE = 30
# Redis redelivers a message nobody acknowledged after this many seconds. It must be longer than
# any task's run time (and we never use ETA/countdown tasks for timers), or a slow task would be
# delivered a second time while it still runs; the claim makes that harmless but wasteful.
VISIBILITY_TIMEOUT = 3600
assert dt.timedelta(seconds=TASK_TIME_LIMIT) < STUCK_AFTER < dt.timedelta(
    seconds=VISIBILITY_TIMEOUT)


@dataclass(frozen=True, slots=True)
class CeleryOptions:
    """What the Celery deployment adds to ``Settings``: the queue and the periodic cadence."""

    queue: str = "ticketgate"
    # Ids per processing task. One id per task paid, per message, two transactions (the
    # attempt count, the processing) with their commits, pool checkouts and lock waits; a group
    # pays them once (bench/scaleout.py, see bench/README.md). The edge submits what one group
    # commit accepted, so under light load groups stay small and latency unchanged.
    batch: int = 10
    sweep_every: float = 30.0  # seconds between sweeps (beat)
    outbox_every: float = 60.0  # unused since the clock's case-mail job sends due mail


def celery_options(env: Mapping[str, str] | None = None) -> CeleryOptions:
    """Options from the environment (``TICKETGATE_QUEUE``, ``TICKETGATE_TASK_BATCH``);
    defaults otherwise."""
    env = os.environ if env is None else env
    defaults = CeleryOptions()
    batch = env.get("TICKETGATE_TASK_BATCH")
    try:
        size = int(batch) if batch else defaults.batch
    except ValueError:
        raise ConfigError(f"TICKETGATE_TASK_BATCH must be a whole number, not {batch!r}"
                          ) from None
    if size < 1:
        raise ConfigError(f"TICKETGATE_TASK_BATCH must be at least 1, not {size}")
    return CeleryOptions(queue=env.get("TICKETGATE_QUEUE") or defaults.queue, batch=size)


def celery_config(settings: Settings, options: CeleryOptions) -> dict[str, Any]:
    """The Celery configuration for ``settings`` (pure: no connection is made)."""
    if not settings.broker_url:
        raise ConfigError("no broker configured: set TICKETGATE_BROKER_URL (redis://... or "
                          "amqp://...) or broker_url in [gateway]")
    transport_options: dict[str, Any] = {}
    if settings.broker_url.startswith(("redis://", "rediss://", "redis+socket://")):
        transport_options["visibility_timeout"] = VISIBILITY_TIMEOUT
        if importlib.util.find_spec("redis") is None:
            raise ConfigError("broker_url is a Redis URL but the redis package is not "
                              "installed: pip install 'ticketgate[redis]'")
    return {
        "broker_url": settings.broker_url,
        "broker_connection_retry_on_startup": True,
        "broker_transport_options": transport_options,
        "task_default_queue": options.queue,
        "task_serializer": "json",
        "accept_content": ["json"],
        "task_ignore_result": True,  # outcomes live in the database, not in a result backend
        # Acknowledge after the task ran, and requeue when the pool process died under it: the
        # task is idempotent, so a second delivery is safe and a lost one is not.
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "task_time_limit": TASK_TIME_LIMIT,
        # One message's processing: the soft limit raises SoftTimeLimitExceeded in the task,
        # which workflows.inbound.process records as a failed attempt; the hard limit kills the pool
        # process (the attempt was counted before it began, so a message that keeps killing
        # its worker is ``failed`` after process_max_attempts, not redelivered for ever).
        "task_annotations": {PROCESS_INBOUND: _limits(settings.process_time_limit),
                             # A group: each message keeps its own limit inside process_batch
                             # (checked between stages); this one bounds the whole group.
                             PROCESS_INBOUND_BATCH: _limits(
                                 settings.process_time_limit * options.batch)},
        # One message at a time per process: with late acks a prefetched message would wait
        # unacknowledged behind a slow one (and count against the visibility timeout).
        "worker_prefetch_multiplier": 1,
        # On a broker connection loss the broker redelivers unacknowledged messages anyway;
        # cancelling the running copies avoids doing the work twice.
        "worker_cancel_long_running_tasks_on_connection_loss": True,
        "beat_schedule_filename": str(settings.home / "celerybeat-schedule"),
        "beat_schedule": {
            # ``expires``: a sweep still queued when the next one is due is dropped, so a
            # backlog or a stopped worker never piles sweeps up.
            "sweep": {"task": SWEEP, "schedule": options.sweep_every,
                      "options": {"expires": options.sweep_every}},
            "run-timers": {"task": RUN_TIMERS, "schedule": settings.scheduler_interval,
                           "options": {"expires": settings.scheduler_interval}},
        },
    }


def _limits(soft: float) -> dict[str, float]:
    """Soft and hard time limits of a processing task, within ``TASK_TIME_LIMIT``."""
    soft = min(soft, TASK_TIME_LIMIT - PROCESS_HARD_GRACE)
    return {"soft_time_limit": soft,
            "time_limit": min(soft + PROCESS_HARD_GRACE, TASK_TIME_LIMIT)}


SettingsLoader = Callable[[], Settings]
RuntimeBuilder = Callable[[Settings], Runtime]


class TicketgateCelery(Celery):
    """The Celery app, configured from one ``Settings`` when its configuration is first read.

    The domain does not reach up to the edges for its configuration: ``gateway.celery_app``
    (what ``ticketgate worker``/``beat`` run with ``celery -A``) hands this app the edge's
    settings loader and runtime builder (``use_edges``); a client may pass its own settings.
    The worker's ``Runtime`` is built lazily, once per process (pool processes are forked:
    each builds its own database engine, never sharing the parent's connections).
    """

    def __init__(self, settings: Settings | None = None, options: CeleryOptions | None = None,
                 **kwargs: Any) -> None:
        super().__init__("ticketgate", **kwargs)
        self._settings = settings
        self._load_settings: SettingsLoader | None = None
        self._build_runtime: RuntimeBuilder | None = None
        self._options = options
        self._runtime: Runtime | None = None
        self._runtime_lock = threading.Lock()

    def use_edges(self, load_settings: SettingsLoader, build_runtime: RuntimeBuilder) -> None:
        """How this process reads its configuration and opens its database and transport."""
        self._load_settings, self._build_runtime = load_settings, build_runtime

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            if self._load_settings is None:
                raise ConfigError("the Celery app has no configuration: run it as "
                                  "`ticketgate worker` or `celery -A gateway.celery_app`")
            self._settings = self._load_settings()
        return self._settings

    @property
    def options(self) -> CeleryOptions:
        if self._options is None:
            self._options = celery_options()
        return self._options

    def on_configure(self) -> None:
        """Called by Celery while it loads its configuration, before anything connects.

        A method (Celery still calls one, as before 4.0), not a receiver of Celery's
        ``on_configure`` signal: a receiver's exception is only logged, and Celery then runs on
        its defaults -- a worker consuming queue ``celery`` of ``amqp://guest@localhost//``
        with no word of the bad setting. Raised from here, it stops the program."""
        self.config_from_object(celery_config(self.settings, self.options))

    def runtime(self) -> Runtime:
        """This process's runtime, built on first use."""
        with self._runtime_lock:
            if self._runtime is None:
                if self._build_runtime is None:
                    raise ConfigError("the Celery app cannot open a runtime: run it as "
                                      "`ticketgate worker` or `celery -A gateway.celery_app`")
                self._runtime = self._build_runtime(self.settings)
            return self._runtime

    def forget_runtime(self, *, dispose: bool) -> None:
        """Drop the runtime; ``dispose`` closes its connections (never after a fork, where
        they belong to the parent)."""
        with self._runtime_lock:
            if self._runtime is not None and dispose:
                self._runtime.db.dispose()
            self._runtime = None


app = TicketgateCelery()


@app.task(bind=True, name=PROCESS_INBOUND, acks_late=True, reject_on_worker_lost=True,
          autoretry_for=(DatabaseUnavailable,), retry_backoff=2, retry_backoff_max=60,
          max_retries=5)
def process_inbound(self: Task, inbound_id: int) -> None:
    """Process one committed inbound message (idempotent: a second run changes nothing)."""
    process_message(_app_of(self).runtime(), inbound_id)  # logs the decision itself


@app.task(bind=True, name=PROCESS_INBOUND_BATCH, acks_late=True, reject_on_worker_lost=True,
          autoretry_for=(DatabaseUnavailable,), retry_backoff=2, retry_backoff_max=60,
          max_retries=5)
def process_inbound_batch(self: Task, inbound_ids: list[int]) -> None:
    """Process committed inbound messages in one transaction (``process_batch``: a message
    that fails is redone alone; idempotent like ``process_inbound``)."""
    process_batch(_app_of(self).runtime(), [int(i) for i in inbound_ids])


@app.task(bind=True, name=SWEEP, acks_late=True, reject_on_worker_lost=True)
def sweep_stuck(self: Task) -> int:
    """Re-enqueue rows left ``received`` (a lost or never-sent message) or stuck
    ``processing`` longer than any task may run (its worker died); returns how many."""
    from workflows.inbound.celery_dispatch import CeleryDispatcher  # it imports this module

    celery = _app_of(self)
    rt = celery.runtime()
    dispatcher = CeleryDispatcher(celery, queue=celery.conf.task_default_queue,
                                  batch=celery.options.batch, db=rt.db)
    submitted = sweep(rt, dispatcher)
    if submitted:
        log.info("sweep re-enqueued %d message(s)", submitted)
    return submitted


@app.task(bind=True, name=SEND_OUTBOX, acks_late=True, reject_on_worker_lost=True)
def send_outbox(self: Task) -> int:
    """Send the outbox rows due now; returns how many were sent. Not scheduled by beat any
    more: ``run_timers``' case-mail job does this in the clock's pass."""
    report = _app_of(self).runtime().send_outbox()
    if report.sent or report.deferred or report.failed:
        log.info("outbox: %d sent, %d deferred, %d failed", report.sent, report.deferred,
                 report.failed)
    return report.sent


@app.task(bind=True, name=RUN_TIMERS, acks_late=True, reject_on_worker_lost=True)
def run_timers(self: Task) -> dict[str, int]:
    """The clock's pass as of now (every job of the registry); returns, per job, how many
    things it did. Idempotent: each job claims what it acts on, so overlapping passes act
    once."""
    rt = _app_of(self).runtime()
    report = run_pass(rt, rt.now())
    return {job.name: len(job.done) for job in report.jobs}


def _app_of(task: Task) -> TicketgateCelery:
    celery = task.app
    if not isinstance(celery, TicketgateCelery):  # pragma: no cover - wiring error
        raise TypeError("ticketgate tasks must run on a TicketgateCelery app")
    return celery


@worker_process_init.connect
def _fresh_runtime_after_fork(**_: Any) -> None:
    # A forked pool process must not reuse connections opened by its parent.
    app.forget_runtime(dispose=False)
    freeze_start_up()


@worker_ready.connect
def _freeze_main_process(**_: Any) -> None:
    # The pools that run tasks in the main process (solo, threads) start here.
    freeze_start_up()


def freeze_start_up() -> None:
    """Move what start-up made (modules, the app) out of the collector's way for good: a
    worker process lives until it stops (``workflows.runtime.start_up_frozen`` does it for a
    block, with the figures). Acts, process-wide."""
    gc.freeze()


@worker_process_shutdown.connect
@worker_shutdown.connect
def _dispose_runtime(**_: Any) -> None:
    app.forget_runtime(dispose=True)
