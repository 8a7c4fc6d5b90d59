"""The triage pages over HTTP: filters, the safe mail view, and each action, audited."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage

from sqlalchemy import select

from tests.http.conftest import USERS, csrf_of, sign_in
from tests.support import ingest, new_mail, open_case, post
from workflows.storage.models import AuditEvent, TriageItem


def _act(client, item_id: int, action: str, **data: str):
    token = csrf_of(client.get(f"/triage/{item_id}").text)
    return client.post(f"/triage/{item_id}/{action}", data={"csrf_token": token, **data})


def _audit(rt, action: str) -> list[AuditEvent]:
    with rt.db.transaction() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def _state(rt, item_id: int) -> str:
    with rt.db.transaction() as s:
        item = s.get(TriageItem, item_id)
        assert item is not None
        return item.state


def test_linking_adds_the_mail_to_the_case_and_audits_the_admin(desk, admin):
    """The console does what `triage link` does, and says who did it."""
    number = open_case(desk.rt)
    ingest(desk.rt, new_mail(sender="alice@acme.example", body="More detail."))
    response = _act(admin, 1, "link", case=number, flip_status="on")
    assert (response.status_code, response.headers["location"]) == (303, f"/cases/{number}")
    assert "More detail." in admin.get(f"/cases/{number}").text
    assert [e.actor for e in _audit(desk.rt, "triage.linked")] == [USERS["admin"]]


def test_discard_resolves_the_item(desk, admin):
    """Noise leaves the queue and the queue page says so."""
    ingest(desk.rt, new_mail(sender="spam@else.example", subject="Buy now"))
    assert _act(admin, 1, "discard").headers["location"] == "/triage"
    assert _state(desk.rt, 1) == "discarded"
    assert "Buy now" not in admin.get("/triage").text


def test_blocked_sender_mail_is_discarded_on_arrival(desk, admin):
    """Blocking once keeps that sender out of the queue from then on."""
    ingest(desk.rt, new_mail(sender="spam@else.example", message_id="<s1@else.example>"))
    _act(admin, 1, "block", reason="spam")
    ingest(desk.rt, new_mail(sender="spam@else.example", message_id="<s2@else.example>"))
    assert (_state(desk.rt, 1), _state(desk.rt, 2)) == ("discarded", "discarded")
    assert [e.detail["email"] for e in _audit(desk.rt, "sender.block")] == ["spam@else.example"]


def test_reply_to_the_sender_goes_out_through_the_outbox(desk, admin):
    """The reply is queued in the outbox and sent after commit; the item stays pending."""
    ingest(desk.rt, new_mail(sender="dave@else.example", subject="Who do I ask?"))
    _act(admin, 1, "reply", body="Please ask your administrator.")
    sent = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
            for p in desk.rt.settings.outbox_dir.glob("*.eml")]
    assert [(str(m["To"]), str(m["Subject"]), str(m["In-Reply-To"])) for m in sent] == [
        ("dave@else.example", "Re: Who do I ask?", "<new-1@client.example>")]
    assert _state(desk.rt, 1) == "pending" and _audit(desk.rt, "triage.reply")


def test_a_refused_action_is_explained_and_changes_nothing(desk, admin):
    """Linking to a case that does not exist says so instead of failing."""
    ingest(desk.rt, new_mail(sender="alice@acme.example"))
    response = _act(admin, 1, "link", case="CASE-9999")
    assert response.headers["location"] == "/triage/1"
    assert "no case CASE-9999" in admin.get("/triage/1").text
    assert _state(desk.rt, 1) == "pending"


def test_filters_narrow_the_queue(desk, admin):
    """Reason, mailbox and organization each select their items."""
    ingest(desk.rt, new_mail(sender="alice@acme.example", subject="From Acme",
                             message_id="<a@x>"))
    ingest(desk.rt, new_mail(sender="carol@globex.example", subject="From Globex",
                             message_id="<g@x>"))
    ingest(desk.rt, new_mail(sender="zed@nowhere.example", subject="To escalations",
                             message_id="<e@x>", to="escalations@desk.example"),
           mailbox="escalations@desk.example")
    page = admin.get("/triage", params={"organization": "Acme"}).text
    assert "From Acme" in page and "From Globex" not in page
    page = admin.get("/triage", params={"mailbox": "escalations@desk.example"}).text
    assert "To escalations" in page and "From Acme" not in page
    page = admin.get("/triage", params={"reason": "unknown_case"}).text
    assert "From Acme" not in page and "Nothing waits here." in page


def test_age_filter_shows_only_items_waiting_long_enough(desk, admin, clock):
    """An admin looks for what has waited over a day."""
    ingest(desk.rt, new_mail(sender="alice@acme.example", subject="Old one",
                             message_id="<o@x>"))
    clock.advance(days=2)
    ingest(desk.rt, new_mail(sender="alice@acme.example", subject="New one",
                             message_id="<n@x>"))
    sign_in(admin)  # two days on, the morning's session has expired
    page = admin.get("/triage", params={"age": "24h"}).text
    assert "Old one" in page and "New one" not in page


def _with_attachment(name: str, content_type: str, payload: bytes) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "alice@acme.example", "care@desk.example", "Files"
    msg["Message-ID"] = "<att@client.example>"
    msg.set_content("See attached.")
    maintype, subtype = content_type.split("/")
    msg.add_attachment(payload, maintype=maintype, subtype=subtype, filename=name)
    return msg.as_bytes()


def test_attachments_download_with_a_safe_name_and_are_never_rendered(desk, admin):
    """An "invoice.html" must download as bytes, not run in our origin."""
    ingest(desk.rt, _with_attachment("../../etc/invoice.html", "text/html",
                                     b"<script>alert(1)</script>"))
    response = admin.get("/triage/1/attachments/0", params={"inline": "1"})
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.headers["content-disposition"].startswith('attachment; filename="invoice')
    assert response.headers["x-content-type-options"] == "nosniff"


def test_an_image_attachment_may_be_viewed_inline(desk, admin):
    """Pictures are the one kind shown in the browser (not SVG, which can carry script)."""
    ingest(desk.rt, _with_attachment("photo.png", "image/png", b"\x89PNG\r\n\x1a\nrest"))
    response = admin.get("/triage/1/attachments/0", params={"inline": "1"})
    assert response.headers["content-type"] == "image/png"
    assert response.headers["content-disposition"].startswith("inline;")


def test_the_mail_frame_has_its_own_strict_policy(desk, admin):
    """The frame route loads nothing remote and runs nothing, and only we may frame it."""
    ingest(desk.rt, new_mail(sender="alice@acme.example"))
    headers = admin.get("/triage/1/mail").headers
    assert headers["content-security-policy"].startswith("default-src 'none'; img-src data:;")
    assert "sandbox" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "SAMEORIGIN"


def test_a_ticked_flip_that_the_sender_may_not_make_says_the_status_was_kept(desk, admin):
    """The box asks for a customer reply's flip; a stranger's mail linked to an Awaiting Info
    case leaves it waiting, and the page says why instead of nothing."""
    number = open_case(desk.rt)
    post(desk.rt, number)  # request info: awaiting_info
    ingest(desk.rt, new_mail(sender="mallory@elsewhere.example", body="Any news?"))
    _act(admin, 1, "link", case=number, flip_status="on")
    page = admin.get(f"/cases/{number}").text
    assert f"{number} is awaiting_info. Status kept: the sender may not update this case" in page


def test_a_flip_the_sender_may_make_is_reported_without_a_caveat(desk, admin):
    number = open_case(desk.rt)
    post(desk.rt, number)
    ingest(desk.rt, new_mail(sender="alice@acme.example", body="Here it is."))
    _act(admin, 1, "link", case=number, flip_status="on")
    page = admin.get(f"/cases/{number}").text
    assert f"{number} is open." in page and "Status kept" not in page
