"""Fixtures for the clock's tests: ``ticketgate`` as a subprocess on the test's home and
database, sending to a real SMTP sink on loopback (``tests.notices.conftest.Sink``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from tests.celery_worker import write_config
from tests.notices.conftest import Sink, desk, nrt, sink  # noqa: F401 - shared fixtures
from workflows.settings import Settings

# The console script's entry point, run by this interpreter (no dependence on PATH).
_MAIN = "import sys; from gateway.cli import main; sys.exit(main(sys.argv[1:]))"
WAIT = 60.0  # generous: a loaded 2-core machine may be slow to start a process


@dataclass(frozen=True)
class Done:
    code: int
    out: list[dict]
    err: str


def ticketgate_env(settings: Settings, smtp_port: int) -> dict[str, str]:
    """What a deployed ``ticketgate`` reads: its home (with config.toml), the database and an
    SMTP transport to the sink; nothing else of the test's environment."""
    write_config(settings)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TICKETGATE_")}
    env.update(TICKETGATE_HOME=str(settings.home), TICKETGATE_DATABASE_URL=settings.database_url,
               TICKETGATE_TRANSPORT=f"smtp://127.0.0.1:{smtp_port}",
               TICKETGATE_SQLITE_SYNCHRONOUS="NORMAL")
    return env


@pytest.fixture
def ticketgate(settings: Settings, sink: tuple[Sink, int]) -> Callable[..., Done]:  # noqa: F811
    """Run ``ticketgate ARGS`` in a subprocess; its JSON lines parsed."""
    env = ticketgate_env(settings, sink[1])

    def run(*argv: str) -> Done:
        proc = subprocess.run([sys.executable, "-c", _MAIN, *argv], env=env,
                              capture_output=True, text=True, timeout=WAIT, check=False)
        out = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
        return Done(proc.returncode, out, proc.stderr)

    return run


def wait_for(condition: Callable[[], bool], what: str, timeout: float = WAIT) -> None:
    """Poll ``condition`` until it holds; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.05)
