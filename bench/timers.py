"""Scheduler passes over N open cases with timers (default 100,000).

Sets up, with Core bulk inserts, N Medium cases of one organization (Berlin, German holidays),
each opened the Friday before and answered with a request for information on Monday between
08:00 and 10:00, so Awaiting Info. Each carries the rows the case services leave: the first
step of its response clock, of its resolution clock and of its follow-up, not yet armed. Then
times three passes of ``workflows.clock.scheduler.run_pass`` (every job of the registry but the
case-mail job, the timers leaving their mail queued):

1. ``arm``: Monday 10:00, every row is armed on the business calendar (due times computed from
   the settings and the calendar) and the response clocks, stopped by the analyst's answer, are
   closed as stale. A burst that production does not see (each pass arms the rows of the
   minute before; existing cases get no rows), reported apart as the arming throughput;
2. ``remind``: Wednesday, when ``--due-share`` of the cases (default 0.5%: 500 of 100,000, some
   30 times what a desk that size sees in a minute) have reminder #1 due: that many mails
   rendered and queued, each claimed by compare-and-set in its chunk's transaction (the outbox
   sends them afterwards). Its time grows with the mails due, not with the open cases;
3. ``rerun``: the same pass again: nothing new to do, the steady cost of a pass.

Target (issue 4): a pass over 100,000 open cases finishes in under 10 s, on SQLite and
PostgreSQL: ``remind`` and ``rerun`` (``within_target``). Baseline measured in the same run:
rendering the same reminders with ``workflows.outbound.compose.render_message`` alone (no database);
``ratio_to_render`` is what the claim, the checks and the outbox rows add to the unavoidable
work of building the mails.

    .venv/bin/python bench/timers.py [--n 100000] [--due-share 0.005] [--database-url URL]

With ``--database-url`` (a PostgreSQL server URL) a scratch database is created there and
dropped afterwards.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import sys
import time
import zoneinfo
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script from anywhere

from sqlalchemy import insert, text

from bench.scratch import scratch_desk
from workflows.clock.jobs import JOBS, CaseMailJob, CaseTimersJob
from workflows.clock.scheduler import PassReport, run_pass
from workflows.clock.store import TimerKind
from workflows.domain import CaseStatus, Direction, Severity, UpdateKind
from workflows.outbound.compose import render_message
from workflows.runtime import Runtime
from workflows.storage.models import Case, CaseStatusChange, CaseUpdate, DueTimer

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
OPENED = dt.datetime(2026, 2, 27, 9, tzinfo=BERLIN).astimezone(dt.UTC)  # Friday
ASKED = dt.datetime(2026, 3, 2, 8, tzinfo=BERLIN).astimezone(dt.UTC)  # Monday 08:00-10:00
ARM_AT = dt.datetime(2026, 3, 2, 10, tzinfo=BERLIN).astimezone(dt.UTC)
DUE_FROM = dt.datetime(2026, 3, 4, 8, tzinfo=BERLIN).astimezone(dt.UTC)  # 2 business days
QUESTION = "Which printer model and firmware version is it?"
BATCH = 20_000


def _rows(n: int, org_id: int, contact_id: int, first_id: int):  # type: ignore[no-untyped-def]
    """The cases, their history, the analyst's question and the timer rows, as dicts."""
    spread = 7200 / max(n, 1)  # the questions go out over two hours on Monday morning
    for i in range(n):
        case_id = first_id + i
        opened = OPENED + dt.timedelta(seconds=i * spread)
        asked = ASKED + dt.timedelta(seconds=i * spread)
        case = {"id": case_id, "number": f"CASE-{10_000 + i}", "family": "case",
                "organization_id": org_id, "contact_id": contact_id,
                "subject": f"Printer {i} on fire", "case_type": "support", "sub_type": None,
                "severity": Severity.MEDIUM.value, "status": CaseStatus.AWAITING_INFO.value,
                "resolution": None, "escalated": False, "linked_case_id": None,
                "created_at": opened, "updated_at": asked, "status_changed_at": asked,
                "closed_at": None}
        changes = [
            {"case_id": case_id, "from_status": None, "to_status": "open", "event": "opened",
             "at": opened},
            {"case_id": case_id, "from_status": "open", "to_status": "awaiting_info",
             "event": "analyst_requested_info", "at": asked}]
        post = {"case_id": case_id, "kind": UpdateKind.POST.value,
                "direction": Direction.OUTBOUND.value, "author": "analyst@desk.example",
                "visible_text": QUESTION, "full_text": QUESTION, "html": None,
                "inbound_message_id": None, "outbound_message_id": None, "created_at": asked}
        timers = [{"case_id": case_id, "kind": kind.value, "started_at": start,
                   "due_at": None, "fired_at": None, "outcome": None,
                   "outbound_message_id": None}
                  for kind, start in ((TimerKind.RESPONSE_WARNING, opened),
                                      (TimerKind.RESOLUTION_WARNING, opened),
                                      (TimerKind.FOLLOW_UP_1, asked))]
        yield case, changes, post, timers


def bulk_insert(rt: Runtime, n: int, org_id: int, contact_id: int) -> float:
    start = time.perf_counter()
    cases, changes, posts, timers = [], [], [], []

    def flush() -> None:
        with rt.db.transaction() as s:
            conn = s.connection()
            for model, rows in ((Case, cases), (CaseStatusChange, changes),
                                (CaseUpdate, posts), (DueTimer, timers)):
                if rows:
                    conn.execute(insert(model.__table__), rows)
                rows.clear()

    for case, history, post, case_timers in _rows(n, org_id, contact_id, first_id=1):
        cases.append(case)
        changes.extend(history)
        posts.append(post)
        timers.extend(case_timers)
        if len(cases) >= BATCH:
            flush()
    flush()
    if rt.db.dialect == "postgresql":  # ids were given explicitly: move the sequences on
        with rt.db.transaction() as s:
            s.execute(text("SELECT setval('cases_id_seq', (SELECT max(id) FROM cases))"))
            s.execute(text("ANALYZE"))
    return time.perf_counter() - start


def render_baseline(rt: Runtime, n: int) -> float:
    """Seconds to render ``n`` reminders and nothing else."""
    start = time.perf_counter()
    for i in range(n):
        render_message(
            settings=rt.settings, key=rt.key, template="follow_up_reminder",
            context={"reminder": 1, "contact_name": "Alice", "asked": QUESTION, "days": 2,
                     "status": "awaiting_info", "closes_on": "2026-03-16 10:00 CET",
                     "case_url": f"http://x/cases/CASE-{10_000 + i}"},
            subject=f"Reminder: Printer {i} on fire", to=("alice@acme.example",),
            case_number=f"CASE-{10_000 + i}", automated=True, now=DUE_FROM)
    return time.perf_counter() - start


# The whole registry, but the reminders the timers queue stay queued (sending them is the
# transport's cost, not the pass's): the timer jobs do not send, the case-mail job is left out.
QUIET_JOBS = tuple(dataclasses.replace(job, send=False) if isinstance(job, CaseTimersJob)
                   else job for job in JOBS if not isinstance(job, CaseMailJob))


def timed(rt: Runtime, at: dt.datetime) -> tuple[PassReport, float]:
    start = time.perf_counter()
    report = run_pass(rt, at, jobs=QUIET_JOBS)
    return report, time.perf_counter() - start


def run(n: int, due_share: float, server_url: str | None) -> dict[str, object]:
    # The questions went out evenly over two hours: a share of them is due this much later.
    remind_at = DUE_FROM + dt.timedelta(seconds=7200 * due_share)
    with scratch_desk(server_url, synchronous="FULL", now=OPENED) as desk:
        rt = desk.rt
        setup = bulk_insert(rt, n, desk.org_id, desk.contact_id)
        arm, arm_s = timed(rt, ARM_AT)
        remind, remind_s = timed(rt, remind_at)
        rerun, rerun_s = timed(rt, remind_at)
        mails = remind.mails_queued
        baseline = render_baseline(rt, mails)
        backend = rt.db.dialect
    assert remind.outcomes.get("sent") == mails and rerun.fired == (), remind.outcomes
    return {
        "backend": backend, "cases": n, "setup_s": round(setup, 2),
        "arm_burst_s": round(arm_s, 2), "arm_rows": arm.armed,
        "arm_rows_per_s": round(arm.armed / arm_s),
        "remind_pass_s": round(remind_s, 2), "remind_mails": mails,
        "remind_cases_per_s": round(n / remind_s), "remind_mails_per_s": round(mails / remind_s),
        "rerun_pass_s": round(rerun_s, 3), "rerun_cases_per_s": round(n / max(rerun_s, 1e-6)),
        "render_only_s": round(baseline, 2),
        "ratio_to_render": round(remind_s / baseline, 2) if baseline else None,
        "target_s": 10, "within_target": max(remind_s, rerun_s) < 10,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--due-share", type=float, default=0.005,
                    help="share of the cases whose reminder #1 is due in the remind pass")
    ap.add_argument("--database-url", help="a PostgreSQL server URL (a scratch database is "
                    "made there); default: SQLite in a temporary home")
    args = ap.parse_args()
    print(json.dumps(run(args.n, args.due_share, args.database_url)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
