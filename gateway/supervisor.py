"""The worker process of ``ticketgate serve``: started, fed, restarted and stopped by the listener.

Place in the flow: between the group-commit writer (and the IMAP pollers) and processing. In the
embedded default the listener process keeps only the edges (SMTP/LMTP, IMAP, the console) and the
group commit; parsing, deciding and the scheduler run in a child ``ticketgate serve --role
worker`` on the same database. Two interpreters, two interpreter locks: deciding as fast as mail
arrives no longer takes the listener's time (issue 15).

``WorkerSupervisor`` is the listener's ``Dispatcher``: ``submit`` writes the committed ids to the
child's stdin, one line per chunk, and never blocks (a full pipe or a dead child drops the line).
A dropped submission loses nothing and doubles nothing: the row is committed ``received``; the
child takes every ``received`` row when it starts and sweeps for them while it runs, and
processing claims a row in the transaction that applies its decision, so a message submitted
twice is decided once (``workflows.inbound.process``).

The child runs at a lower priority (``WORKER_NICENESS``): during a burst the listener wins the
CPU and the worker catches up after. It is restarted when it dies, after a growing pause
(``RestartBackoff``). The child stops on SIGTERM, and on end-of-file on its stdin, so it also
stops when the listener is SIGKILLed.
"""

from __future__ import annotations

import logging
import os
import select
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

log = logging.getLogger(__name__)

# POSIX makes a pipe write of at most PIPE_BUF bytes atomic: on a non-blocking pipe it is
# written whole or not at all, so the child never reads half a line.
LINE_LIMIT = select.PIPE_BUF
# The worker runs this much nicer than the listener (os.setpriority; raising niceness needs no
# privilege). During a burst the listener, smtp-source and the worker want more than 2 cores;
# the listener must win them (its 250s are what senders wait for), the worker catches up after:
# its rows are committed ``received``, so durability does not depend on when it runs. The worker
# holds SQLite's write lock while it processes a batch: during a burst its batches are short
# (``workflows.inbound.dispatch.IntakeFirst``) so a niced holder does not keep the listener out.
WORKER_NICENESS = 10
_MAIN = "import sys; from gateway.cli import main; sys.exit(main(sys.argv[1:]))"


@dataclass(frozen=True, slots=True)
class RestartBackoff:
    """How long to wait before restarting a child that died: ``first`` seconds, doubled for
    each death in a row up to ``longest``; a child that ran ``healthy_after`` seconds starts the
    count again (a crash loop slows down, a rare crash is restarted at once)."""

    first: float = 0.5
    longest: float = 30.0
    healthy_after: float = 60.0

    def delay(self, deaths_in_a_row: int) -> float:
        """Seconds to wait before the next start. Pure."""
        if deaths_in_a_row <= 0:
            return 0.0
        return min(self.first * 2 ** (deaths_in_a_row - 1), self.longest)


def encode_ids(inbound_ids: Sequence[int]) -> list[bytes]:
    """Lines of space-separated ids, each at most ``LINE_LIMIT`` bytes. Pure."""
    lines: list[bytes] = []
    current: list[str] = []
    size = 0
    for inbound_id in inbound_ids:
        text = str(int(inbound_id))
        if current and size + len(text) + 1 > LINE_LIMIT:
            lines.append((" ".join(current) + "\n").encode())
            current, size = [], 0
        current.append(text)
        size += len(text) + 1
    if current:
        lines.append((" ".join(current) + "\n").encode())
    return lines


def decode_ids(line: bytes) -> list[int]:
    """The ids of one line; a garbled token is skipped (the sweep finds its row). Pure."""
    return [int(token) for token in line.split() if token.isdigit()]


def worker_command(*, config: str | None, verbose: bool) -> list[str]:
    """``ticketgate serve --role worker`` run by this interpreter, with the listener's options."""
    options = [*(["--config", os.path.abspath(config)] if config else []),
               *(["--verbose"] if verbose else [])]
    return [sys.executable, "-c", _MAIN, *options, "serve", "--role", "worker"]


class WorkerSupervisor:
    """Runs ``command`` as a child fed with ids on its stdin; restarts it when it dies."""

    def __init__(self, command: Sequence[str], *, env: Mapping[str, str] | None = None,
                 backoff: RestartBackoff = RestartBackoff(),
                 niceness: int = WORKER_NICENESS) -> None:
        self.command = list(command)
        self.niceness = niceness
        self.env = dict(env) if env is not None else None
        self.backoff = backoff
        self.restarts = 0  # for logs and tests
        self.dropped = 0  # ids not handed over (full pipe, dead child); the sweep takes them
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._monitor = threading.Thread(target=self._watch, name="ticketgate-supervisor",
                                         daemon=True)

    @property
    def pid(self) -> int | None:
        proc = self._proc
        return proc.pid if proc is not None else None

    def start(self) -> None:
        """Start the child and the thread that restarts it. Acts."""
        with self._lock:
            self._spawn()
        self._monitor.start()

    def submit(self, inbound_ids: Sequence[int]) -> None:
        """Hand ids to the child; never blocks. A line that cannot be written whole is dropped:
        its rows are committed ``received`` and the child's sweep submits them again."""
        lines = encode_ids(inbound_ids)
        with self._lock:
            proc = self._proc
            fd = proc.stdin.fileno() if proc is not None and proc.stdin is not None else -1
            for line in lines:
                try:
                    if fd < 0:
                        raise BrokenPipeError("no worker process")
                    os.write(fd, line)
                except (BlockingIOError, BrokenPipeError, OSError) as exc:
                    self.dropped += line.count(b" ") + 1
                    log.warning("%d ids not handed to the worker process (%s); its sweep "
                                "takes them", line.count(b" ") + 1, exc)

    def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM the child and wait for its clean stop (SIGKILL after ``timeout``); no
        restart after this. Returns the child's exit code. Idempotent. Acts."""
        self._stopping.set()
        with self._lock:
            proc = self._proc
        if proc is None:
            return None
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                log.error("worker process %d did not stop within %.0f s; killing it",
                          proc.pid, timeout)
                proc.kill()
                proc.wait()
        if proc.stdin is not None:
            proc.stdin.close()
        if self._monitor.is_alive():
            self._monitor.join(timeout)
        return proc.returncode

    def _spawn(self) -> None:
        # Same process group: a Ctrl-C in the terminal reaches both, and both stop cleanly.
        proc = subprocess.Popen(self.command, stdin=subprocess.PIPE, env=self.env)
        assert proc.stdin is not None
        os.set_blocking(proc.stdin.fileno(), False)
        self._proc = proc
        self._lower_priority(proc.pid)
        print(f"ticketgate serve: worker process {proc.pid} started", file=sys.stderr, flush=True)

    def _lower_priority(self, pid: int) -> None:
        """The child at ``niceness`` more than this process (capped at 19). Acts."""
        if self.niceness <= 0:
            return
        try:
            mine = os.getpriority(os.PRIO_PROCESS, 0)
            os.setpriority(os.PRIO_PROCESS, pid, min(19, mine + self.niceness))
        except OSError as exc:  # the child may already be gone: its restart sets it again
            log.warning("cannot lower the worker process's priority: %s", exc)

    def _watch(self) -> None:
        deaths = 0
        while not self._stopping.is_set():
            proc = self._proc
            assert proc is not None
            started = time.monotonic()
            code = proc.wait()
            if self._stopping.is_set():
                return
            deaths = 1 if time.monotonic() - started >= self.backoff.healthy_after else deaths + 1
            delay = self.backoff.delay(deaths)
            print(f"ticketgate serve: worker process {proc.pid} exited ({code}); restarting in "
                  f"{delay:.1f} s", file=sys.stderr, flush=True)
            if self._stopping.wait(delay):
                return
            with self._lock:
                if self._stopping.is_set():
                    return
                if proc.stdin is not None:
                    proc.stdin.close()
                try:
                    self._spawn()
                except OSError:
                    log.exception("cannot start the worker process; trying again")
                    continue
                self.restarts += 1
