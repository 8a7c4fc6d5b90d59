"""What each organization reads: its own time zone (named), every kind, the ICS, the headers."""

from __future__ import annotations

import dataclasses
import datetime as dt

from icalendar import Calendar
from sqlalchemy import select

from tests.notices.conftest import DST_END, DST_START, NOW, create, create_and_send
from workflows.notices import service, views
from workflows.notices.model import NoticeKind
from workflows.storage.models import NoticePart


def body(mail) -> str:  # type: ignore[no-untyped-def]
    return mail.get_body(("plain",)).get_content().replace("\r\n", "\n")


def html(mail) -> str:  # type: ignore[no-untyped-def]
    return mail.get_body(("html",)).get_content().replace("\r\n", "\n")


def calendar_of(mail) -> Calendar:  # type: ignore[no-untyped-def]
    [part] = [p for p in mail.walk() if p.get_content_type() == "text/calendar"]
    return Calendar.from_ical(part.get_content())


def test_planned_window_across_the_us_dst_change_in_denver(nrt, desk, sink):
    """Denver reads 23:00 MST to 04:00 MDT: four hours, not five, with both abbreviations."""
    create_and_send(nrt)
    [mail] = sink[0].to(desk["initech"])
    text = body(mail)
    assert "When: Sat 07 Mar 2026 23:00 MST to Sun 08 Mar 2026 04:00 MDT" in text
    assert "Expected duration: 4 h\n" in text
    assert "time zone, America/Denver" in text


def test_planned_window_in_berlin_and_sydney(nrt, desk, sink):
    """The same window in each recipient's own zone: CET in Berlin, AEDT in Sydney."""
    create_and_send(nrt)
    [berlin] = sink[0].to(desk["acme"])
    [sydney] = sink[0].to(desk["wombat"])
    assert "When: Sun 08 Mar 2026 07:00 CET to Sun 08 Mar 2026 11:00 CET" in body(berlin)
    assert "Sun 08 Mar 2026 07:00 CET" in str(berlin["Subject"])
    assert "When: Sun 08 Mar 2026 17:00 AEDT to Sun 08 Mar 2026 21:00 AEDT" in body(sydney)
    assert "Europe/Berlin" in body(berlin) and "Australia/Sydney" in body(sydney)


def test_reference_is_in_subject_and_both_bodies(nrt, desk, sink):
    """Recipients quote the reference to ask about the notice, whatever part they keep."""
    ref = create_and_send(nrt)
    assert ref == "MNT-2026-0001"
    for mail in sink[0].mails():
        assert str(mail["Subject"]).strip().startswith(f"[{ref}]")
        assert ref in body(mail) and ref in html(mail)


def test_emergency_notice_says_why_and_offers_to_coordinate(nrt, desk, sink):
    """Emergency maintenance: short notice, usually one customer, timing coordinated."""
    start = NOW + dt.timedelta(hours=20)
    create_and_send(nrt, NoticeKind.EMERGENCY, starts_at=start,
                    ends_at=start + dt.timedelta(minutes=90), organizations=("Acme",),
                    recommendation="Route calls to the backup IVR")
    [mail] = sink[0].to(desk["acme"])
    text = body(mail)
    assert str(mail["Subject"]).strip().startswith("[EMG-2026-0001] Emergency maintenance")
    assert "When: Fri 27 Feb 2026 14:00 CET to Fri 27 Feb 2026 15:30 CET" in text
    assert "Route calls to the backup IVR" in text and "coordinate" in text
    assert len(sink[0].mails()) == 2  # Acme's two addresses, nobody else


def test_incident_alert_gives_the_start_and_first_update_in_local_time(nrt, desk, sink):
    """The alert says since when and when the first follow-up comes, in each zone."""
    create_and_send(nrt, NoticeKind.INCIDENT, details="Carrier outage; rerouting traffic")
    denver = body(sink[0].to(desk["initech"])[0])
    berlin = body(sink[0].to(desk["acme"])[0])
    assert "since Thu 26 Feb 2026 10:00 MST" in denver and "starting\n10:30 MST" in denver
    assert "since Thu 26 Feb 2026 18:00 CET" in berlin
    assert "emergency desktop" in berlin and "Carrier outage" in berlin


def test_a_first_update_on_the_next_local_day_names_its_day(nrt, desk, sink, clock):
    """An alert sent at 23:40 in Berlin: the first update is "Fri 27 Feb 2026 00:10 CET", not a
    bare "00:10 CET" that reads as the past; Denver's (16:10 MST) stays on its day, time only."""
    clock.current = dt.datetime(2026, 2, 26, 22, 40, tzinfo=dt.UTC)
    create_and_send(nrt, NoticeKind.INCIDENT)
    berlin = body(sink[0].to(desk["acme"])[0])
    denver = body(sink[0].to(desk["initech"])[0])
    assert "starting\nFri 27 Feb 2026 00:10 CET" in berlin
    assert "starting\n16:10 MST" in denver


def test_a_one_minute_cadence_reads_in_the_singular(nrt, desk, sink):
    """A desk that updates every minute says "every 1 minute", in both parts."""
    rt = dataclasses.replace(nrt, settings=dataclasses.replace(
        nrt.settings, notice_follow_up_minutes=1))
    create_and_send(rt, NoticeKind.INCIDENT)
    mail = sink[0].to(desk["acme"])[0]
    assert "every 1 minute until" in " ".join(body(mail).split())
    assert "every 1 minute until" in " ".join(html(mail).split())


def test_advisory_carries_details_impact_and_link(nrt, desk, sink):
    """Advisories: details, possible impacts, a link to more information."""
    create_and_send(nrt, NoticeKind.ADVISORY, title="TLS 1.0 retirement",
                    details="TLS 1.0 connections will be refused from 1 April.",
                    link="https://status.desk.example/adv/tls")
    mail = sink[0].to(desk["wombat"])[0]
    assert "TLS 1.0 connections will be refused" in body(mail)
    assert "https://status.desk.example/adv/tls" in body(mail)
    assert 'href="https://status.desk.example/adv/tls"' in html(mail)


def test_an_advisory_shows_no_times_and_so_names_no_zone(nrt, desk, sink):
    """An advisory has no window nor start: its footer does not say "All times are shown in
    Wombat's time zone" about times it does not show (a maintenance notice still does)."""
    create_and_send(nrt, NoticeKind.ADVISORY)
    create_and_send(nrt)
    advisory, planned = sink[0].to(desk["wombat"])
    assert "All times are shown" not in body(advisory)
    assert "All times are shown" not in html(advisory)
    assert "All times are shown in Wombat's time zone" in body(planned)


def test_every_notice_carries_the_automated_headers(nrt, desk, sink):
    """Autoresponders stay quiet (RFC 3834), lists can be filtered (RFC 2919), loops are ours."""
    create_and_send(nrt, NoticeKind.INCIDENT)
    mails = sink[0].mails()
    assert len(mails) == 4
    for mail in mails:
        assert (mail["Auto-Submitted"], mail["Precedence"], mail["X-Auto-Response-Suppress"]
                ) == ("auto-generated", "bulk", "All")
        assert mail["List-Id"] == "Service notices <notices.desk.example>"
        assert mail["X-Ticketgate-Loop"] == "ticketgate"
    assert len({m["Message-ID"] for m in mails}) == 4  # one per recipient: bounces match


def test_html_is_escaped(nrt, desk, sink):
    """A title with markup is shown as text, never run as HTML."""
    create_and_send(nrt, NoticeKind.INCIDENT, title="<script>alert(1)</script>")
    assert "<script>" not in html(sink[0].mails()[0])


def test_organization_without_a_list_is_reported_and_gets_nothing(nrt, desk, sink):
    """Globex has no distribution list: the send says so (it must send one via a case)."""
    ref = create(nrt)
    mailed = service.send_notice(nrt, ref, actor="test")
    assert mailed.without_list == ("Globex",)
    assert mailed.report.sent == 4 and len(sink[0].mails()) == 4


def test_ics_parses_back_with_the_reference_as_uid(nrt, desk, sink):
    """The attachment is valid iCalendar: UID = reference, UTC times, SEQUENCE 0, PUBLISH."""
    ref = create_and_send(nrt)
    cal = calendar_of(sink[0].to(desk["acme"])[0])
    [event] = cal.walk("VEVENT")
    assert (str(cal["METHOD"]), str(event["UID"]), int(event["SEQUENCE"])) == (
        "PUBLISH", ref, 0)
    assert (event.decoded("DTSTART"), event.decoded("DTEND")) == (DST_START, DST_END)
    assert str(event["STATUS"]) == "CONFIRMED"
    # RFC 5546 3.2.1: a published event has an ORGANIZER and no ATTENDEE.
    assert (str(event["ORGANIZER"]), event.get("ATTENDEE")) == ("mailto:care@desk.example",
                                                                 None)


def test_reschedule_bumps_the_sequence(nrt, desk, sink):
    """Clients replace the event when SEQUENCE goes up (RFC 5545 3.8.7.4); moving it 15 days
    out is no "announced too early": everyone knows already."""
    ref = create_and_send(nrt)
    start = dt.datetime(2026, 3, 12, 23, 0, tzinfo=dt.timezone(dt.timedelta(hours=-6)))
    mailed = service.reschedule(nrt, ref, starts_at=start, ends_at=start + dt.timedelta(hours=3),
                                actor="test")
    assert mailed.report.sent == 4
    latest = sink[0].to(desk["initech"])[-1]
    [event] = calendar_of(latest).walk("VEVENT")
    assert (str(event["UID"]), int(event["SEQUENCE"]), event.decoded("DTSTART")) == (
        ref, 1, start)
    assert "Rescheduled" in str(latest["Subject"])
    assert "New time: Thu 12 Mar 2026 23:00 MDT" in body(latest)


def test_cancel_sends_method_cancel(nrt, desk, sink):
    """A cancelled maintenance removes the event: METHOD:CANCEL, STATUS:CANCELLED, and names
    the attendees it removes (RFC 5546 3.2.5)."""
    ref = create_and_send(nrt)
    service.cancel(nrt, ref, actor="test")
    cancelled = sink[0].to(desk["wombat"])[-1]
    cal = calendar_of(cancelled)
    [event] = cal.walk("VEVENT")
    assert (str(cal["METHOD"]), str(event["STATUS"]), int(event["SEQUENCE"])) == (
        "CANCEL", "CANCELLED", 1)
    assert str(event["UID"]) == ref
    assert [str(a) for a in [event["ATTENDEE"]]] == ["mailto:ops@wombat.example"]  # RFC 5546
    [part] = [p for p in cancelled.walk() if p.get_content_type() == "text/calendar"]
    assert part.get_param("method") == "CANCEL"


def test_preview_is_exactly_what_the_organization_gets(nrt, desk, sink):
    """`notice preview REF --org O` renders with the code that sends."""
    ref = create(nrt)
    with nrt.db.transaction() as s:
        [shown] = views.preview(s, nrt.settings, ref, org_name="Wombat", now=nrt.now())
    service.send_notice(nrt, ref, actor="test")
    [sent] = sink[0].to(desk["wombat"])
    assert shown.subject == str(sent["Subject"]).strip()
    assert shown.text == body(sent)
    assert shown.recipients == [desk["wombat"]]


def test_notices_are_signed_with_the_desks_name(nrt, desk):
    """Nothing hard-coded as "Customer Care": the From name and the calendar's organizer
    follow ``desk_name``."""
    rt = dataclasses.replace(nrt, settings=dataclasses.replace(nrt.settings,
                                                               desk_name="Acme Ops Desk"))
    create_and_send(rt, NoticeKind.PLANNED)
    with rt.db.transaction() as s:
        contents = [p.content for p in s.scalars(select(NoticePart))]
    assert contents and all(b"Acme Ops Desk" in c for c in contents)
    assert all(b"Customer Care" not in c for c in contents)
