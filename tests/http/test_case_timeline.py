"""The case page's timeline reads as a conversation: the customer's mail, ours, automated
mails openable with their text, and the audit trail folded away."""

from __future__ import annotations

import re

from tests.support import ingest, new_mail, post

ENTRY = re.compile(r'<li class="entry ([a-z ]+)">(.*?)</li>', re.S)


def _entries(html: str) -> list[tuple[str, str]]:
    return [(kind, re.sub(r"<[^>]+>", " ", body)) for kind, body in ENTRY.findall(html)]


def test_the_timeline_reads_as_a_conversation(desk, admin):
    """A case opened from mail to the open_case mailbox: the customer's mail, the automated
    acknowledgement (its text inside), our answer; audit events folded."""
    opened = ingest(desk.rt, new_mail(sender="alice@acme.example", subject="Scanner",
                                      body="The scanner smokes."), mailbox="new@desk.example")
    number = opened.case_number
    assert number is not None
    post(desk.rt, number, body="Unplug it, please.", action=None)
    html = admin.get(f"/cases/{number}").text
    entries = _entries(html)
    speakers = [" ".join(body.split())[:60] for kind, body in entries if kind == "update"]
    assert any("customer wrote — alice@acme.example" in s for s in speakers)
    assert any("we wrote — analyst@desk.example" in s for s in speakers)
    (mail,) = [body for kind, body in entries if kind == "mail"]
    assert "automated mail (new case ack) to alice@acme.example" in mail
    assert f"We opened case {number}" in mail  # the text it carried, openable
    audits = re.findall(r'<li class="entry audit"><details><summary>', html)
    assert audits  # present, but folded: every audit entry is a closed <details>
    assert '<li class="entry audit"><details open' not in html
