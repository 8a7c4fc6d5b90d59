"""A customer reply's HTML in the case page's mail frame: cleaned on its way out, whatever the
row holds. The reply's HTML is stored as the mail carried it (``html_to_keep``: cleaning every
processed reply cost 7% of ``ingest``, issue 15), and rows from before hold a cleaned copy; the
frame must show the same clean document for both."""

from __future__ import annotations

import email
import email.policy
import re

from sqlalchemy import select, update

from gateway.http.mailview import MAIL_FRAME_CSP, sanitize_html
from tests.support import ingest, open_case, post, reply_to
from workflows.storage.models import CaseUpdate

HOSTILE = ('<div>It is a <b>LaserJet</b> 4000.</div>'
           '<script>window.top.__pwned = 1</script>'
           '<img src="x" onerror="alert(1)">'
           '<a href="javascript:alert(2)">details</a>'
           '<div style="position:fixed;inset:0">cover</div>')
# What may run or load anything in a browser, whatever the CSP and sandbox stop as well.
ACTIVE = re.compile(r"<script|onerror|javascript:|style=", re.IGNORECASE)


def _reply_with_html(sent: bytes) -> bytes:
    msg = email.message_from_bytes(reply_to(sent, sender="alice@acme.example",
                                            body="It is a LaserJet 4000."),
                                   policy=email.policy.default)
    msg.add_alternative(HOSTILE, subtype="html")  # type: ignore[attr-defined]
    return msg.as_bytes()


def _replied_case(desk) -> tuple[str, int]:
    number = open_case(desk.rt)
    assert ingest(desk.rt, _reply_with_html(post(desk.rt, number))).case_number == number
    with desk.rt.db.transaction() as s:
        update_id = s.scalars(select(CaseUpdate.id).where(
            CaseUpdate.inbound_message_id.is_not(None))).one()
    return number, update_id


def test_a_reply_s_html_is_cleaned_in_the_case_s_mail_frame(desk, admin):
    """Script, handlers, javascript: links and styles never reach the frame; the text does."""
    number, update_id = _replied_case(desk)
    page = admin.get(f"/cases/{number}").text
    assert f"/cases/{number}/updates/{update_id}/mail" in page  # the frame is offered
    frame = admin.get(f"/cases/{number}/updates/{update_id}/mail")
    assert frame.status_code == 200
    assert frame.headers["Content-Security-Policy"] == MAIL_FRAME_CSP
    assert "It is a <b>LaserJet</b> 4000." in frame.text
    assert ACTIVE.findall(frame.text) == []


def test_a_row_stored_cleaned_before_shows_the_same_frame(desk, admin):
    """A reply processed before the HTML was kept uncleaned holds nh3's output: cleaned
    again it is the same document, so old and new rows read alike."""
    number, update_id = _replied_case(desk)
    url = f"/cases/{number}/updates/{update_id}/mail"
    as_received = admin.get(url).text
    with desk.rt.db.transaction() as s:
        stored = s.get(CaseUpdate, update_id)
        assert stored is not None and stored.html is not None
        s.execute(update(CaseUpdate).where(CaseUpdate.id == update_id)
                  .values(html=sanitize_html(stored.html)))
    assert admin.get(url).text == as_received
