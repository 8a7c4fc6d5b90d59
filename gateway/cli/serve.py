"""``ticketgate serve``: the running gateway, one command.

Place in the flow: the process that hosts the edges. Embedded (no broker configured, ``--role
all``): this process runs the SMTP/LMTP listener, the IMAP pollers, the console and the group
commit, and supervises a child ``ticketgate serve --role worker`` on the same database
(``gateway.supervisor``; processing, its sweep and the scheduler run there, in an interpreter of
their own). ``--role listener`` or a configured broker: only the edges run here; the Celery
workers process what the listener commits (``workflows.tasks``). ``--role worker``: only
processing and the scheduler (``gateway.cli.serve_worker``).

Stops cleanly on SIGTERM/SIGINT: stop accepting, answer sessions waiting for a commit, flush the
group-commit writer, then stop the pollers and the worker process. SIGKILL loses nothing either:
what got a 250 is committed, and the worker's first sweep at the next start picks it up.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import signal
import sys
import threading
from types import FrameType

from gateway.app import build_runtime, initialize
from gateway.cli.output import fail
from gateway.cli.startup import command_name, python_email_warning
from gateway.config import ConfigError, load_settings
from gateway.supervisor import WorkerSupervisor, worker_command
from workflows.inbound.dispatch import Dispatcher
from workflows.runtime import Runtime, start_up_frozen
from workflows.secret import SecretMissing
from workflows.settings import Settings
from workflows.storage.db import (
    Database,
    DatabaseUnavailable,
    DatabaseUnreachable,
    SchemaMismatch,
)

log = logging.getLogger(__name__)


def _host_port(value: str, option: str = "--smtp") -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit():
        raise ConfigError(f"{option} {value!r}: expected HOST:PORT, e.g. 127.0.0.1:2525")
    return host.strip("[]") or "127.0.0.1", int(port)


def _settings(args: argparse.Namespace) -> Settings:
    settings = load_settings(args.config)
    if args.smtp:
        host, port = _host_port(args.smtp)
        settings = dataclasses.replace(
            settings, smtp=dataclasses.replace(settings.smtp, host=host, port=port))
    return settings


def _runtime(settings: Settings) -> Runtime:
    """The runtime; on a home that was never initialized, initialize it first (so that a
    fresh ``make run`` accepts mail at once). A schema at another revision is refused, never
    upgraded here: at scale other processes (workers, beat, other listeners) may still run the
    release it belongs to, so the operator upgrades it with ``ticketgate init`` when they are
    stopped (``make run`` does that before ``serve``)."""
    try:
        return build_runtime(settings)
    except (DatabaseUnreachable, SchemaMismatch):
        raise  # a server down, a wrong URL, an old or newer schema: say so in one line
    except (DatabaseUnavailable, SecretMissing) as exc:
        log.warning("%s; initializing %s", exc, settings.home)
        initialize(settings)
        return build_runtime(settings)


def _celery_dispatcher(settings: Settings, db: Database) -> Dispatcher:
    # lazy: Celery is heavy and optional here
    from workflows.inbound.celery_dispatch import CeleryDispatcher

    # ``db``: a broker that is down is logged a line a mail, naming its Message-ID.
    dispatcher: Dispatcher = CeleryDispatcher.from_settings(settings, db=db)
    return dispatcher


def _start_pollers(rt: Runtime, dispatcher: Dispatcher, stop: threading.Event
                   ) -> list[threading.Thread]:
    if not rt.settings.imap:
        return []
    try:
        from gateway.imap import start_pollers
    except ImportError as exc:
        log.warning("IMAP accounts are configured but the IMAP poller is unavailable (%s); "
                    "not polling", exc)
        return []
    try:
        threads: list[threading.Thread] = start_pollers(rt, dispatcher, stop)
    except ValueError as exc:  # e.g. two [[imap]] accounts with one name
        raise ConfigError(str(exc)) from None
    return threads


def _announce(settings: Settings, address: tuple[str, int], mode: str) -> None:
    host, port = address
    box = settings.default_mailbox.address
    proto = "LMTP" if settings.smtp.lmtp else "SMTP"
    print(f"ticketgate: {proto} on {host}:{port} ({mode}); mailboxes: "
          f"{', '.join(m.address for m in settings.mailboxes)}; data in {settings.home}",
          file=sys.stderr)
    print(f"  send a first mail:  swaks --server {host}:{port} --to {box} "
          f"--from you@example.com", file=sys.stderr)
    print(f"  or:  python3 -c \"import smtplib; smtplib.SMTP('{host}', {port}).sendmail("
          f"'you@example.com', ['{box}'], b'From: you@example.com\\r\\nSubject: hello\\r\\n\\r\\n"
          f"It works?')\"",
          file=sys.stderr, flush=True)


def _quiet_session_logs(verbose: bool) -> None:
    # aiosmtpd logs every command with full addresses at INFO ("mail.log"); habits say no
    # addresses at info level, so keep it to warnings unless asked.
    if not verbose:
        logging.getLogger("mail.log").setLevel(logging.WARNING)


def serve(args: argparse.Namespace) -> int:
    """Run until SIGTERM/SIGINT; 0 on a clean stop."""
    from gateway.http.server import start_http_server  # lazy: FastAPI only for this command
    from gateway.smtp import start_listener  # lazy: aiosmtpd only for this command

    settings = _settings(args)
    if args.role == "worker":
        return _serve_worker(settings)
    if args.role == "listener" and not settings.broker_url:
        # Without a broker Celery falls back to amqp://guest@localhost//: the listener would
        # accept mail and publish it where no worker of this desk listens.
        raise ConfigError("serve --role listener hands mail to Celery workers: set "
                          "TICKETGATE_BROKER_URL (redis://... or amqp://...) or broker_url "
                          "in [gateway], or run `serve` alone (embedded workers)")
    _quiet_session_logs(getattr(args, "verbose", False))
    http_host, http_port = (_host_port(args.http, "--http") if args.http
                            else (settings.http_host, settings.http_port))
    rt = _runtime(settings)
    embedded = args.role == "all" and not settings.broker_url
    worker: WorkerSupervisor | None = None
    if embedded:
        # Processing and the scheduler (timers, SLA clocks, notice follow-ups) run in a child
        # process fed with the committed ids: its own interpreter lock (issue 15).
        worker = WorkerSupervisor(worker_command(config=args.config,
                                                 verbose=getattr(args, "verbose", False)))
        worker.start()
        dispatcher: Dispatcher = worker
    else:
        dispatcher = _celery_dispatcher(settings, rt.db)
    stop = threading.Event()
    listener = None
    http = None
    pollers: list[threading.Thread] = []
    previous = _trap_signals(stop)
    try:
        try:
            listener = start_listener(settings, rt.db, dispatcher, clock=rt.clock)
        except OSError as exc:
            fail(f"cannot listen on {settings.smtp.host}:{settings.smtp.port}: {exc.strerror}")
            return 2
        try:
            http = start_http_server(rt, http_host, http_port)
        except OSError as exc:
            fail(f"cannot serve the console on {http_host}:{http_port}: {exc.strerror}")
            return 2
        pollers = _start_pollers(rt, dispatcher, stop)
        _announce(settings, listener.address,
                  "embedded worker" if embedded else "listener; Celery workers process")
        print(f"  console and API: {http.url}  (create a user: {command_name()} user add "
              "EMAIL --role admin --password-stdin)", file=sys.stderr, flush=True)
        warning = python_email_warning()
        if warning:
            print(f"  {warning}", file=sys.stderr, flush=True)
        with start_up_frozen():
            while not stop.wait(1.0):
                pass
        log.info("stopping: no new sessions; flushing the intake writer",
                 extra={"event": "serve.stopping"})
    finally:
        stop.set()
        if listener is not None:
            listener.stop()
        for thread in pollers:
            thread.join(30)
        if http is not None:
            http.stop()
        if worker is not None:
            worker.stop()
        close = getattr(dispatcher, "close", None)  # the Celery dispatcher's connections
        if callable(close):
            close()
        rt.db.dispose()
        _restore_signals(previous)
        log.info("stopped", extra={"event": "serve.stopped"})
    return 0


def _serve_worker(settings: Settings) -> int:
    """``--role worker``: processing and the scheduler until SIGTERM/SIGINT (or, when fed by a
    listener, the end of its input)."""
    from gateway.cli.serve_worker import run_worker

    rt = _runtime(settings)
    stop = threading.Event()
    previous = _trap_signals(stop)
    try:
        return run_worker(rt, stop)
    finally:
        rt.db.dispose()
        _restore_signals(previous)


def _trap_signals(stop: threading.Event) -> dict[int, object]:
    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %s received", signal.Signals(signum).name)
        stop.set()

    previous: dict[int, object] = {}
    for sig in (signal.SIGTERM, signal.SIGINT):
        previous[sig] = signal.signal(sig, on_signal)
    return previous


def _restore_signals(previous: dict[int, object]) -> None:
    for sig, handler in previous.items():
        signal.signal(sig, handler)  # type: ignore[arg-type]
