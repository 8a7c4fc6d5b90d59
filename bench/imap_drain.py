"""Bench: drain 10,000 messages from a real Dovecot with the IMAP poller, in msgs/s.

Place in the flow: measures the IMAP edge up to and including the durable boundary -- the
poller's own unit of work (``gateway.imap.drain.FolderDrain``): UID FETCH BODY.PEEK[] in
batches, ``accept_many`` (one commit per batch), the recorded progress and UID MOVE of the batch
to the processed folder. Processing is not measured (the dispatcher only counts ids).

The baseline, measured in the same run against the same server and messages, is imapclient alone
fetching every message with BODY.PEEK[] in the same batches (no database, no MOVE): the ceiling
of any Python poller on this machine. Target (issue 3): drain >= 1,000 msg/s.

    python bench/imap_drain.py [--count 10000] [--batch-size 100] [--database-url URL]

Needs the ``dovecot`` binary (Debian: dovecot-imapd); started on loopback as in the tests.
Without --database-url: SQLite with synchronous=FULL (the durable default) in a temp dir. With a
PostgreSQL URL: a database of its own is created there and dropped afterwards.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the Dovecot launcher lives with the tests

from sqlalchemy import func, select  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bench.scratch import scratch_database  # noqa: E402
from gateway.imap.connection import close_quietly, connect  # noqa: E402
from gateway.imap.drain import FolderDrain  # noqa: E402
from gateway.transport import FileTransport  # noqa: E402
from tests.gateway.imap.dovecot import Dovecot, dovecot_binary  # noqa: E402
from workflows.runtime import Runtime  # noqa: E402
from workflows.settings import ImapAccount, Mailbox, Settings  # noqa: E402
from workflows.storage.db import Database  # noqa: E402
from workflows.storage.models import InboundMessage  # noqa: E402

TARGET = 1000.0
BODY = ("Hello,\r\n\r\nThe printer on the third floor prints every page twice and then jams. "
        "We tried another driver and a new cartridge; nothing changed.\r\n") * 20


class CountingDispatcher:
    """Takes the ids like a real dispatcher would and processes nothing."""

    def __init__(self) -> None:
        self.count = 0

    def submit(self, inbound_ids: Sequence[int]) -> None:
        self.count += len(inbound_ids)


def message(i: int) -> bytes:
    return (f"From: Customer {i} <c{i}@acme.example>\r\nTo: care@desk.example\r\n"
            f"Subject: Printer trouble #{i}\r\nMessage-ID: <bench-{i}-{uuid.uuid4().hex}"
            f"@acme.example>\r\nDate: Mon, 02 Mar 2026 09:00:00 +0000\r\n"
            f"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
            f"{BODY}").encode()


def append_all(server: Dovecot, user: str, password: str, count: int) -> float:
    began = time.perf_counter()
    with server.client(user, password) as client:
        for start in range(0, count, 500):
            client.multiappend("INBOX", [message(i) for i in range(start,
                                                                   min(count, start + 500))])
    return time.perf_counter() - began


def bare_fetch(server: Dovecot, user: str, password: str, batch: int) -> tuple[int, float]:
    with server.client(user, password) as client:
        client.select_folder("INBOX", readonly=True)
        uids = client.search(["ALL"])
        began = time.perf_counter()
        fetched = 0
        for start in range(0, len(uids), batch):
            fetched += len(client.fetch(uids[start:start + batch], [b"BODY.PEEK[]"]))
        return fetched, time.perf_counter() - began


@contextlib.contextmanager
def bench_database(url: str | None, home: Path) -> Iterator[str]:
    if url is None:
        yield f"sqlite:///{home / 'ticketgate.db'}"
        return
    with scratch_database(url) as scratch:
        assert scratch is not None
        yield scratch


def drain_all(server: Dovecot, user: str, password: str, batch: int, database_url: str,
              home: Path) -> tuple[int, float]:
    settings = Settings(home=home, database_url=database_url,
                        mailboxes=(Mailbox("care@desk.example"),))
    db = Database(database_url, sqlite_synchronous=settings.sqlite_synchronous)
    db.migrate()
    rt = Runtime(settings=settings, db=db, key=b"k" * 32,
                 transport=FileTransport(settings.outbox_dir))
    account = ImapAccount(name="bench", host=server.host, port=server.port, tls=False,
                          user=user, password=password, mailbox="care@desk.example",
                          batch_size=batch, timeout=60.0)
    dispatcher = CountingDispatcher()
    client = connect(account)
    try:
        drain = FolderDrain(rt, dispatcher, account, client, threading.Event())
        drain.open()
        began = time.perf_counter()
        drained = drain.drain()
        elapsed = time.perf_counter() - began
        client.select_folder("INBOX", readonly=True)
        left = len(client.search(["ALL"]))
    finally:
        close_quietly(client)
    with db.transaction() as session:
        rows = session.scalar(select(func.count()).select_from(InboundMessage)) or 0
    db.dispose()
    if (rows, left, dispatcher.count) != (drained, 0, drained):
        raise SystemExit(f"inconsistent drain: {drained} drained, {rows} rows, {left} left "
                         f"in INBOX, {dispatcher.count} submitted")
    return drained, elapsed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--database-url", help="PostgreSQL server URL (default: SQLite)")
    args = parser.parse_args(argv)
    binary = dovecot_binary()
    if binary is None:
        print("dovecot not installed (Debian package dovecot-imapd)", file=sys.stderr)
        return 2
    server = Dovecot(binary, users=1)
    try:
        server.start()
        user, password = server.take_user()
        appended = append_all(server, user, password, args.count)
        print(f"setup: appended {args.count} messages of {len(message(0))} bytes "
              f"in {appended:.1f}s")
        fetched, fetch_s = bare_fetch(server, user, password, args.batch_size)
        with tempfile.TemporaryDirectory(prefix="tg-bench-") as tmp, \
                bench_database(args.database_url, Path(tmp)) as url:
            drained, drain_s = drain_all(server, user, password, args.batch_size, url,
                                         Path(tmp))
    finally:
        server.cleanup()
    backend = make_url(url).get_backend_name()
    baseline, rate = fetched / fetch_s, drained / drain_s
    print(f"baseline  bare UID FETCH BODY.PEEK[] (imapclient, no DB, no MOVE): "
          f"{fetched} msgs in {fetch_s:.2f}s = {baseline:,.0f} msg/s")
    print(f"imap drain (FETCH + accept_many commit + state + UID MOVE, batch "
          f"{args.batch_size}, {backend}): {drained} msgs in {drain_s:.2f}s = {rate:,.0f} msg/s")
    print(f"ratio drain/baseline: {rate / baseline:.2f}x; target >= {TARGET:,.0f} msg/s: "
          f"{'met' if rate >= TARGET else 'MISSED'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
