"""A real Celery worker for tests: ``ticketgate worker`` in a subprocess, on a queue of its own.

The worker reads its configuration the way production does (environment and the TOML file in
``TICKETGATE_HOME``), so the test writes the test ``Settings`` there and passes the database
and broker URLs in the environment.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from celery import Celery

from workflows.settings import Settings

WAIT = 60.0  # generous: a loaded 2-core CI machine may be slow to fork and import


def write_config(settings: Settings) -> Path:
    """The test settings as ``$TICKETGATE_HOME/config.toml`` (what the worker will load)."""
    lines = ["[gateway]",
             f'from_address = "{settings.from_address}"',
             f'message_id_domain = "{settings.message_id_domain}"',
             f'sqlite_synchronous = "{settings.sqlite_synchronous}"',
             "trusted_authserv_ids = [" + ", ".join(
                 f'"{t}"' for t in settings.trusted_authserv_ids) + "]"]
    if settings.escalation_address:
        lines.append(f'escalation_address = "{settings.escalation_address}"')
    for box in settings.mailboxes:
        lines += ["", "[[mailbox]]", f'address = "{box.address}"',
                  f'policy = "{box.policy.value}"', f"escalation = {str(box.escalation).lower()}"]
    path = settings.home / "config.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def wait_until(condition: Callable[[], bool], what: str, *,
               worker: WorkerProcess | None = None, timeout: float = WAIT) -> None:
    """Poll ``condition`` until it holds; fail (with the worker's log) after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            log = worker.log_tail() if worker else ""
            pytest.fail(f"gave up waiting for {what}\n--- worker log ---\n{log}")
        time.sleep(0.1)


class WorkerProcess:
    """``ticketgate worker`` with a prefork pool of one process, consuming ``queue`` only."""

    def __init__(self, settings: Settings, broker_url: str, queue: str) -> None:
        self.settings = settings
        self.queue = queue
        self.nodename = f"{queue}@test"
        self.log_path = settings.home / f"worker-{queue}.log"
        write_config(settings)
        env = {k: v for k, v in os.environ.items() if not k.startswith("TICKETGATE_")}
        env.update(TICKETGATE_HOME=str(settings.home),
                   TICKETGATE_DATABASE_URL=settings.database_url,
                   TICKETGATE_BROKER_URL=broker_url,
                   TICKETGATE_QUEUE=queue)
        self._env = env
        self._proc: subprocess.Popen[bytes] | None = None
        self._starts = 0

    @property
    def pid(self) -> int:
        assert self._proc is not None
        return self._proc.pid

    def start(self, *, via_cli: bool = False, loglevel: str | None = "INFO") -> None:
        """Start the worker and wait until it consumes (it logs ``ready.``, at INFO).

        ``via_cli``: through ``ticketgate worker`` (which execs Celery); otherwise Celery's own
        ``celery -A gateway.celery_app worker``, one interpreter start cheaper. ``loglevel``
        None: no ``--loglevel``, as a user who types the documented command runs it.
        """
        if via_cli:
            program = [str(Path(sys.executable).with_name("ticketgate")), "worker", "--"]
        else:
            program = [sys.executable, "-m", "celery", "-A", "gateway.celery_app", "worker"]
        level = [f"--loglevel={loglevel}"] if loglevel else []
        argv = [*program, "--pool=prefork", "--concurrency=1", f"--hostname={self.nodename}",
                *level, "--without-gossip", "--without-mingle", "--without-heartbeat"]
        self._starts += 1
        with open(self.log_path, "ab") as log:
            self._proc = subprocess.Popen(argv, env=self._env, stdout=log,
                                          stderr=subprocess.STDOUT, start_new_session=True)
        wait_until(lambda: self._log().count(b" ready.") >= self._starts,
                   f"worker {self.nodename} to start", worker=self)

    def pool_pids(self) -> list[int]:
        """The prefork pool's processes (children of the worker's main process)."""
        path = Path(f"/proc/{self.pid}/task/{self.pid}/children")
        try:
            return [int(p) for p in path.read_text().split()]
        except FileNotFoundError:
            return []

    @staticmethod
    def is_dead(pid: int) -> bool:
        """True once ``pid`` has exited (a zombie counts: its parent reaps it at leisure)."""
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except FileNotFoundError:
            return True
        return stat.rpartition(")")[2].split()[0] in ("Z", "X")

    def drain(self, celery: Celery) -> None:
        """Wait (bounded) until the worker holds no task: every delivery is acknowledged, so
        killing it leaves nothing unacknowledged on the broker (Redis would keep it)."""
        deadline = time.monotonic() + WAIT / 4
        while time.monotonic() < deadline:
            inspect = celery.control.inspect(destination=[self.nodename], timeout=1.0)
            held = [(inspect.active() or {}).get(self.nodename),
                    (inspect.reserved() or {}).get(self.nodename)]
            if held == [[], []]:
                return
            time.sleep(0.1)

    def stop(self) -> None:
        """Kill the worker and its pool (one process group: the session it was started in).

        No warm shutdown: the test is over and its queue is deleted next; on RabbitMQ a warm
        shutdown idles seconds until the worker's event loop next wakes up.
        """
        proc, self._proc = self._proc, None
        if proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(WAIT)

    def _log(self) -> bytes:
        if self._proc is not None and self._proc.poll() is not None:
            pytest.fail(f"worker exited with {self._proc.returncode}\n{self.log_tail()}")
        try:
            return self.log_path.read_bytes()
        except FileNotFoundError:
            return b""

    def log_tail(self, lines: int = 60) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])
