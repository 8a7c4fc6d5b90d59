"""Issue 12 defect 1 through the API: base64 files with hostile names, names that cannot be
made safe (422, never 500), and a triage reply to a mail whose Message-ID is an encoded-word."""

from __future__ import annotations

import base64
import email
import email.policy

from gateway.http.accounts import Role
from tests.support import ingest, open_case


def _outbox(desk) -> list[email.message.EmailMessage]:
    return [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
            for p in sorted(desk.rt.settings.outbox_dir.glob("*.eml"))]


def test_a_txt_file_whose_name_decodes_to_a_line_break_is_sent_safely(desk, client):
    """Was a 500: the name is decoded and folded, then written as one parameter."""
    number = open_case(desk.rt)
    response = client.post(f"/api/v1/cases/{number}/updates", headers=desk.bearer(), json={
        "body": "The log.", "attachments": [{
            "filename": "=?utf-8?q?a=0D=0AX-Evil:_1?=.txt",
            "content_base64": base64.b64encode(b"log line\n").decode()}]})
    assert response.status_code == 201, response.text
    assert [a["filename"] for a in response.json()["attachments"]] == ["a X-Evil: 1.txt"]
    [mail] = _outbox(desk)
    [part] = mail.iter_attachments()
    assert part.get_filename() == "a X-Evil: 1.txt" and "X-Evil" not in part


def test_a_rename_to_nothing_but_control_characters_is_422(desk, client):
    response = client.patch("/api/v1/organizations/Acme", headers=desk.bearer(),
                            json={"rename": "=?utf-8?q?=0D=0A?="})
    assert response.status_code == 422, response.text
    assert "organization name is empty" in response.text


def test_a_case_subject_from_the_api_is_stored_folded(desk, client):
    response = client.post("/api/v1/cases", headers=desk.bearer(Role.ANALYST), json={
        "organization": "Acme", "contact": "alice@acme.example",
        "subject": "Broken\r\nBcc: victim@evil.example"})
    assert response.status_code == 201, response.text
    number = response.json()["number"]
    shown = client.get(f"/api/v1/cases/{number}", headers=desk.bearer(Role.ANALYST)).json()
    assert shown["subject"] == "Broken Bcc: victim@evil.example"


def test_a_triage_reply_drops_an_encoded_message_id(desk, client):
    """The admin's reply would have carried it into In-Reply-To and References."""
    ingest(desk.rt, (
        b"From: dave@else.example\r\nTo: care@desk.example\r\nSubject: Hello\r\n"
        b"Message-ID: <=?utf-8?q?x=0D=0ABcc:_victim@evil.example?=@evil.example>\r\n"
        b"Date: Mon, 02 Mar 2026 09:00:00 +0000\r\n\r\nWho do I ask?\r\n"))
    response = client.post("/api/v1/triage/1/reply", headers=desk.bearer(),
                           json={"body": "Ask your admin."})
    assert response.status_code == 200, response.text
    [mail] = _outbox(desk)
    assert sorted(mail.keys()) == ["Content-Type", "Date", "From", "MIME-Version", "Message-ID",
                                   "Subject", "To", "X-Ticketgate-Loop"]


def test_triage_open_case_folds_an_encoded_subject_for_every_mail_of_the_case(desk, client):
    """Triage "open case": the subject becomes the case subject, then the next post's."""
    ingest(desk.rt, (
        b"From: alice@acme.example\r\nTo: care@desk.example\r\nMessage-ID: <t1@acme.example>\r\n"
        b"Subject: =?utf-8?q?Hi=0D=0ABcc:_victim@evil.example?=\r\n"
        b"Date: Mon, 02 Mar 2026 09:00:00 +0000\r\n\r\nPlease help.\r\n"))
    opened = client.post("/api/v1/triage/1/open", headers=desk.bearer(), json={})
    assert opened.status_code == 200, opened.text
    number = opened.json()["case"]
    posted = client.post(f"/api/v1/cases/{number}/updates", headers=desk.bearer(),
                         json={"body": "On it."})
    assert posted.status_code == 201, posted.text
    [mail] = _outbox(desk)
    assert "Bcc" not in mail and mail["Subject"].startswith("Hi Bcc: victim@evil.example [ref:")
    assert mail["In-Reply-To"] == "<t1@acme.example>"
