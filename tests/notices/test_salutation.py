"""Every notice opens like an English letter: after "Dear Wombat," the first sentence starts
with a capital letter, in the text part and the HTML part, whatever the kind."""

from __future__ import annotations

import datetime as dt
import re

from tests.notices.conftest import NOW, create_and_send
from workflows.notices import service
from workflows.notices.model import NoticeKind
from workflows.notices.scheduler import run_due

_AFTER_DEAR = re.compile(r"Dear Wombat,(?:\s|<[^>]+>)*([^\s<])")


def test_every_notice_kind_starts_its_first_sentence_with_a_capital(nrt, desk, sink, clock):
    planned = create_and_send(nrt)
    moved = dt.datetime(2026, 3, 12, 23, 0, tzinfo=dt.timezone(dt.timedelta(hours=-6)))
    service.reschedule(nrt, planned, starts_at=moved, ends_at=moved + dt.timedelta(hours=3),
                       actor="test")
    service.cancel(nrt, planned, actor="test")
    create_and_send(nrt, NoticeKind.EMERGENCY)
    create_and_send(nrt, NoticeKind.ADVISORY)
    incident = create_and_send(nrt, NoticeKind.INCIDENT)
    run_due(nrt, NOW + dt.timedelta(minutes=31))  # follow-up 1
    clock.current = NOW + dt.timedelta(minutes=40)
    service.all_clear(nrt, incident, "Log out and back in.", actor="ic")
    service.deliver_rca(nrt, incident, "https://status.desk.example/rca/1", actor="ic")
    mails = sink[0].to(desk["wombat"])
    assert len(mails) == 9
    openings = {}
    for mail in mails:
        for kind in ("plain", "html"):
            found = _AFTER_DEAR.search(mail.get_body((kind,)).get_content())
            assert found is not None, mail["Subject"]
            openings[f"{mail['Subject']} ({kind})"] = found.group(1)
    assert {k: v for k, v in openings.items() if not v.isupper()} == {}


def test_the_rca_mail_labels_the_incident_description_it_repeats(nrt, desk, sink, clock):
    """The incident's description ("Engineers are failing over the trunk.") was written while
    it lasted; in the RCA mail, days later, it stands under a heading saying so, not as a bare
    paragraph that reads as today's news."""
    incident = create_and_send(nrt, NoticeKind.INCIDENT,
                               details="Engineers are failing over the SIP trunk.")
    clock.current = NOW + dt.timedelta(minutes=40)
    service.all_clear(nrt, incident, "Log out and back in.", actor="ic")
    service.deliver_rca(nrt, incident, "https://status.desk.example/rca/1", actor="ic")
    rca = sink[0].to(desk["wombat"])[-1]
    text = rca.get_body(("plain",)).get_content().replace("\r\n", "\n")
    html = rca.get_body(("html",)).get_content()
    assert "The incident as we described it:\nEngineers are failing over" in text
    assert "<h3>The incident as we described it</h3>" in html
