"""Incident follow-ups every 30 minutes: across a restart, never doubled, never skipped."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

from sqlalchemy import select

from tests.notices.conftest import NOW, create_and_send
from workflows.notices import service
from workflows.notices.model import NoticeKind
from workflows.notices.scheduler import run_due
from workflows.storage.db import Database
from workflows.storage.models import AuditEvent, NoticeMailing

MINUTE = dt.timedelta(minutes=1)


def subjects(sink, recipient):  # type: ignore[no-untyped-def]
    return [str(m["Subject"]).strip() for m in sink.to(recipient)]


def follow_up_numbers(sink, recipient):  # type: ignore[no-untyped-def]
    return [int(m.group(1)) for s in subjects(sink, recipient)
            if (m := re.search(r"Incident update (\d+):", s))]


def test_three_hour_incident_with_a_restart_gets_six_follow_ups_then_the_all_clear(
        nrt, desk, sink):
    """Passes every 5 minutes for 3 hours, the process restarted (new runtime and database
    connection) at 1:32: follow-ups 1-6 exactly once each, then the restoration notice."""
    ref = create_and_send(nrt, NoticeKind.INCIDENT)
    rt = nrt
    for minute in range(5, 181, 5):
        if minute == 95:  # the restart: everything in memory is gone
            rt.db.dispose()
            rt = dataclasses.replace(rt, db=Database(rt.settings.database_url,
                                                     sqlite_synchronous="NORMAL"))
        rt.clock.current = NOW + minute * MINUTE
        run_due(rt, rt.now())
    rt.clock.current = NOW + 183 * MINUTE
    service.all_clear(rt, ref, "Agents can log back in; queued calls are redelivered.",
                      actor="ic")
    for minute in range(185, 300, 5):  # the scheduler keeps running: nothing more goes out
        run_due(rt, NOW + minute * MINUTE)
    rt.db.dispose()
    for recipient in ("ops@acme.example", "noc@initech.example", "ops@wombat.example"):
        got = subjects(sink[0], recipient)
        assert follow_up_numbers(sink[0], recipient) == [1, 2, 3, 4, 5, 6]
        assert got[0].startswith(f"[{ref}] Incident alert")
        assert got[-1].startswith(f"[{ref}] All clear") and len(got) == 8


def test_a_pass_run_twice_sends_nothing_twice(nrt, desk, sink):
    """Two schedulers (or a retried pass) at the same moment: one follow-up."""
    create_and_send(nrt, NoticeKind.INCIDENT)
    at = NOW + 31 * MINUTE
    first, second = run_due(nrt, at), run_due(nrt, at)
    assert (first.follow_ups, second.follow_ups) == (("INC-2026-0001#1",), ())
    assert follow_up_numbers(sink[0], "ops@acme.example") == [1]


def test_a_late_pass_mails_the_latest_slot_and_records_the_overtaken_ones(nrt, desk, sink):
    """The scheduler was down from 0:25 to 1:35: slot 3 goes out, 1 and 2 are accounted for
    as superseded rather than sent three at once."""
    create_and_send(nrt, NoticeKind.INCIDENT)
    run_due(nrt, NOW + 25 * MINUTE)
    report = run_due(nrt, NOW + 95 * MINUTE)
    assert (report.follow_ups, report.superseded) == (("INC-2026-0001#3",),
                                                      ("INC-2026-0001#1", "INC-2026-0001#2"))
    assert follow_up_numbers(sink[0], "noc@initech.example") == [3]
    with nrt.db.transaction() as s:
        slots = s.execute(select(NoticeMailing.slot, NoticeMailing.outcome).where(
            NoticeMailing.slot.is_not(None)).order_by(NoticeMailing.slot)).all()
    assert [tuple(r) for r in slots] == [(1, "superseded"), (2, "superseded"), (3, "queued")]


def test_a_posted_status_goes_out_once_then_no_change_since(nrt, desk, sink):
    """The next follow-up carries the new status; the one after says "no change since HH:MM,
    next update at HH:MM" in the recipient's zone."""
    ref = create_and_send(nrt, NoticeKind.INCIDENT)
    nrt.clock.current = NOW + 40 * MINUTE
    with nrt.db.transaction() as s:
        service.post_status(s, ref, "Carrier confirmed the fault; ETA 30 minutes.",
                            now=nrt.now(), actor="ic")
    run_due(nrt, NOW + 30 * MINUTE)
    run_due(nrt, NOW + 60 * MINUTE)
    run_due(nrt, NOW + 90 * MINUTE)
    texts = [m.get_body(("plain",)).get_content() for m in sink[0].to("noc@initech.example")]
    assert "No change since 10:00 MST, next update at 11:00 MST." in texts[1]
    assert "Carrier confirmed the fault" in texts[2]
    assert "No change since 10:40 MST, next update at 12:00 MST." in texts[3]
    berlin = sink[0].to("ops@acme.example")[3].get_body(("plain",)).get_content()
    assert "No change since 18:40 CET, next update at 20:00 CET." in berlin


def test_no_follow_up_after_cancel(nrt, desk, sink):
    """A cancelled incident (false alarm) stops its cadence and says so."""
    ref = create_and_send(nrt, NoticeKind.INCIDENT)
    service.cancel(nrt, ref, actor="ic")
    run_due(nrt, NOW + 61 * MINUTE)
    assert [s.split("]")[1].split(":")[0].strip() for s in subjects(
        sink[0], "ops@wombat.example")] == ["Incident alert", "Cancelled"]


def test_rca_is_due_in_five_business_days_and_reminded_once_each(nrt, desk, sink):
    """All-clear Thu 26 Feb 10:15 MST -> RCA due Thu 5 Mar; a reminder the business day before
    and one when overdue, to the care team, never twice; none once the RCA is delivered.
    Acme reads the date counted on its own calendar: restored at 18:15 CET, after its day
    ended, so its five business days run Fri 27 Feb 08:00 to Thu 5 Mar 18:00 CET."""
    nrt = dataclasses.replace(nrt, settings=dataclasses.replace(
        nrt.settings, care_team_address="care-team@desk.example"))
    ref = create_and_send(nrt, NoticeKind.INCIDENT)
    nrt.clock.current = NOW + 15 * MINUTE
    mailed = service.all_clear(nrt, ref, "Log out and back in.", actor="ic")
    assert mailed.report.sent == 4
    body = sink[0].to("ops@acme.example")[-1].get_body(("plain",)).get_content()
    assert "will follow by Thu 05 Mar 2026 18:00 CET" in body
    for day in range(1, 9):  # twice a day for eight days
        for hour in (0, 12):
            run_due(nrt, NOW + dt.timedelta(days=day, hours=hour))
    reminders = subjects(sink[0], "care-team@desk.example")
    assert len(reminders) == 2 and all(s.startswith(f"[{ref}] RCA due") for s in reminders)
    service.deliver_rca(nrt, ref, "https://status.desk.example/rca/1", actor="ic")
    run_due(nrt, NOW + dt.timedelta(days=12))
    assert len(subjects(sink[0], "care-team@desk.example")) == 2
    assert "https://status.desk.example/rca/1" in sink[0].to("ops@acme.example")[-1] \
        .get_body(("plain",)).get_content()
    with nrt.db.transaction() as s:
        stages = [e.detail["stage"] for e in s.scalars(select(AuditEvent).where(
            AuditEvent.action == "notice.rca_reminder").order_by(AuditEvent.id))]
    assert stages == ["due_soon", "overdue"]
