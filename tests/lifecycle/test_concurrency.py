"""Two schedulers at once on one database (two threads, two engines, like two processes):
every due timer acts exactly once, none is skipped. Runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading
from collections import Counter

from tests.conftest import KEY
from tests.lifecycle.conftest import local, mails
from tests.support import open_case, post
from workflows.clock import firing
from workflows.clock.scheduler import PassReport, run_pass
from workflows.runtime import Runtime
from workflows.storage.db import Database

CASES = 30
DAY2 = local(2026, 3, 4, 10)


def test_two_schedulers_at_once_send_each_reminder_once(rt, people, clock, settings,
                                                        monkeypatch):
    """Small chunks make the two passes interleave on the same rows."""
    monkeypatch.setattr(firing, "FIRE_CHUNK", 4)
    monkeypatch.setattr(firing, "ARM_CHUNK", 7)
    numbers = []
    for i in range(CASES):
        number = open_case(rt, subject=f"case {i}")
        post(rt, number)
        numbers.append(number)
    clock.current = DAY2
    engines = [Database(settings.database_url, sqlite_synchronous="NORMAL") for _ in range(2)]
    runtimes = [Runtime(settings=settings, db=db, key=KEY, transport=rt.transport, clock=clock)
                for db in engines]
    start = threading.Barrier(2)
    reports: list[PassReport] = []
    errors: list[BaseException] = []

    def one_scheduler(runtime: Runtime) -> None:
        start.wait(timeout=30)
        try:
            reports.append(run_pass(runtime, DAY2))
        except BaseException as exc:  # the assertion below reports it
            errors.append(exc)

    threads = [threading.Thread(target=one_scheduler, args=(r,)) for r in runtimes]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
    finally:
        for db in engines:
            db.dispose()
    assert not errors and len(reports) == 2
    reminders = mails(rt, "follow_up_reminder")
    assert sorted(Counter(m.case_id for m in reminders).values()) == [1] * CASES
    assert {m.status for m in reminders} == {"sent"}
    sent = [f.case for r in reports for f in r.fired if f.kind == "follow_up_1"]
    assert sorted(sent) == sorted(numbers)  # each claimed by one scheduler, none skipped


def test_the_same_pass_again_finds_nothing(rt, people, clock):
    """Idempotent: after one pass at a time, more passes at that time fire nothing."""
    for i in range(3):
        post(rt, open_case(rt, subject=f"case {i}"))
    reports = [run_pass(rt, DAY2) for _ in range(3)]
    assert len([f for f in reports[0].fired if f.outcome == "sent"]) == 3
    assert [r.fired for r in reports[1:]] == [(), ()]
