"""Fan-out of one notice: 10,000 recipients in 500 organizations across 40 time zones.

Sends a planned maintenance notice (text, HTML and an ICS per organization) through the whole
path, ``workflows.notices.service.send_notice``: render once per organization, write 10,000
delivery rows, claim them in batches (compare-and-set), hand each to the keep-alive pipelined
SMTP transport, record the results. Two servers, same run:

- ``smtp-sink`` (Postfix's C test server, the ceiling of any SMTP listener on this machine);
- a bare aiosmtpd handler that only answers 250, in its own process.

For each it prints recipients/s for the whole path and for the transport alone (the same
messages, no database, no rendering), and the ratio of the two servers. Target (issue 5):
>= 3,000 recipients/s per process to smtp-sink.

    .venv/bin/python bench/fanout.py [--orgs 500] [--per-org 20] [--zones 40]
                                     [--database-url postgresql+psycopg://USER@HOST/DB]

With ``--database-url`` each run gets a fresh database on that PostgreSQL server (created and
dropped here); the default is SQLite in a temporary directory, synchronous=FULL.

smtp-sink comes with the Debian ``postfix`` package (``.ci/run`` installs it without starting
Postfix); without it that half is skipped.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import zoneinfo
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script from anywhere

from gateway.smtp_client import SmtpTransport
from workflows.cases import directory
from workflows.notices import service
from workflows.notices.mime import for_recipient
from workflows.notices.model import NoticeKind, NoticeRequest, Window
from workflows.runtime import Runtime
from workflows.settings import Mailbox, Settings
from workflows.storage.db import Database
from workflows.storage.models import NoticeDelivery, NoticePart

AIOSMTPD_SINK = """
import asyncio, sys
from aiosmtpd.controller import Controller
class Ok:
    async def handle_DATA(self, server, session, envelope):
        return "250 2.0.0 OK"
c = Controller(Ok(), hostname="127.0.0.1", port=int(sys.argv[1]), server_hostname="sink")
c.start()
sys.stdout.write("ready\\n"); sys.stdout.flush()
sys.stdin.read()  # until the bench closes our stdin
c.stop()
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_listening(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise SystemExit(f"nothing listens on 127.0.0.1:{port}")


def fresh_database(server_url: str, label: str) -> str:
    """A new, empty PostgreSQL database on the server of ``server_url`` (dropped at exit)."""
    import atexit
    import contextlib

    from bench.scratch import scratch_database

    stack = contextlib.ExitStack()
    atexit.register(stack.close)
    url = stack.enter_context(scratch_database(server_url, prefix=f"tg_fanout_{label}"))
    assert url is not None
    return url


def zones(count: int) -> list[str]:
    names = sorted(z for z in zoneinfo.available_timezones()
                   if "/" in z and not z.startswith(("Etc/", "SystemV/", "posix/", "right/")))
    step = max(len(names) // count, 1)
    return names[::step][:count]


def run_once(label: str, port: int, args: argparse.Namespace, workdir: Path) -> float:
    home = workdir / label
    home.mkdir()
    url = fresh_database(args.database_url, label) if args.database_url else \
        f"sqlite:///{home / 'bench.db'}"
    settings = Settings(home=home, database_url=url,
                        mailboxes=(Mailbox("care@desk.example"),),
                        from_address="care@desk.example", message_id_domain="desk.example",
                        transport=f"smtp://127.0.0.1:{port}")
    db = Database(url)
    db.migrate()
    start = dt.datetime(2026, 3, 8, 6, 0, tzinfo=dt.UTC)
    now = start - dt.timedelta(days=10)
    rt = Runtime(settings=settings, db=db, key=b"k" * 32,
                 transport=SmtpTransport("127.0.0.1", port), clock=lambda: now)
    tz = zones(args.zones)
    with db.transaction() as s:
        for i in range(args.orgs):
            directory.add_organization(
                s, name=f"Org {i:04d}", domains=[f"org{i}.example"], timezone=tz[i % len(tz)],
                country=None, notify=[f"ops{j}@org{i}.example" for j in range(args.per_org)],
                now=now)
        ref = service.create_notice(s, settings, NoticeRequest(
            NoticeKind.PLANNED, "Core switch upgrade", "Calls may drop for up to 5 minutes",
            starts_at=start, ends_at=start + dt.timedelta(hours=4), window=Window.WEEKLY,
            details="We replace the core switches of the voice platform."),
            now=now, actor="bench").reference
    began, cpu = time.perf_counter(), time.process_time()
    mailed = service.send_notice(rt, ref, actor="bench")
    elapsed, cpu = time.perf_counter() - began, time.process_time() - cpu
    total = args.orgs * args.per_org
    assert mailed.report.sent == total, mailed
    whole = total / elapsed
    # The transport alone: the same bytes, one connection, no database or rendering.
    with db.transaction() as s:
        parts = dict(s.query(NoticePart.id, NoticePart.content).all())
        rows = s.query(NoticeDelivery.part_id, NoticeDelivery.recipient,
                       NoticeDelivery.message_id).all()
    raws = [(for_recipient(parts[p], r, m), r, m) for p, r, m in rows]
    began = time.perf_counter()
    with SmtpTransport("127.0.0.1", port).session() as conn:
        for raw, recipient, message_id in raws:
            conn.send(raw, settings.from_address, [recipient], message_id)
    transport = total / (time.perf_counter() - began)
    size = sum(len(r) for r, _, _ in raws) // len(raws)
    db.dispose()
    print(f"{label:16s} {total} recipients ({size} bytes each) in {elapsed:5.2f} s: "
          f"{whole:6.0f} recipients/s whole path, {total / cpu:6.0f} per CPU-second of this "
          f"process ({cpu * 1e6 / total:.0f} us each); transport alone {transport:6.0f}/s")
    return whole


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orgs", type=int, default=500)
    parser.add_argument("--per-org", type=int, default=20)
    parser.add_argument("--zones", type=int, default=40)
    parser.add_argument("--database-url", help="a PostgreSQL server (default: SQLite)")
    args = parser.parse_args()
    if args.database_url and not args.database_url.startswith("postgresql"):
        raise SystemExit("--database-url: a PostgreSQL server URL (SQLite is the default)")
    print(f"fanout: {args.orgs * args.per_org} recipients, {args.orgs} organizations, "
          f"{args.zones} time zones; planned maintenance with an ICS per organization; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    rates: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="tg-fanout-") as tmp:
        workdir = Path(tmp)
        sink_bin = shutil.which("smtp-sink") or "/usr/sbin/smtp-sink"
        if os.path.exists(sink_bin):
            port = free_port()
            sink = subprocess.Popen([sink_bin, "-u", "nobody", "-c", f"127.0.0.1:{port}", "256"],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                wait_listening(port)
                rates["smtp-sink"] = run_once("smtp-sink", port, args, workdir)
            finally:
                sink.terminate()
                sink.wait(timeout=30)
        else:
            print("smtp-sink not found (Debian package postfix): skipped")
        port = free_port()
        sink = subprocess.Popen([sys.executable, "-c", AIOSMTPD_SINK, str(port)],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            assert sink.stdout is not None and sink.stdout.readline().strip() == "ready"
            rates["aiosmtpd"] = run_once("aiosmtpd (bare)", port, args, workdir)
        finally:
            assert sink.stdin is not None
            sink.stdin.close()
            sink.wait(timeout=30)
            if sink.stdout is not None:
                sink.stdout.close()
    if "smtp-sink" in rates and "aiosmtpd" in rates:
        print(f"ratio aiosmtpd / smtp-sink: {rates['aiosmtpd'] / rates['smtp-sink']:.2f}")
    if "smtp-sink" in rates:
        verdict = "met" if rates["smtp-sink"] >= 3000 else "NOT met"
        print(f"target >= 3,000 recipients/s per process to smtp-sink: {verdict} (wall clock; "
              f"load average now {os.getloadavg()[0]:.1f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
