"""A file sent without a filename but with a Content-Description, as the case page lists it."""

from __future__ import annotations

import email
import email.policy

from sqlalchemy import select

from gateway.http.accounts import Role
from tests.http.conftest import sign_in
from tests.support import ingest, open_case, post, reply_to
from workflows.storage.models import Attachment

PDF = b"%PDF-1.4\n% signed\n"


def test_the_case_page_names_a_file_by_its_description(desk, client):
    """RFC 2045 8: the sender's "Signed contract" label names the file (with its type's
    extension), where the page said only "attachment"."""
    number = open_case(desk.rt)
    reply = email.message_from_bytes(
        reply_to(post(desk.rt, number), sender="alice@acme.example"),
        policy=email.policy.default)
    assert isinstance(reply, email.message.EmailMessage)
    reply.add_attachment(PDF, maintype="application", subtype="pdf")
    reply.get_payload()[-1]["Content-Description"] = "Signed contract"
    assert ingest(desk.rt, reply.as_bytes()).outcome == "linked"

    with desk.rt.db.transaction() as s:
        [row] = list(s.scalars(select(Attachment).where(Attachment.size == len(PDF))))
    assert row.filename == "Signed contract.pdf"
    sign_in(client, Role.ANALYST)
    page = client.get(f"/cases/{number}").text
    assert f'href="/cases/{number}/attachments/{row.id}" download>Signed contract.pdf<' in page
    download = client.get(f"/cases/{number}/attachments/{row.id}")
    assert download.content == PDF
    assert 'filename="Signed contract.pdf"' in download.headers["content-disposition"]
