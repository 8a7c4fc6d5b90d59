"""``ticketgate worker`` and ``ticketgate beat``: Celery's own programs for ``workflows.tasks``.

Place in the flow: the at-scale deployment. ``ticketgate serve --role listener`` commits mail
and publishes ids; these run the workers that process them and the beat that sweeps and runs
the clock.
Both check that a broker is configured (a clear error and exit 2 instead of Celery quietly
dialling amqp://localhost), then replace this process with ``celery -A gateway.celery_app ...`` so
that signals (SIGTERM: warm shutdown) reach Celery directly. Extra arguments go to Celery:
``ticketgate worker --pool=threads -c 8``.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING

from gateway.cli.output import fail
from gateway.config import load_settings

if TYPE_CHECKING:
    from workflows.settings import Settings


def _celery_argv(args: argparse.Namespace, program: str, settings: Settings
                 ) -> list[str] | None:
    """The command line to exec, or None (after a one-line error) when no broker is set."""
    if not settings.broker_url:
        fail(f"`ticketgate {program}` needs a broker: set TICKETGATE_BROKER_URL "
             "(redis://... or amqp://...) or broker_url in [gateway]")
        return None
    # The whole Celery configuration, checked here: the exec'd Celery builds it again in a
    # signal handler whose exceptions Celery only logs, and then runs on its defaults
    # (amqp://guest@localhost//, queue "celery") -- a worker consuming some other queue.
    from workflows.tasks import celery_config, celery_options  # lazy: Celery is heavy

    celery_config(settings, celery_options())  # raises ConfigError: exit 2, one line
    extra = [a for a in (args.celery_args or []) if a != "--"]
    # Celery's own default is WARNING, which would hide the mail.decided, mail.sent and
    # clock.job lines these services promise at INFO; a --loglevel given after it wins.
    level = "--loglevel=DEBUG" if args.verbose else "--loglevel=INFO"
    return [sys.executable, "-m", "celery", "-A", "gateway.celery_app", program, level, *extra]


def _exec(args: argparse.Namespace, program: str, settings: Settings) -> int:
    argv = _celery_argv(args, program, settings)
    if argv is None:
        return 2
    if args.config:
        # The exec'd Celery loads its settings again, from the environment: pass the file on.
        os.environ["TICKETGATE_CONFIG"] = os.path.abspath(args.config)
    os.environ["TICKETGATE_LOG_FORMAT"] = args.log_format  # gateway.celery_app reads it
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(argv[0], argv)
    return 0  # pragma: no cover - execv does not return


def worker(args: argparse.Namespace) -> int:
    """Run a Celery worker consuming the ticketgate queue (``TICKETGATE_QUEUE``)."""
    settings = load_settings(args.config)
    if settings.broker_url:
        _check_runtime(settings)
    return _exec(args, "worker", settings)


def _check_runtime(settings: Settings) -> None:
    """Raise (exit 3, one line) unless the database and the secret are there, as ``serve``
    does: a worker without them reports ready, then fails every task it takes."""
    from gateway.app import build_runtime  # lazy: the database layer, for this check only

    build_runtime(settings).db.dispose()


def beat(args: argparse.Namespace) -> int:
    """Run Celery beat: the periodic sweep and the clock's pass (``run_timers``)."""
    return _exec(args, "beat", load_settings(args.config))
