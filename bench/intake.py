"""Durable SMTP intake against a bare aiosmtpd server, measured in the same run.

Place in the flow: measures the first box of the flow (SMTP -> ``intake.accept`` commit -> 250)
and the whole of it (250 -> decision). Not a test: timings live here, never in tests/.

What runs, each in a fresh process per measurement, all on loopback:
  bare     aiosmtpd whose handler only answers 250 (nothing kept): the ceiling for Python;
  bare-uv  the same on uvloop's event loop, as ticketgate's listener runs when uvloop is
           installed: a reference row only (every ratio stays against ``bare``);
  intake   ticketgate's listener with the group-commit writer on SQLite (synchronous=FULL):
           every 250 comes after an fsync'd commit; processing is left for later;
  serve    ``ticketgate serve`` as shipped: the same listener plus its worker process
           (``serve --role worker``), parsing and deciding while the load runs (it yields to
           the listener during a burst, ``workflows.inbound.dispatch.IntakeFirst``); also reported:
           the rate at which all of the burst is decided, from the first 250 to the last decision.
Each is driven by Postfix's ``smtp-source -s 20 -m 5000 -l 4096`` with a new connection per
message and with reused connections (``-d``); rounds alternate the servers (each round starting
with another one) so that other load on the machine hits them alike, and the best round counts;
the ratio of each round to that round's bare figure is printed too (min/median/max), the
steadier figure on a shared machine, and so is the CPU time the server's process (for
``serve``: the listener's, not its worker's) spent per message during the load (utime + stime
from /proc), steadier still. Before the load each server takes one warm-up message
(``serve``: until it is decided, so the worker process is up): what is timed is the running
gateway, not its start-up. Then end-to-end latency: ``serve`` at a fixed offered rate,
``processed_at - received_at`` read from the database (p50, p99).

    python bench/intake.py [--messages 5000] [--rounds 2] [--rate 50 --seconds 20]
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import gc
import os
import shutil
import signal
import smtplib
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAILBOX = "care@localhost"  # what a config-less ticketgate declares
SERVE = ("import sys; from gateway.cli import main; sys.exit(main(sys.argv[1:]))",)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- the servers under test (run as child processes of this script) ---------------------


def run_bare(port: int, *, on_uvloop: bool = False) -> None:
    """aiosmtpd answering 250 to everything, as in the recipes' baseline; ``on_uvloop``: on
    uvloop's event loop, as ticketgate's listener runs when uvloop is installed (a reference
    row; the ratios stay against aiosmtpd as it comes)."""
    from aiosmtpd.controller import Controller

    class Accept:
        async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
            return "250 OK"

    loop = None
    if on_uvloop:
        import uvloop

        loop = uvloop.new_event_loop()
    controller = Controller(Accept(), hostname="127.0.0.1", port=port, loop=loop,
                            server_hostname="localhost", data_size_limit=25 * 1024 * 1024)
    controller.start()
    _wait_for_term()
    controller.stop()


def run_intake(port: int, home: Path) -> None:
    """ticketgate's listener and group-commit writer; ids are committed, not processed."""
    from gateway.app import build_runtime, initialize
    from gateway.config import load_settings
    from gateway.smtp import start_listener

    settings = load_settings(env={"TICKETGATE_HOME": str(home)})
    # smtp-source is one client address opening a new connection per message: lift the
    # per-address cap so a closing session still counted is not a refusal (the total stays).
    settings = dataclasses.replace(settings, smtp=dataclasses.replace(
        settings.smtp, port=port, max_sessions_per_ip=settings.smtp.max_sessions))
    initialize(settings)
    rt = build_runtime(settings)

    class Later:
        def submit(self, inbound_ids: object) -> None:
            """Processing is not measured here; the rows stay ``received``."""

    listener = start_listener(settings, rt.db, Later())
    gc.freeze()  # as ``serve`` does once started
    _wait_for_term()
    listener.stop()
    rt.db.dispose()


def _wait_for_term() -> None:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    # In steps: a signal that the kernel hands to another thread sets the flag, but does not
    # wake a main thread blocked without a timeout (a run under valgrind stayed up so).
    while not stop.wait(0.5):
        pass


@dataclasses.dataclass
class Child:
    name: str
    proc: subprocess.Popen[bytes]
    port: int
    home: Path | None

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(30)


def start(name: str, workdir: Path) -> Child:
    port = free_port()
    home = (Path(tempfile.mkdtemp(prefix=f"{name}-", dir=workdir))
            if not name.startswith("bare") else None)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if name == "serve":
        assert home is not None
        env.update(TICKETGATE_HOME=str(home))
        for var in ("TICKETGATE_BROKER_URL", "TICKETGATE_CONFIG", "TICKETGATE_DATABASE_URL"):
            env.pop(var, None)
        cmd = [sys.executable, "-c", *SERVE, "serve", "--smtp", f"127.0.0.1:{port}"]
    else:
        cmd = [sys.executable, __file__, f"--run-{name}", str(port)]
        if home is not None:
            cmd += ["--home", str(home)]
    log = open(workdir / f"{name}.log", "ab")  # noqa: SIM115 - the child writes it
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=log)
    log.close()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{name} exited at start; see {workdir / (name + '.log')}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
                sock.recv(512)  # the greeting: the server is really up
            return Child(name, proc, port, home)
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"{name} did not listen within 60 s")


# --- load and measurements ---------------------------------------------------------------


def smtp_source(tool: str, port: int, messages: int, sessions: int, size: int, reuse: bool
                ) -> float:
    """Seconds smtp-source takes to deliver ``messages``."""
    cmd = [tool, "-s", str(sessions), "-m", str(messages), "-l", str(size),
           "-f", "bench@example.com", "-t", MAILBOX]
    if reuse:
        cmd.append("-d")
    began = time.perf_counter()
    done = subprocess.run([*cmd, f"127.0.0.1:{port}"], capture_output=True, text=True,
                          timeout=1800)
    elapsed = time.perf_counter() - began
    if done.returncode != 0 or done.stderr.strip():
        raise SystemExit(f"smtp-source failed: {done.stderr.strip()[:500]}")
    return elapsed


def warm_up(child: Child) -> None:
    """One message through ``child`` before the load; for ``serve``, until it is decided."""
    smtp = smtplib.SMTP("127.0.0.1", child.port, timeout=60)
    try:
        smtp.sendmail("warm-up@example.com", [MAILBOX], (
            f"From: warm-up@example.com\r\nTo: {MAILBOX}\r\nSubject: warm-up\r\n"
            "Message-ID: <warm-up@bench.example>\r\n\r\nHello.\r\n").encode())
    finally:
        smtp.quit()
    if child.name == "serve":
        deadline = time.monotonic() + 120
        while _unfinished(child) and time.monotonic() < deadline:
            time.sleep(0.05)


def db_path(child: Child) -> Path:
    assert child.home is not None
    return child.home / "ticketgate.db"


def stored(child: Child) -> int:
    with sqlite3.connect(db_path(child), timeout=30) as conn:
        return int(conn.execute("select count(*) from inbound_messages").fetchone()[0])


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far, its own threads only (not children)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def servers() -> tuple[str, ...]:
    """The servers measured: bare aiosmtpd on uvloop too when uvloop is installed."""
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return ("bare", "intake", "serve")
    return ("bare", "bare-uv", "intake", "serve")


def throughput(args: argparse.Namespace, tool: str, workdir: Path
               ) -> tuple[dict[tuple[str, bool], list[float]], dict[tuple[str, bool], list[float]]]:
    """msg/s and the server process's CPU us per message, per (server, reuse), per round."""
    rates: dict[tuple[str, bool], list[float]] = {}
    cpu: dict[tuple[str, bool], list[float]] = {}
    names = servers()
    for round_ in range(args.rounds):
        for reuse in (False, True):
            # Each round starts with another server: none always runs first (or last).
            first = round_ % len(names)
            for name in names[first:] + names[:first]:
                child = start(name, workdir)
                try:
                    warm_up(child)
                    # What the previous server left dirty in the page cache (tens of MB with
                    # serve's processing) is written out now, not during this load: its
                    # writeback slowed the next server's fsyncs (commit p50 4-6 ms after a
                    # bare round, 7-14 ms right after a serve round), whichever came next.
                    os.sync()
                    began = time.monotonic()
                    cpu_before = cpu_seconds(child.proc.pid)
                    seconds = smtp_source(tool, child.port, args.messages, args.sessions,
                                          args.size, reuse)
                    cpu.setdefault((name, reuse), []).append(
                        (cpu_seconds(child.proc.pid) - cpu_before) / args.messages * 1e6)
                    if child.home is not None and stored(child) != args.messages + 1:
                        raise SystemExit(f"{name}: {stored(child) - 1} rows for "
                                         f"{args.messages} messages")
                    if name == "serve":  # the worker yields during the burst: when is all decided?
                        deadline = time.monotonic() + 600
                        while _unfinished(child) and time.monotonic() < deadline:
                            time.sleep(0.05)
                        rates.setdefault(("decided", reuse), []).append(
                            args.messages / (time.monotonic() - began))
                finally:
                    child.stop()
                rate = args.messages / seconds
                rates.setdefault((name, reuse), []).append(rate)
                print(f"  round {round_ + 1} {name:6} {'-d' if reuse else '  '} "
                      f"{rate:7.0f} msg/s {cpu[(name, reuse)][-1]:5.0f} us CPU a message",
                      file=sys.stderr, flush=True)
                if child.home is not None:
                    shutil.rmtree(child.home, ignore_errors=True)
    return rates, cpu


def latency(args: argparse.Namespace, workdir: Path) -> tuple[list[float], float]:
    """Offer ``args.rate`` msg/s to ``serve`` for ``args.seconds``; 250-to-decision seconds."""
    child = start("serve", workdir)
    warm_up(child)  # the worker process is up: its start-up is not what is measured
    total = int(args.rate * args.seconds)
    began = time.monotonic()
    senders = 4
    errors: list[str] = []

    def send(worker: int) -> None:
        smtp = smtplib.SMTP("127.0.0.1", child.port, timeout=60)
        try:
            for n in range(worker, total, senders):
                wait = began + n / args.rate - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                raw = (f"From: latency{n}@example.com\r\nTo: {MAILBOX}\r\nSubject: bench {n}"
                       f"\r\nMessage-ID: <lat-{n}@bench.example>\r\n\r\nHello.\r\n").encode()
                smtp.sendmail(f"latency{n}@example.com", [MAILBOX], raw)
        except (OSError, smtplib.SMTPException) as exc:
            errors.append(repr(exc))
        finally:
            smtp.close()

    threads = [threading.Thread(target=send, args=(w,)) for w in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    offered = total / (time.monotonic() - began)
    if errors:
        child.stop()
        raise SystemExit(f"latency run: {errors[:3]}")
    try:
        deadline = time.monotonic() + 600
        while _unfinished(child) and time.monotonic() < deadline:
            time.sleep(0.5)
        with sqlite3.connect(db_path(child), timeout=30) as conn:
            rows = conn.execute("select received_at, processed_at from inbound_messages "
                                "where processed_at is not null and message_id like 'lat-%'"
                                ).fetchall()
    finally:
        child.stop()
    return [(_ts(done) - _ts(got)).total_seconds() for got, done in rows], offered


def _unfinished(child: Child) -> int:
    with sqlite3.connect(db_path(child), timeout=30) as conn:
        return int(conn.execute("select count(*) from inbound_messages where status in "
                                "('received', 'processing')").fetchone()[0])


def _ts(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def report(args: argparse.Namespace, rates: dict[tuple[str, bool], list[float]],
           cpu: dict[tuple[str, bool], list[float]]) -> None:
    print(f"intake: {args.messages} messages of {args.size} bytes over {args.sessions} "
          f"sessions (smtp-source), best of {args.rounds} rounds; SQLite synchronous=FULL")
    print(f"{'':34}{'new connection':>22}{'reused (-d)':>22}")
    labels = {"bare": "bare aiosmtpd (250, nothing kept)",
              "bare-uv": "  the same on uvloop (reference)",
              "intake": "ticketgate intake (250 after commit)",
              "serve": "ticketgate serve (+ embedded worker)",
              "decided": "serve, first 250 -> all decided"}
    measured = servers()
    for name, label in labels.items():
        if (name, False) not in rates:
            continue
        cells = []
        for reuse in (False, True):
            best = max(rates[(name, reuse)])
            ratio = best / max(rates[("bare", reuse)])
            cells.append(f"{best:8.0f} msg/s {ratio:5.2f}x")
        print(f"{label:34}" + "".join(f"{c:>22}" for c in cells))
    print("each round against its own bare round (min / median / max):")
    for name in measured[1:]:
        cells = []
        for reuse in (False, True):
            ratios = [x / b for x, b in zip(rates[(name, reuse)], rates[("bare", reuse)],
                                            strict=True)]
            cells.append(f"{min(ratios):.2f} / {statistics.median(ratios):.2f} / "
                         f"{max(ratios):.2f}")
        print(f"{labels[name]:34}" + "".join(f"{c:>22}" for c in cells))
    print("server process CPU us a message (min / median / max):")
    for name in measured:
        cells = []
        for reuse in (False, True):
            us = cpu[(name, reuse)]
            cells.append(f"{min(us):.0f} / {statistics.median(us):.0f} / {max(us):.0f}")
        print(f"{labels[name]:34}" + "".join(f"{c:>22}" for c in cells))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--messages", type=int, default=5000)
    p.add_argument("--sessions", type=int, default=20)
    p.add_argument("--size", type=int, default=4096)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--rate", type=float, default=50.0, help="offered msg/s for latency")
    p.add_argument("--seconds", type=float, default=20.0, help="latency run length")
    p.add_argument("--run-bare", type=int, metavar="PORT", help=argparse.SUPPRESS)
    p.add_argument("--run-bare-uv", type=int, metavar="PORT", help=argparse.SUPPRESS)
    p.add_argument("--run-intake", type=int, metavar="PORT", help=argparse.SUPPRESS)
    p.add_argument("--home", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.run_bare:
        run_bare(args.run_bare)
        return 0
    if args.run_bare_uv:
        run_bare(args.run_bare_uv, on_uvloop=True)
        return 0
    if args.run_intake:
        run_intake(args.run_intake, args.home)
        return 0
    tool = shutil.which("smtp-source") or shutil.which("smtp-source", path="/usr/sbin")
    if tool is None:
        print("smtp-source not found: apt-get install postfix", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="tg-bench-") as tmp:
        workdir = Path(tmp)
        rates, cpu = throughput(args, tool, workdir)
        waits, offered = latency(args, workdir)
    report(args, rates, cpu)
    ms = [w * 1000 for w in waits]
    print(f"end to end (serve, 250 -> decision) at {offered:.0f} msg/s offered for "
          f"{args.seconds:.0f} s: p50 {percentile(ms, 0.5):.0f} ms, p99 "
          f"{percentile(ms, 0.99):.0f} ms, mean {statistics.mean(ms):.0f} ms (n={len(ms)})")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    raise SystemExit(main())
