"""The calendar attachment of a maintenance notice (RFC 5545 iCalendar, RFC 5546 iTIP). Pure.

Place in the flow: ``render`` calls ``build_ics`` once per organization and mailing; ``mime``
attaches it. The UID is the notice reference, so a client files the announcement, every
reschedule and the cancellation under one event: a reschedule bumps SEQUENCE (RFC 5545 3.8.7.4)
and a cancellation is ``METHOD:CANCEL`` with ``STATUS:CANCELLED`` (RFC 5546 3.2.5), which names
the attendees it removes (the organization's list). Announcements and reschedules are
``METHOD:PUBLISH``: a notice informs and invites no reply, and a published event carries an
ORGANIZER but no ATTENDEE (RFC 5546 3.2.1) -- so it is the same for every organization and is
built once per mailing (``lru_cache``), not once per organization. Times are written in UTC
(``...Z``), which needs no VTIMEZONE; each client shows them in its own zone.

Every text and address goes through ``workflows.outbound.headers`` first: ``icalendar`` escapes LF
in TEXT values (RFC 5545 3.3.11) but not a bare CR, and writes a CAL-ADDRESS as given, so a title
or an address with a line break could otherwise add a property of its own.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

from icalendar import Calendar, Event, vCalAddress, vText

from workflows.outbound import headers as mailheaders

PRODID = "-//ticketgate//notices//EN"


@lru_cache(maxsize=64)
def build_ics(*, uid: str, summary: str, description: str, starts_at: dt.datetime,
              ends_at: dt.datetime, sequence: int, stamp: dt.datetime, cancelled: bool,
              organizer: str, attendees: tuple[str, ...] = (),
              organizer_name: str = "Customer Care") -> str:
    """The VCALENDAR text; ``attendees`` only for a cancellation."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("method", "CANCEL" if cancelled else "PUBLISH")
    event = Event()
    event.add("uid", mailheaders.text(uid))
    event.add("sequence", sequence)
    event.add("dtstamp", stamp.astimezone(dt.UTC))
    event.add("dtstart", starts_at.astimezone(dt.UTC))
    event.add("dtend", ends_at.astimezone(dt.UTC))
    event.add("summary", mailheaders.text(summary))
    event.add("description", mailheaders.multiline_text(description))
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    event.add("transp", "TRANSPARENT")  # a maintenance does not make anyone busy
    org = vCalAddress(f"mailto:{mailheaders.address(organizer)}")
    org.params["cn"] = vText(mailheaders.text(organizer_name))
    event["organizer"] = org
    for address in attendees if cancelled else ():
        if not _usable(address):
            continue  # as ``mailings.add_parts`` skips it: it gets no mail either
        attendee = vCalAddress(f"mailto:{address}")
        attendee.params["rsvp"] = vText("FALSE")
        event.add("attendee", attendee, encode=False)
    cal.add_component(event)
    return cal.to_ical().decode("utf-8")


def _usable(address: str) -> bool:
    try:
        mailheaders.address(address)
    except mailheaders.BadAddress:
        return False
    return True


def ics_method(ics: str) -> str:
    """The METHOD of a calendar built here (for the MIME ``method=`` parameter)."""
    return "CANCEL" if "METHOD:CANCEL" in ics else "PUBLISH"
