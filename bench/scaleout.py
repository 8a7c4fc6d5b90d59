"""Scale-out: the same mail through N Celery workers (N = 1, 2) on PostgreSQL + Redis.

Place in the flow: the at-scale deployment (``serve --role listener`` + ``ticketgate worker``),
measured end to end. Not a test: timings live here, never in tests/.

1. Throughput per N: ``--messages`` replies like bench/process.py's (text + HTML, quoted
   original, threading headers; each links to the one open case) are committed as ``received``
   (``intake.accept_many``), then N Celery workers (prefork, one process each, acks_late as
   shipped) are started and the ids are submitted (``CeleryDispatcher``); the clock runs from the
   submission until no row is left ``received``. Printed: msg/s per N and the ratio N=2 / N=1,
   measured in the same run (the machine is shared; only same-run ratios mean something),
   and how busy the machine was meanwhile: the cores busy in all (/proc/stat) and the cores
   the workers' processes got. ``--task-batch`` sets the ids per task (1: one per message).
2. Latency: ``ticketgate serve --role listener`` with the N=2 workers, offered ``--rate`` msg/s
   over SMTP for ``--seconds``; p50/p99 of ``processed_at - received_at`` (from the commit that
   precedes the 250 to the decision) read from the database, and the rate actually offered.

Every run makes a scratch database on the PostgreSQL server (bench/scratch.py) and a queue of its
own on Redis, both removed afterwards.

    .venv/bin/python bench/scaleout.py [--messages 2000] [--rate 300 --seconds 10]
        [--database-url postgresql+psycopg://...] [--redis-url redis://...]
"""

from __future__ import annotations

import argparse
import json
import os
import smtplib
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script from anywhere

from sqlalchemy import func, select

from bench.process import make_replies
from bench.scratch import scratch_database
from gateway.app import build_runtime, initialize
from gateway.config import load_settings
from tests.support import open_case, post
from workflows.cases import directory
from workflows.inbound.intake import Envelope, accept_many
from workflows.runtime import Runtime
from workflows.storage.models import InboundMessage
from workflows.tasks import CeleryOptions

SERVE = "import sys; from gateway.cli import main; sys.exit(main(sys.argv[1:]))"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def setup(home: Path, database_url: str, redis_url: str) -> tuple[Runtime, bytes]:
    """A home on the scratch database with one organization, contact and open case; returns
    the runtime and the analyst's mail the replies answer."""
    os.environ["TICKETGATE_HOME"] = str(home)
    os.environ["TICKETGATE_DATABASE_URL"] = database_url
    os.environ["TICKETGATE_BROKER_URL"] = redis_url  # the dispatcher publishes on it
    settings = load_settings()
    assert settings.broker_url == redis_url
    initialize(settings)
    rt = build_runtime(settings)
    with rt.db.transaction() as s:
        directory.add_organization(s, name="Acme", domains=["acme.example"], timezone="UTC",
                                   country=None, notify=[], now=rt.now())
        directory.add_contact(s, organization="Acme", email="alice@acme.example", name="Alice",
                              designated=True, now=rt.now())
    return rt, post(rt, open_case(rt))


class Workers:
    """N ``celery -A gateway.celery_app worker`` processes (prefork, concurrency 1) on a queue."""

    def __init__(self, n: int, env: dict[str, str], logs: Path) -> None:
        self.procs: list[subprocess.Popen[bytes]] = []
        self.logs = [logs / f"worker-{n}-{k}.log" for k in range(n)]
        for k, log_path in enumerate(self.logs):
            with open(log_path, "wb") as log:
                self.procs.append(subprocess.Popen(
                    [sys.executable, "-m", "celery", "-A", "gateway.celery_app", "worker",
                     "--pool=prefork", "--concurrency=1", f"--hostname=w{k}-{uuid.uuid4().hex[:6]}",
                     "--loglevel=INFO", "--without-gossip", "--without-mingle",
                     "--without-heartbeat"],
                    env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
        deadline = time.monotonic() + 120
        while not all(b" ready." in p.read_bytes() for p in self.logs):
            if time.monotonic() > deadline or any(p.poll() is not None for p in self.procs):
                self.stop()
                raise SystemExit(f"workers did not start; see {logs}")
            time.sleep(0.1)

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()  # warm shutdown: finish the task in hand
        for proc in self.procs:
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(30)


def unfinished(rt: Runtime) -> int:
    with rt.db.transaction() as s:
        return s.scalar(select(func.count()).select_from(InboundMessage).where(
            InboundMessage.status.in_(("received", "processing")))) or 0


def wait_drained(rt: Runtime, timeout: float = 1800) -> None:
    deadline = time.monotonic() + timeout
    while unfinished(rt):
        if time.monotonic() > deadline:
            raise SystemExit("the workers did not drain the queue in time")
        time.sleep(0.05)


def _cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) of ``pid`` and its descendants (the prefork pool)."""
    total = 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except (OSError, IndexError, ValueError):
        return total
    return total + sum(_cpu_seconds(int(c)) for c in children)


def _box_busy() -> tuple[float, float]:
    """(busy, total) CPU jiffies of the whole machine so far (/proc/stat)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return float(sum(values) - idle), float(sum(values))


class Load:
    """How busy the machine was over a measurement: the box's busy cores (of os.cpu_count())
    and the CPU seconds of the workers' processes (the rest went to PostgreSQL, Redis, this
    process, and whatever else shares the machine)."""

    def __init__(self, workers: Workers) -> None:
        self.workers = workers
        self.wall = time.perf_counter()
        self.box = _box_busy()
        self.cpu = sum(_cpu_seconds(p.pid) for p in workers.procs)
        self.loadavg = os.getloadavg()[0]

    def report(self) -> dict[str, float]:
        wall = time.perf_counter() - self.wall
        busy, total = _box_busy()
        cores = os.cpu_count() or 1
        workers = sum(_cpu_seconds(p.pid) for p in self.workers.procs) - self.cpu
        return {"box_busy_cores": round(cores * (busy - self.box[0]) / (total - self.box[1]), 2),
                "worker_cores": round(workers / wall, 2), "loadavg_1m_before": self.loadavg}


def throughput(rt: Runtime, raws: list[bytes], n: int, env: dict[str, str], logs: Path,
               batch: int) -> tuple[float, dict[str, float]]:
    from workflows.inbound.celery_dispatch import CeleryDispatcher

    box = rt.settings.default_mailbox.address
    results = accept_many(rt.db, [(raw, Envelope(mailbox=box, transport="cli"))
                                  for raw in raws])
    ids = [r.inbound_id for r in results if r.created]
    assert len(ids) == len(raws)
    workers = Workers(n, env, logs)
    dispatcher = CeleryDispatcher.from_settings(
        rt.settings, CeleryOptions(queue=env["TICKETGATE_QUEUE"], batch=batch))
    try:
        load = Load(workers)
        began = time.perf_counter()
        dispatcher.submit(ids)
        wait_drained(rt)
        return len(ids) / (time.perf_counter() - began), load.report()
    finally:
        dispatcher.close()
        workers.stop()


def latency(rt: Runtime, raws: list[bytes], env: dict[str, str], logs: Path,
            rate: float, seconds: float) -> tuple[list[float], float]:
    """Offer ``rate`` msg/s to ``serve --role listener`` (+ 2 workers); 250-to-decision."""
    port = free_port()
    workers = Workers(2, env, logs)
    with open(logs / "listener.log", "wb") as log:
        listener = subprocess.Popen(
            [sys.executable, "-c", SERVE, "serve", "--role", "listener", "--smtp",
             f"127.0.0.1:{port}", "--http", "127.0.0.1:0"], env=env, stdout=log,
            stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
                    if sock.recv(512).startswith(b"220"):
                        break
            except OSError:
                if time.monotonic() > deadline or listener.poll() is not None:
                    raise SystemExit(f"listener did not start; see {logs}") from None
                time.sleep(0.1)
        total = min(int(rate * seconds), len(raws))
        senders = 8
        errors: list[str] = []
        began = time.monotonic()

        def send(worker: int) -> None:
            smtp = smtplib.SMTP("127.0.0.1", port, timeout=60)
            try:
                for k in range(worker, total, senders):
                    wait = began + k / rate - time.monotonic()
                    if wait > 0:
                        time.sleep(wait)
                    smtp.sendmail("alice@acme.example", [rt.settings.default_mailbox.address],
                                  raws[k])
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
            raise SystemExit(f"latency run: {errors[:3]}")
        wait_drained(rt)
        with rt.db.transaction() as s:
            rows = s.execute(select(InboundMessage.received_at, InboundMessage.processed_at)
                             .where(InboundMessage.processed_at.is_not(None),
                                    InboundMessage.transport == "smtp")).all()
    finally:
        listener.terminate()
        listener.wait(60)
        workers.stop()
    return [(done - got).total_seconds() for got, done in rows], offered


def _drop_queue(redis_url: str, queue: str) -> None:
    import redis  # Celery's Redis transport depends on it

    client = redis.Redis.from_url(redis_url)
    try:
        client.delete(queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}")
    finally:
        client.close()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run(args: argparse.Namespace, database_url: str) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="tg-scaleout-") as tmp:
        work = Path(tmp)
        rt, sent = setup(work / "home", database_url, args.redis_url)
        folder = work / "mail"
        folder.mkdir()
        latency_count = int(args.rate * args.seconds)
        paths = make_replies(folder, sent, 2 * args.messages + latency_count)
        raws = [p.read_bytes() for p in paths]
        queue = f"tg_scaleout_{uuid.uuid4().hex[:8]}"
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("TICKETGATE_")},
               "TICKETGATE_HOME": str(work / "home"), "TICKETGATE_DATABASE_URL": database_url,
               "TICKETGATE_BROKER_URL": args.redis_url, "TICKETGATE_QUEUE": queue,
               "PYTHONPATH": str(Path(__file__).resolve().parent.parent),
               "TICKETGATE_TASK_BATCH": str(args.task_batch)}
        rates, loads = {}, {}
        try:
            for k, n in enumerate((1, 2)):
                batch = raws[k * args.messages:(k + 1) * args.messages]
                rates[n], loads[n] = throughput(rt, batch, n, env, work, args.task_batch)
                print(f"  {n} worker(s): {rates[n]:.0f} msg/s {loads[n]}", file=sys.stderr,
                      flush=True)
            waits, offered = latency(rt, raws[2 * args.messages:], env, work, args.rate,
                                     args.seconds)
        finally:
            rt.db.dispose()
            _drop_queue(args.redis_url, queue)
    ms = [w * 1000 for w in waits]
    return {"messages_per_n": args.messages, "backend": "postgresql", "broker": "redis",
            "msg_per_s_1_worker": round(rates[1], 1), "msg_per_s_2_workers": round(rates[2], 1),
            "ratio_2_to_1": round(rates[2] / rates[1], 2), "task_batch": args.task_batch,
            # msg per CPU second of the workers, 2 over 1: 1.0 when two workers do per core
            # what one does (the one case's row lock and the database cost them nothing); on
            # cores nothing else wants, ratio_2_to_1 would be about twice this.
            "per_core_2_to_1": round(
                (rates[2] / loads[2]["worker_cores"]) / (rates[1] / loads[1]["worker_cores"]), 2),
            "load_1_worker": loads[1], "load_2_workers": loads[2],
            "latency_offered_msg_per_s": round(offered, 1), "latency_n": len(ms),
            "latency_p50_ms": round(percentile(ms, 0.5)), "latency_p99_ms":
            round(percentile(ms, 0.99)), "latency_mean_ms": round(statistics.mean(ms))}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=2000, help="messages per N")
    ap.add_argument("--rate", type=float, default=300.0, help="offered msg/s for latency")
    ap.add_argument("--seconds", type=float, default=10.0, help="latency run length")
    ap.add_argument("--task-batch", type=int, default=CeleryOptions().batch,
                    help="ids per processing task (1: one task per message, as before)")
    ap.add_argument("--database-url", default=os.environ.get("TICKETGATE_TEST_POSTGRES_URL"),
                    help="a PostgreSQL server (the bench makes and drops a database of its own)")
    ap.add_argument("--redis-url", default=os.environ.get("TICKETGATE_TEST_REDIS_URL"))
    args = ap.parse_args()
    if not (args.database_url or "").startswith("postgresql") or not args.redis_url:
        print("needs --database-url postgresql://... and --redis-url redis://... (or "
              "TICKETGATE_TEST_POSTGRES_URL and TICKETGATE_TEST_REDIS_URL)", file=sys.stderr)
        return 2
    with scratch_database(args.database_url, prefix="tg_scaleout") as url:
        assert url is not None
        result = run(args, url)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
