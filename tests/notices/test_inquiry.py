"""Mail quoting a notice reference lands in triage with the notice attached, never lost."""

from __future__ import annotations

import email
import email.policy

from sqlalchemy import select

from tests.notices.conftest import create_and_send
from tests.support import ingest, new_mail, reply_to
from workflows.notices import views
from workflows.notices.model import NoticeKind
from workflows.storage.models import TriageItem


def test_a_reply_to_a_notice_is_triaged_with_the_notice(nrt, desk, sink):
    """Someone on the list answers the notice: an inquiry the admin sees next to it."""
    ref = create_and_send(nrt)
    notice_mail = sink[0].messages[0][1]
    result = ingest(nrt, reply_to(notice_mail, sender="ops@acme.example",
                                  body="Does this affect the IVR?"))
    assert (result.outcome, result.reason) == ("triaged", "notice_inquiry")
    with nrt.db.transaction() as s:
        item = s.scalars(select(TriageItem)).one()
        [inquiry] = views.notice_detail(s, ref).inquiries
        assert (item.reason, inquiry.triage_item, inquiry.sender) == (
            "notice_inquiry", item.id, "ops@acme.example")


def test_a_new_mail_quoting_the_reference_is_an_inquiry(nrt, desk, sink):
    """No thread at all, the reference typed into the body (any case): still found."""
    ref = create_and_send(nrt, NoticeKind.INCIDENT)
    result = ingest(nrt, new_mail(sender="someone@elsewhere.example", subject="question",
                                  body=f"About {ref.lower()}: are you sure it is fixed?"))
    assert (result.outcome, result.reason) == ("triaged", "notice_inquiry")
    with nrt.db.transaction() as s:
        assert len(views.notice_detail(s, ref).inquiries) == 1


def test_a_reply_that_kept_only_the_thread_is_an_inquiry(nrt, desk, sink):
    """Subject rewritten, nothing quoted: In-Reply-To carries the reference (our Message-ID)."""
    create_and_send(nrt, NoticeKind.ADVISORY)
    raw = reply_to(sink[0].messages[0][1], sender="ops@wombat.example", keep_subject=False,
                   quote=False, body="Thanks")
    assert ingest(nrt, raw).reason == "notice_inquiry"


def test_a_reply_that_kept_only_the_notice_thread_is_an_inquiry(nrt, desk, sink):
    """A client that drops In-Reply-To but keeps References (RFC 5322 3.6.4 lets it) still
    names the notice: every mailing of it lists the notice's thread root there."""
    create_and_send(nrt, NoticeKind.ADVISORY)
    sent = email.message_from_bytes(sink[0].messages[0][1], policy=email.policy.default)
    raw = new_mail(sender="ops@wombat.example", subject="question", body="Thanks",
                   extra_headers={"References": sent["References"]})
    assert ingest(nrt, raw).reason == "notice_inquiry"


def test_a_reference_that_does_not_exist_is_ordinary_new_mail(nrt, desk, sink):
    """A made-up reference attaches to nothing."""
    result = ingest(nrt, new_mail(sender="ops@acme.example", body="What about MNT-2026-9999?"))
    assert (result.outcome, result.reason) == ("triaged", "new_mail")


def test_our_own_notice_coming_back_is_a_loop_not_an_inquiry(nrt, desk, sink):
    """A list that redistributes our notice back to us: recognised by X-Ticketgate-Loop."""
    create_and_send(nrt)
    result = ingest(nrt, sink[0].messages[0][1])
    assert (result.outcome, result.reason) == ("ignored", "loop")


def test_the_triage_queue_shows_the_notice_an_inquiry_asks_about(nrt, desk, sink):
    """Admins see which notice the mail is about without opening the notice first."""
    from workflows.cases.views import triage_lines

    ref = create_and_send(nrt, NoticeKind.INCIDENT)
    ingest(nrt, new_mail(sender="someone@elsewhere.example", body=f"Is {ref} over?"))
    with nrt.db.transaction() as s:
        [line] = triage_lines(s)
    assert (line.reason, line.notice) == ("notice_inquiry", ref)
