"""``ticketgate worker`` and ``beat`` refuse a wrong Celery setting before Celery starts.

Celery builds its configuration in a signal handler whose exceptions it only logs; a wrong
``TICKETGATE_TASK_BATCH`` used to leave it on its defaults: a worker consuming queue ``celery``
of ``amqp://guest@localhost//`` (the shared RabbitMQ of a machine, say), reporting ready. Run
as an operator runs them: subprocesses on an initialized home, the broker a closed port (and
Celery's own fallback, ``CELERY_BROKER_URL``, too, so that a regression touches no real broker).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

TICKETGATE = [sys.executable, "-c", "import sys; from gateway.cli import main; "
              "sys.exit(main(sys.argv[1:]))"]
CLOSED = "redis://127.0.0.1:9/0"  # the discard port: nothing answers there


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TICKETGATE_", "CELERY_"))}
    env.update(TICKETGATE_HOME=str(tmp_path / "home"), CELERY_BROKER_URL=CLOSED)
    subprocess.run([*TICKETGATE, "init"], env=env, check=True, capture_output=True, timeout=60)
    env.update(TICKETGATE_BROKER_URL=CLOSED, TICKETGATE_TASK_BATCH="ten")
    return env


@pytest.mark.parametrize("program", ["worker", "beat"])
def test_a_wrong_task_batch_stops_the_start_in_one_line(env, program):
    """Exit 2 and the setting named, not a Celery running on its defaults."""
    done = subprocess.run([*TICKETGATE, program], env=env, capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.stderr.splitlines() == [
        "ticketgate: error: TICKETGATE_TASK_BATCH must be a whole number, not 'ten'"]
    assert done.returncode == 2


def test_celery_itself_stops_on_a_wrong_setting(env):
    """The same setting under ``celery -A gateway.celery_app worker`` (how tests/celery_worker
    starts one): Celery exits naming the setting instead of running on its defaults."""
    done = subprocess.run([sys.executable, "-m", "celery", "-A", "gateway.celery_app", "worker",
                           "--pool=solo"], env=env, capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode != 0
    assert done.stderr.splitlines()[-1] == (
        "workflows.settings.ConfigError: TICKETGATE_TASK_BATCH must be a whole number, not 'ten'")
