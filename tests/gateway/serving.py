"""``ticketgate serve`` as a child process for tests: started on a free port, killed at will."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

# The console script's entry point, run by this interpreter (no dependence on PATH).
_MAIN = "import sys; from gateway.cli import main; sys.exit(main(sys.argv[1:]))"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServeProcess:
    """``ticketgate serve --smtp 127.0.0.1:PORT`` with its own home, log and environment."""

    def __init__(self, home: Path, *, database_url: str | None = None,
                 extra_args: tuple[str, ...] = (), env: dict[str, str] | None = None,
                 command: Sequence[str] = (sys.executable, "-c", _MAIN),
                 cwd: Path | None = None) -> None:
        """``command`` is what runs ``ticketgate`` (an installed console script, say), in
        ``cwd`` (default: the test's)."""
        home.mkdir(parents=True, exist_ok=True)
        self.home = home
        self.port = free_port()
        self.log = home / "serve.log"
        # The console gets a port of its own unless the test names one: port 0, bound by the
        # child itself (a number picked here and bound later could be taken meanwhile -- even
        # by this SMTP port, as two free_port() calls in a row may return the same number).
        http = () if "--http" in extra_args else ("--http", "127.0.0.1:0")
        self.args = ("serve", "--smtp", f"127.0.0.1:{self.port}", *http, *extra_args)
        self.command = tuple(command)
        self.cwd = cwd
        self.env = {**os.environ, "TICKETGATE_HOME": str(home), **(env or {})}
        for name in ("TICKETGATE_BROKER_URL", "TICKETGATE_CONFIG", "TICKETGATE_DATABASE_URL"):
            if name not in (env or {}):
                self.env.pop(name, None)
        if database_url:
            self.env["TICKETGATE_DATABASE_URL"] = database_url
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> tuple[str, int]:
        return "127.0.0.1", self.port

    def start(self, timeout: float = 120.0) -> None:
        """Start and wait until the port answers with a greeting.

        A start that does not answer in time is killed before the error is raised: a child
        left running would hold its port, and the ``ResourceWarning`` its ``Popen`` gives when
        collected (an error under ``filterwarnings = error``) would fail some later test.
        """
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen([*self.command, *self.args], env=self.env,
                                         cwd=self.cwd, stdout=log, stderr=log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"serve exited {self.proc.returncode}:\n{self.output()}")
            try:
                with socket.create_connection(self.address, timeout=5) as sock:
                    if sock.recv(512).startswith(b"220 "):
                        return
            except OSError:
                pass
            time.sleep(0.1)
        self.ensure_dead()
        raise AssertionError(f"serve did not answer within {timeout:.0f} s:\n{self.output()}")

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def wait_for_output(self, text: str, timeout: float = 30.0) -> str:
        """The log once it holds ``text``: the port answers before the banner is printed."""
        deadline = time.monotonic() + timeout
        while text not in (out := self.output()):
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} not printed within {timeout:.0f} s:\n{out}")
            time.sleep(0.05)
        return out

    def kill(self) -> None:
        """SIGKILL: no flush, no goodbye."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)

    def stop(self, timeout: float = 60.0) -> int:
        """SIGTERM, wait for the clean stop; the exit code (killed if it hangs)."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(30)
                raise AssertionError("serve did not stop on SIGTERM") from None
        return self.proc.returncode

    def ensure_dead(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(30)
