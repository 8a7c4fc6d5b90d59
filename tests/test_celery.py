"""The Celery path for real: ``ticketgate worker`` on Redis and RabbitMQ processes committed mail.

Each test starts its own worker subprocess on a queue of its own (and on the test's database),
commits mail with ``intake.accept``, publishes with ``CeleryDispatcher`` and polls the database
until the worker has done its part. Without the broker URLs the tests skip; in CI
(``TICKETGATE_REQUIRE_SERVICES=1``) they fail instead.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import os
import signal
import socket
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select, update

from gateway.cli.main import main
from tests.celery_worker import WorkerProcess, wait_until
from tests.conftest import require_service
from tests.support import new_mail, open_case
from workflows.cases import service as cases
from workflows.domain import MessageStatus
from workflows.inbound.celery_dispatch import CeleryDispatcher
from workflows.inbound.intake import Envelope, accept
from workflows.runtime import Runtime
from workflows.settings import Settings
from workflows.storage.models import Case, InboundMessage
from workflows.tasks import (
    PROCESS_INBOUND,
    PROCESS_INBOUND_BATCH,
    RUN_TIMERS,
    SEND_OUTBOX,
    SWEEP,
    CeleryOptions,
    celery_config,
    celery_options,
)

NEW = "new@desk.example"  # policy open_case: a designated contact's mail opens one case
BROKERS = {"redis": ("TICKETGATE_TEST_REDIS_URL", "Redis"),
           "rabbitmq": ("TICKETGATE_TEST_AMQP_URL", "RabbitMQ")}

pytestmark = pytest.mark.services
# Where the broker plays no part in what a test checks (what a periodic task does once it
# runs), one broker is enough; publishing, redelivery and the sweep's re-enqueue run on both.
ONE_BROKER = pytest.mark.parametrize("broker_url", ["redis"], indirect=True)


@pytest.fixture(params=sorted(BROKERS))
def broker_url(request: pytest.FixtureRequest) -> str:
    env_name, what = BROKERS[request.param]
    return require_service(env_name, what)


@pytest.fixture
def queue() -> str:
    return f"tg-test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def dispatcher(settings: Settings, broker_url: str, queue: str) -> Iterator[CeleryDispatcher]:
    """The listener's side: a client app on the test queue; the queue is deleted afterwards."""
    client = CeleryDispatcher.from_settings(dataclasses.replace(settings, broker_url=broker_url),
                                            CeleryOptions(queue=queue))
    yield client
    with client.celery.connection_for_write() as conn:
        # Declared here first: a channel deletes only the bindings it knows (kombu's Redis).
        declared = client.celery.amqp.queues[queue].bind(conn.default_channel)
        declared.declare()
        declared.delete()
        declared.exchange.delete()
    client.close()


def _run_worker(settings: Settings, broker_url: str, queue: str, dispatcher: CeleryDispatcher,
                *, via_cli: bool) -> Iterator[WorkerProcess]:
    proc = WorkerProcess(settings, broker_url, queue)
    try:
        proc.start(via_cli=via_cli)
        yield proc
        proc.drain(dispatcher.celery)
    finally:
        proc.stop()


@pytest.fixture
def worker(settings: Settings, broker_url: str, queue: str,
           dispatcher: CeleryDispatcher) -> Iterator[WorkerProcess]:
    """``celery -A gateway.celery_app worker`` on the test queue and database."""
    yield from _run_worker(settings, broker_url, queue, dispatcher, via_cli=False)


@pytest.fixture
def cli_worker(settings: Settings, broker_url: str, queue: str,
               dispatcher: CeleryDispatcher) -> Iterator[WorkerProcess]:
    """The same worker started the documented way, ``ticketgate worker``."""
    yield from _run_worker(settings, broker_url, queue, dispatcher, via_cli=True)


def _accept(rt: Runtime, sender: str, n: int = 1, *, age: dt.timedelta | None = None) -> int:
    raw = new_mail(sender=sender, to=NEW, subject=f"Help #{n}",
                   message_id=f"<celery-{n}-{uuid.uuid4().hex}@client.example>")
    now = dt.datetime.now(dt.UTC) - age if age else None
    return accept(rt.db, raw, Envelope(mailbox=NEW, rcpt_tos=(NEW,), transport="smtp"),
                  now=now).inbound_id


def _row(rt: Runtime, inbound_id: int) -> InboundMessage:
    with rt.db.transaction() as session:
        row = session.get(InboundMessage, inbound_id)
        assert row is not None
        return row


def _processed(rt: Runtime, *ids: int) -> bool:
    with rt.db.transaction() as session:
        statuses = session.scalars(select(InboundMessage.status)
                                   .where(InboundMessage.id.in_(ids))).all()
    return len(statuses) == len(ids) and all(s == MessageStatus.PROCESSED for s in statuses)


def _cases(rt: Runtime) -> int:
    with rt.db.transaction() as session:
        return session.scalar(select(func.count()).select_from(Case)) or 0


def test_submitted_messages_are_processed_by_a_worker(rt, people, dispatcher, cli_worker):
    """The at-scale path: commit, publish ids, ``ticketgate worker`` decides each one."""
    ids = [_accept(rt, people["alice"], n) for n in range(3)]
    dispatcher.submit(ids)
    wait_until(lambda: _processed(rt, *ids), "three messages processed", worker=cli_worker)
    assert [(_row(rt, i).reason, _row(rt, i).attempts) for i in ids] == [("new_case", 1)] * 3


@ONE_BROKER
def test_ticketgate_worker_logs_each_decision_at_info_without_options(rt, people, dispatcher,
                                                                      settings, broker_url, queue):
    """README: ``worker`` logs mail.decided at INFO; Celery alone would start at WARNING."""
    proc = WorkerProcess(settings, broker_url, queue)
    try:
        proc.start(via_cli=True, loglevel=None)
        dispatcher.submit([_accept(rt, people["alice"])])
        wait_until(lambda: b'"mail.decided"' in proc.log_path.read_bytes(),
                   "a mail.decided line in the worker's log", worker=proc)
    finally:
        proc.stop()


def test_task_delivered_twice_applies_once(rt, people, dispatcher, worker):
    """At-least-once delivery: a duplicate message for the same id opens no second case."""
    first = _accept(rt, people["alice"], 1)
    dispatcher.submit([first, first])
    dispatcher.submit([first])
    sentinel = _accept(rt, people["alice"], 2)  # one pool process, FIFO: runs after the copies
    dispatcher.submit([sentinel])
    wait_until(lambda: _processed(rt, first, sentinel), "all deliveries handled", worker=worker)
    assert (_cases(rt), _row(rt, first).attempts) == (2, 1)


def test_group_task_processes_each_id_once(rt, people, dispatcher, worker):
    """Ids grouped in one task (duplicates included, as a redelivery or a sweep makes them),
    then published again: each message is decided once."""
    ids = [_accept(rt, people["alice"], n) for n in range(3)]
    dispatcher.submit([*ids, ids[0]])  # one process_inbound_batch task of four ids
    dispatcher.submit(ids[:2])
    sentinel = _accept(rt, people["alice"], 9)  # one pool process, FIFO: runs after the rest
    dispatcher.submit([sentinel])
    wait_until(lambda: _processed(rt, *ids, sentinel), "all groups handled", worker=worker)
    assert (_cases(rt), [_row(rt, i).attempts for i in ids]) == (4, [1, 1, 1])


def test_worker_killed_mid_task_is_redelivered_and_processed_once(rt, people, dispatcher,
                                                                  worker):
    """acks_late + reject_on_worker_lost: a pool process SIGKILLed mid-task loses nothing."""
    inbound_id = _accept(rt, people["alice"])
    with rt.db.engine.connect() as blocker:
        # Hold the row (PostgreSQL) or the write lock (SQLite): the task blocks at its claim.
        blocker.begin()
        if rt.db.dialect == "postgresql":
            blocker.execute(select(InboundMessage.id).where(InboundMessage.id == inbound_id)
                            .with_for_update())
        dispatcher.submit([inbound_id])
        running = _wait_for_active_task(dispatcher, worker, inbound_id)
        worker_pid = running["worker_pid"]
        assert worker_pid in worker.pool_pids()
        os.kill(worker_pid, signal.SIGKILL)
        wait_until(lambda: worker.is_dead(worker_pid), "the pool process to die",
                   worker=worker)
        blocker.rollback()
    wait_until(lambda: _processed(rt, inbound_id), "the redelivered task", worker=worker)
    assert (_cases(rt), _row(rt, inbound_id).attempts) == (1, 1)


def _wait_for_active_task(dispatcher: CeleryDispatcher, worker: WorkerProcess,
                          inbound_id: int) -> dict[str, object]:
    """The worker's report of our task while it runs (Celery's remote control)."""
    found: list[dict[str, object]] = []

    def running() -> bool:
        inspect = dispatcher.celery.control.inspect(destination=[worker.nodename], timeout=1.0)
        for task in (inspect.active() or {}).get(worker.nodename, []):
            if task["name"] == PROCESS_INBOUND and list(task["args"]) == [inbound_id]:
                found.append(task)
        return bool(found)

    wait_until(running, "the task to be running", worker=worker)
    return found[0]


def test_sweep_reenqueues_a_received_row_without_broker_message(rt, people, dispatcher, worker):
    """A lost publish only delays: the sweep task finds the row still ``received``."""
    # Committed five minutes ago and never published (younger rows get a grace period: their
    # own task is probably still queued).
    inbound_id = _accept(rt, people["alice"], age=dt.timedelta(minutes=5))
    dispatcher.celery.send_task(SWEEP, queue=worker.queue)
    wait_until(lambda: _processed(rt, inbound_id), "the swept message", worker=worker)
    assert _row(rt, inbound_id).reason == "new_case"


@ONE_BROKER
def test_sweep_releases_a_row_stuck_in_processing(rt, people, dispatcher, worker):
    """A worker that died after its claim leaves ``processing``; the sweep gives it back."""
    inbound_id = _accept(rt, people["alice"], age=dt.timedelta(hours=1))
    claimed = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)  # the worker clock is real time
    with rt.db.transaction() as session:
        session.execute(update(InboundMessage).where(InboundMessage.id == inbound_id)
                        .values(status=MessageStatus.PROCESSING.value, claimed_at=claimed,
                                attempts=1))
    dispatcher.celery.send_task(SWEEP, queue=worker.queue)
    wait_until(lambda: _processed(rt, inbound_id), "the released message", worker=worker)
    assert (_cases(rt), _row(rt, inbound_id).attempts) == (1, 2)


@ONE_BROKER
def test_outbox_task_sends_queued_mail(rt, people, dispatcher, worker, settings):
    """Mail queued by a process that died before sending goes out on the next outbox pass."""
    number = open_case(rt)
    with rt.db.transaction() as session:  # queued, and deliberately not sent
        cases.post_update(session, rt.settings, rt.key, number=number, body="Which model?",
                          action="request_info", now=rt.now(), actor="analyst@desk.example")
    dispatcher.celery.send_task(SEND_OUTBOX, queue=worker.queue)
    wait_until(lambda: any(settings.outbox_dir.glob("*.eml")), "the outbox file",
               worker=worker)


@ONE_BROKER
def test_timers_task_runs_a_scheduler_pass(rt, people, dispatcher, worker):
    """Beat's timer pass on a worker: a case left awaiting info for months is auto-closed."""
    number = open_case(rt)  # at the test clock, months before the worker's real time
    with rt.db.transaction() as session:
        cases.post_update(session, rt.settings, rt.key, number=number, body="Which model?",
                          action="request_info", now=rt.now(), actor="analyst@desk.example")
    dispatcher.celery.send_task(RUN_TIMERS, queue=worker.queue)
    wait_until(lambda: _case_status(rt, number) == "closed", "the auto-close", worker=worker)


def _case_status(rt: Runtime, number: str) -> str | None:
    with rt.db.transaction() as session:
        return session.scalar(select(Case.status).where(Case.number == number))


def test_beat_schedules_the_sweep_and_the_clock(settings):
    """Beat is what turns a lost message into a late one: each periodic task is scheduled.
    The outbox needs no task of its own: the clock's pass has a case-mail job."""
    config = celery_config(dataclasses.replace(settings, broker_url="redis://127.0.0.1:1/0"),
                           CeleryOptions())
    schedule = {entry["task"]: entry["schedule"] for entry in config["beat_schedule"].values()}
    assert schedule == {SWEEP: 30.0, RUN_TIMERS: settings.scheduler_interval}


def test_redis_redelivers_only_after_any_task_must_have_ended(settings):
    """A visibility timeout shorter than a task would hand a running task to a second worker."""
    config = celery_config(dataclasses.replace(settings, broker_url="redis://127.0.0.1:1/0"),
                           CeleryOptions())
    visibility = config["broker_transport_options"]["visibility_timeout"]
    assert visibility > config["task_time_limit"]


def test_submit_with_broker_down_leaves_the_rows_to_the_sweeper(settings, caplog):
    """The rows are committed: a broker outage must not turn into an SMTP error (or a raise)."""
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    down = CeleryDispatcher.from_settings(
        dataclasses.replace(settings, broker_url=f"redis://127.0.0.1:{port}/0"),
        CeleryOptions(queue="tg-test-down"))
    try:
        down.submit([1, 2])
    finally:
        down.close()
    lines = [r for r in caplog.records if getattr(r, "event", None) == "mail.dispatch_failed"]
    assert [r.inbound_id for r in lines] == [1, 2]  # a line a mail, named (no database here)
    assert all("left for the sweeper" in r.getMessage() for r in lines)


def test_worker_without_broker_exits_2(tmp_path, monkeypatch, capsys):
    """A worker with nowhere to consume from says so in one line instead of dialling amqp."""
    for name in ("TICKETGATE_BROKER_URL", "TICKETGATE_CONFIG", "TICKETGATE_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TICKETGATE_HOME", str(tmp_path))
    assert main(["worker"]) == 2
    assert "TICKETGATE_BROKER_URL" in capsys.readouterr().err


def test_message_that_keeps_killing_its_worker_is_failed(rt, people, dispatcher, worker):
    """Attempts are counted before they start: after process_max_attempts deliveries that
    never finished (a pool process killed, a hard time limit), the next one fails the row."""
    inbound_id = _accept(rt, people["alice"])
    with rt.db.transaction() as session:
        session.execute(update(InboundMessage).where(InboundMessage.id == inbound_id)
                        .values(attempts=rt.settings.process_max_attempts))
    dispatcher.submit([inbound_id])

    def failed() -> bool:
        return _row(rt, inbound_id).status == MessageStatus.FAILED

    wait_until(failed, "the exhausted message failed", worker=worker)
    assert (_cases(rt), "gave up after 3 attempts" in (_row(rt, inbound_id).error or "")) == (
        0, True)


class _Recorder:
    """What ``CeleryDispatcher.submit`` publishes, without a broker."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, tuple[object, ...]]] = []

    @contextlib.contextmanager
    def producer_or_acquire(self) -> Iterator[None]:
        yield None

    def send_task(self, name: str, args: tuple[object, ...], **_: object) -> None:
        self.sent.append((name, args))


def test_submit_groups_ids_evenly_and_sends_a_lone_id_as_before():
    """Groups of at most ``batch`` ids in submission order, sized alike; a group of one is the
    one-id task (what an older worker and the sweeper's single ids understand)."""
    recorder = _Recorder()
    CeleryDispatcher(recorder, queue="q", batch=4).submit([1, 2, 3, 4, 5, 6, 7])  # type: ignore[arg-type]
    CeleryDispatcher(recorder, queue="q", batch=4).submit([8])  # type: ignore[arg-type]
    assert recorder.sent == [(PROCESS_INBOUND_BATCH, ([1, 2, 3, 4],)),
                             (PROCESS_INBOUND_BATCH, ([5, 6, 7],)), (PROCESS_INBOUND, (8,))]


def test_task_batch_comes_from_the_environment():
    assert (celery_options({}).batch, celery_options({"TICKETGATE_TASK_BATCH": "3"}).batch) == (
        10, 3)


def test_group_task_limits_stay_within_the_task_limit(settings):
    """A group's soft limit grows with the group but its hard limit stays under the one the
    sweeper's STUCK_AFTER relies on (each message keeps its own limit inside the batch)."""
    config = celery_config(dataclasses.replace(settings, broker_url="redis://127.0.0.1:1/0",
                                               process_time_limit=5.0), CeleryOptions(batch=4))
    limits = config["task_annotations"][PROCESS_INBOUND_BATCH]
    assert (limits["soft_time_limit"], limits["time_limit"]) == (20.0, 50.0)
    long = celery_config(dataclasses.replace(settings, broker_url="redis://127.0.0.1:1/0",
                                             process_time_limit=60.0), CeleryOptions(batch=10))
    assert long["task_annotations"][PROCESS_INBOUND_BATCH]["time_limit"] <= long[
        "task_time_limit"]


def test_processing_task_has_soft_and_hard_time_limits(settings):
    """The soft limit is the per-message limit (recorded as a failed attempt); the hard one
    follows it and stays within the limit the sweeper's STUCK_AFTER relies on."""
    config = celery_config(dataclasses.replace(settings, broker_url="redis://127.0.0.1:1/0",
                                               process_time_limit=20.0), CeleryOptions())
    limits = config["task_annotations"][PROCESS_INBOUND]
    assert (limits["soft_time_limit"], limits["time_limit"]) == (20.0, 50.0)
    assert limits["time_limit"] <= config["task_time_limit"]
