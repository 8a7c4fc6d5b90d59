"""The product as deployed, driven from outside: processes, the CLI, SMTP and the API.

A ``Deployment`` is one running desk: ``ticketgate serve`` as a child process on a home of its
own (embedded SQLite), or the scale-out shape (PostgreSQL, ``serve --role listener``, a Celery
worker and beat on Redis). Tests act on it only the ways an operator and a customer can: the
``ticketgate`` command line (each call a fresh process), mail over SMTP to the listener, the
HTTP API with a token, and ``ticketgate timers run --at`` to move the clock. What they judge is
what left: the mail in the capture sink, the CLI's JSON and the API's answers.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import signal
import smtplib
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import make_msgid
from enum import StrEnum
from pathlib import Path
from typing import Any

from tests.acceptance.sink import CaptureSink
from tests.gateway.serving import ServeProcess

_MAIN = "import sys; from gateway.cli import main; sys.exit(main(sys.argv[1:]))"
# Several commands through the same ``main`` in one interpreter: setup steps pay the import
# cost once (two seconds a process on a loaded two-core machine). Each command still parses
# its own argv, opens and closes its own runtime, and reports its own exit code.
_MANY = """\
import json, sys
from gateway.cli import main
for argv in json.loads(sys.argv[1]):
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 2
    print(f"\\n@@exit {code}", flush=True)
    print(f"@@exit {code}", file=sys.stderr, flush=True)
"""
DESK = "desk.example"
CARE = f"care@{DESK}"  # policy triage
NEW = f"new@{DESK}"  # policy open_case: a designated contact's mail opens a case
TEAM = f"team@{DESK}"  # SLA warnings/breaches, RCA reminders
MANAGERS = f"managers@{DESK}"  # escalations
WAIT = 60.0  # generous: two cores shared by many


class Shape(StrEnum):
    EMBEDDED = "embedded"  # serve does everything, SQLite
    SCALE_OUT = "scale-out"  # PostgreSQL; serve --role listener; Celery worker and beat


@dataclass(frozen=True, slots=True)
class CliResult:
    code: int
    lines: tuple[dict[str, Any], ...]
    stderr: str

    @property
    def one(self) -> dict[str, Any]:
        assert len(self.lines) == 1, self.lines
        return self.lines[0]


@dataclass(frozen=True, slots=True)
class Services:
    """Where the scale-out shape finds its servers (None: the embedded shape)."""

    database_url: str
    broker_url: str
    queue: str


def config_toml(sink_port: int) -> str:
    """The desk's configuration: three mailboxes, a care team, mail out to the sink."""
    return f"""\
[gateway]
from_address = "{CARE}"
message_id_domain = "{DESK}"
escalation_address = "{MANAGERS}"
care_team_address = "{TEAM}"
transport = "smtp://127.0.0.1:{sink_port}"
sqlite_synchronous = "NORMAL"

[[mailbox]]
address = "{CARE}"
policy = "triage"

[[mailbox]]
address = "{NEW}"
policy = "open_case"

[[mailbox]]
address = "escalations@{DESK}"
policy = "triage"
escalation = true
"""


def clock_argv(at: dt.datetime) -> tuple[str, ...]:
    """The command that moves the clock to ``at`` (given with its offset: no zone guessed)."""
    return ("timers", "run", "--at", at.astimezone(dt.UTC).isoformat())


@dataclass
class Deployment:
    shape: Shape
    home: Path
    sink: CaptureSink
    services: Services | None = None
    serve: ServeProcess | None = None
    _celery: list[subprocess.Popen[bytes]] = field(default_factory=list)
    api_url: str = ""

    # -- environment ------------------------------------------------------------------------
    @property
    def env(self) -> dict[str, str]:
        """What every process of this desk sees: no stray TICKETGATE_* from the caller."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("TICKETGATE_")}
        env["TICKETGATE_HOME"] = str(self.home)
        if self.services is not None:
            env.update(TICKETGATE_DATABASE_URL=self.services.database_url,
                       TICKETGATE_BROKER_URL=self.services.broker_url,
                       TICKETGATE_QUEUE=self.services.queue)
        return env

    # -- lifecycle --------------------------------------------------------------------------
    def start(self) -> None:
        """Embedded: ``serve`` on a fresh home, as ``make run`` does (it initializes the home
        itself). Scale-out: ``ticketgate init`` first (the compose file's ``init`` service),
        then the worker and beat, then the listener."""
        self.home.mkdir(parents=True, exist_ok=True)
        (self.home / "config.toml").write_text(config_toml(self.sink.port), encoding="utf-8")
        if self.services is not None:
            self.cli("init")
            self._start_celery()
        self.start_serve()

    def start_serve(self) -> None:
        role = ("--role", "listener") if self.shape is Shape.SCALE_OUT else ()
        if self.serve is None:
            self.serve = ServeProcess(self.home, extra_args=role, env=self.env)
        self.serve.start()
        out = self.serve.wait_for_output("console and API: http://")
        found = re.search(r"console and API: (http://\S+)", out.rsplit("ticketgate: ", 1)[-1])
        assert found, out
        self.api_url = found.group(1).rstrip("/")

    def restart_serve(self) -> None:
        """SIGTERM and start again on the same home, port and database."""
        assert self.serve is not None
        assert self.serve.stop() == 0, self.serve.output()
        self.start_serve()

    def _start_celery(self) -> None:
        assert self.services is not None
        queue = self.services.queue
        started = []
        for program, extra, ready in (
                ("worker", ("--pool=solo", f"--hostname={queue}@acceptance",
                            "--without-gossip", "--without-mingle", "--without-heartbeat"),
                 b" ready."),
                ("beat", (f"--schedule={self.home / 'beat-schedule'}",), b"beat: Starting")):
            log = self.home / f"{program}.log"
            with open(log, "ab") as out:
                proc = subprocess.Popen(
                    [sys.executable, "-c", _MAIN, program, "--loglevel=INFO", *extra],
                    env=self.env, stdout=out, stderr=subprocess.STDOUT,
                    start_new_session=True)
            self._celery.append(proc)
            started.append((program, proc, log, ready))
        for program, proc, log, ready in started:  # both start at once: two cores
            self._wait(lambda log=log, ready=ready: ready in log.read_bytes(),
                       f"{program} to start", proc=proc, log=log)

    def _wait(self, condition: Callable[[], bool], what: str, *,
              proc: subprocess.Popen[bytes],
              log: Path) -> None:
        deadline = time.monotonic() + WAIT
        while not condition():
            if proc.poll() is not None or time.monotonic() > deadline:
                tail = log.read_text(errors="replace")[-4000:]
                raise AssertionError(f"gave up waiting for {what}:\n{tail}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.serve is not None:
            self.serve.ensure_dead()
        for proc in self._celery:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(30)
        self._celery.clear()

    def logs(self) -> str:
        parts = []
        for name in ("serve.log", "worker.log", "beat.log"):
            path = self.home / name
            if path.exists():
                parts.append(f"--- {name} ---\n{path.read_text(errors='replace')[-3000:]}")
        return "\n".join(parts)

    # -- the operator's tools ---------------------------------------------------------------
    def cli(self, *args: str, stdin: str | None = None, expect: int | None = 0) -> CliResult:
        """``ticketgate ARGS`` in a fresh process; its JSON lines (fails on an exit other
        than ``expect``; ``None``: any exit)."""
        done = subprocess.run([sys.executable, "-c", _MAIN, *args], env=self.env,
                              input=(stdin or "").encode(), capture_output=True, timeout=120,
                              check=False)
        stderr = done.stderr.decode(errors="replace")
        if expect is not None and done.returncode != expect:
            raise AssertionError(f"ticketgate {' '.join(args)} exited {done.returncode} "
                                 f"(expected {expect}):\n{stderr}\n{done.stdout.decode()}")
        lines = tuple(json.loads(line) for line in done.stdout.decode().splitlines()
                      if line.strip().startswith("{"))
        return CliResult(done.returncode, lines, stderr)

    def cli_many(self, *commands: tuple[str, ...]) -> list[CliResult]:
        """Each of ``commands`` run by the CLI's ``main`` in one process, in order; fails on
        the first that does not exit 0."""
        done = subprocess.run([sys.executable, "-c", _MANY, json.dumps(commands)],
                              env=self.env, capture_output=True, timeout=300, check=False)
        outs = done.stdout.decode().split("@@exit ")
        errs = done.stderr.decode(errors="replace").split("@@exit ")
        results = []
        for i, argv in enumerate(commands):
            if i + 1 >= len(outs):
                raise AssertionError(f"ticketgate {' '.join(argv)} did not finish:\n"
                                     f"{done.stderr.decode(errors='replace')}")
            code = int(outs[i + 1].split(maxsplit=1)[0])
            body = outs[i].split("\n", 1)[1] if i else outs[i]
            stderr = errs[i].split("\n", 1)[1] if i else errs[i]
            if code != 0:
                raise AssertionError(f"ticketgate {' '.join(argv)} exited {code}:\n{stderr}")
            results.append(CliResult(code, tuple(
                json.loads(line) for line in body.splitlines()
                if line.strip().startswith("{")), stderr))
        return results

    def clock(self, at: dt.datetime) -> dict[str, Any]:
        """``ticketgate timers run --at AT``: one pass of everything due at that moment."""
        return self.cli(*clock_argv(at)).one

    def token(self, email: str, role: str) -> str:
        self.cli("user", "add", email, "--role", role, "--no-password")
        return str(self.cli("token", "create", email, "--name", "acceptance").one["token"])

    # -- the customer's side ----------------------------------------------------------------
    def send_mail(self, *, sender: str, to: str, subject: str, body: str,
                  reply_to: EmailMessage | None = None,
                  attachment: tuple[str, bytes] | None = None) -> str:
        """A customer's mail over SMTP to the listener; its Message-ID. ``reply_to``: a mail
        we received, answered the way a mail client does (RFC 5322 3.6.4)."""
        msg = EmailMessage()
        msg["From"] = sender
        msg["To"] = to
        msg["Subject"] = subject
        msg["Date"] = dt.datetime.now(dt.UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")
        msg["Message-ID"] = make_msgid(idstring=uuid.uuid4().hex[:8], domain="client.example")
        if reply_to is not None:
            parent = str(reply_to["Message-ID"]).strip()
            chain = str(reply_to.get("References", "")).split()
            msg["In-Reply-To"] = parent
            msg["References"] = " ".join([*chain, parent])
        msg.set_content(body)
        if attachment is not None:
            name, data = attachment
            msg.add_attachment(data, maintype="text", subtype="plain", filename=name)
        assert self.serve is not None
        with smtplib.SMTP(*self.serve.address, timeout=WAIT) as smtp:
            smtp.send_message(msg, from_addr=sender, to_addrs=[to])
        return str(msg["Message-ID"])

    # -- the analyst's side -----------------------------------------------------------------
    def api(self, method: str, path: str, token: str, body: dict[str, Any] | None = None
            ) -> tuple[int, Any]:
        request = urllib.request.Request(
            f"{self.api_url}/api/v1{path}", method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=WAIT) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            with exc:
                return exc.code, json.loads(exc.read() or b"null")

    def wait_until(self, condition: Callable[[], bool], what: str, timeout: float = WAIT
                   ) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"gave up waiting for {what}\n{self.logs()}")
            time.sleep(0.2)
