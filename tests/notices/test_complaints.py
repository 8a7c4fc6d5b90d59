"""Abuse complaints (ARF, RFC 5965), delayed and permanent DSNs about notices and case mail:
the raw report goes through ``ingest`` (parse, decide, apply), judged on the database rows."""

from __future__ import annotations

from sqlalchemy import select, update

from tests.notices.conftest import create, create_and_send
from tests.support import ingest
from workflows.cases import directory
from workflows.cases import service as cases
from workflows.notices import service
from workflows.notices.model import NoticeKind
from workflows.storage.models import (
    AuditEvent,
    NoticeDelivery,
    NoticeSuppression,
    Organization,
    OutboundMessage,
)


def arf(original_message_id: str, *, rcpt: str | None = None) -> bytes:
    """A feedback loop's report as providers send it: recipient often redacted (RFC 6590)."""
    rcpt_line = f"Original-Rcpt-To: {rcpt}\n" if rcpt else ""
    return f"""From: feedbackloop@fbl.example
To: abuse@desk.example
Subject: Abuse Report
Message-ID: <fbl-{original_message_id[:20]}@fbl.example>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="B"

--B
Content-Type: text/plain; charset=us-ascii

This is an email abuse report for an email message received from IP 192.0.2.8.

--B
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: SomeGenerator/1.0
Version: 1
{rcpt_line}
--B
Content-Type: message/rfc822

From: Customer Care <care@desk.example>
To: "redacted"
Subject: Notice
Message-ID: <{original_message_id}>

Body

--B--
""".replace("\n", "\r\n").encode()


def delayed_dsn(failed: str, original_message_id: str) -> bytes:
    return f"""From: MAILER-DAEMON@mx.example (Mail Delivery System)
To: care@desk.example
Subject: Delayed Mail (still being retried)
Message-ID: <delay-{failed}@mx.example>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.example. THIS IS A WARNING ONLY.

--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example

Final-Recipient: rfc822; {failed}
Action: delayed
Status: 4.4.1

--B
Content-Type: text/rfc822-headers

Message-ID: <{original_message_id}>

--B--
""".replace("\n", "\r\n").encode()


def _delivery_id(rt, recipient: str) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    with rt.db.transaction() as s:
        row = s.scalars(select(NoticeDelivery).where(NoticeDelivery.recipient == recipient)).one()
        return row.id, row.message_id


def test_a_complaint_about_a_notice_stops_notices_to_that_recipient(nrt, desk, sink):
    """The report names nobody (redacted); the delivery it quotes knows who complained."""
    create_and_send(nrt, NoticeKind.ADVISORY)
    delivery_id, message_id = _delivery_id(nrt, "cto@acme.example")
    result = ingest(nrt, arf(message_id))
    assert (result.outcome, result.reason) == ("ignored", "complaint")
    with nrt.db.transaction() as s:
        suppression = s.get(NoticeSuppression, "cto@acme.example")
        assert suppression is not None
        assert (suppression.reason, suppression.delivery_id) == ("complaint", delivery_id)
        assert "complaint" in (s.get(NoticeDelivery, delivery_id).last_error or "")
    mailed = service.send_notice(nrt, create(nrt, NoticeKind.INCIDENT), actor="test")
    assert mailed.report.skipped == 1
    assert len(sink[0].to("cto@acme.example")) == 1


def _sent_case_mail(nrt, cc: tuple[str, ...] = ()) -> tuple[int, int, str]:
    """Pat (Initech, designated) opens a case and the analyst asks for details (copied to
    ``cc``), the mail marked sent: its outbound id, case id and Message-ID."""
    with nrt.db.transaction() as s:
        contact = directory.add_contact(s, organization="Initech", email="pat@initech.example",
                                        name="Pat", designated=True, now=nrt.now())
        org = s.scalars(select(Organization).where(Organization.name == "Initech")).one()
        case = cases.open_case(s, organization_id=org.id, contact=contact, subject="Help",
                               now=nrt.now(), actor="test")
        out = cases.post_update(s, nrt.settings, nrt.key, number=case.number, body="Details?",
                                action="request_info", now=nrt.now(), actor="analyst",
                                cc=cc)
        s.execute(update(OutboundMessage).where(OutboundMessage.id == out.id)
                  .values(status="sent"))
        return out.id, case.id, out.message_id


def test_a_complaint_about_case_mail_is_recorded_on_it_and_audited(nrt, desk, sink):
    """Recorded on the case mail (last_error, an audit event on its case), recipient suppressed."""
    out_id, case_id, case_mail_id = _sent_case_mail(nrt)
    result = ingest(nrt, arf(case_mail_id, rcpt="pat@initech.example"))
    assert (result.outcome, result.reason) == ("ignored", "complaint")
    with nrt.db.transaction() as s:
        assert s.get(NoticeSuppression, "pat@initech.example").reason == "complaint"
        assert s.get(OutboundMessage, out_id).last_error == "complaint (abuse)"
        events = s.scalars(select(AuditEvent).where(AuditEvent.action == "mail.complaint")).all()
        assert [(e.case_id, e.detail["outbound_id"]) for e in events] == [(case_id, out_id)]


def test_a_delayed_dsn_never_marks_a_notice_recipient_bounced(nrt, desk, sink):
    """RFC 3464 'delayed' / 4.4.1: the mail may still arrive; no bounce, no suppression."""
    create_and_send(nrt, NoticeKind.ADVISORY)
    delivery_id, message_id = _delivery_id(nrt, "cto@acme.example")
    result = ingest(nrt, delayed_dsn("cto@acme.example", message_id))
    assert (result.outcome, result.reason) == ("ignored", "bounce")
    with nrt.db.transaction() as s:
        delivery = s.get(NoticeDelivery, delivery_id)
        assert delivery.status == "sent" and delivery.bounced_at is None
        assert "delayed" in (delivery.last_error or "")
        assert s.get(NoticeSuppression, "cto@acme.example") is None


def test_a_permanent_bounce_shows_its_reason_on_the_delivery(nrt, desk, sink):
    """The analyst sees why: the RFC 3463 status and the remote server's words."""
    create_and_send(nrt, NoticeKind.ADVISORY)
    delivery_id, message_id = _delivery_id(nrt, "cto@acme.example")
    raw = delayed_dsn("cto@acme.example", message_id).replace(
        b"Action: delayed\r\nStatus: 4.4.1",
        b"Action: failed\r\nStatus: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 User unknown")
    assert ingest(nrt, raw).reason == "bounce"
    with nrt.db.transaction() as s:
        delivery = s.get(NoticeDelivery, delivery_id)
        assert delivery.status == "bounced"
        assert delivery.last_error == "bounced: cto@acme.example 5.1.1 550 5.1.1 User unknown"


def test_a_complaint_about_someone_elses_mail_suppresses_nobody(nrt, desk, sink):
    """An abuse desk's report about mail we never sent names strangers: nothing changes."""
    result = ingest(nrt, arf("not-ours@elsewhere.example", rcpt="stranger@acme.example"))
    assert (result.outcome, result.reason) == ("ignored", "complaint")
    with nrt.db.transaction() as s:
        assert s.get(NoticeSuppression, "stranger@acme.example") is None


def test_a_complaint_about_case_mail_copied_to_several_suppresses_nobody(nrt, desk, sink):
    """A Cc'd stranger holds the same Message-ID and can forge an ARF report naming the
    designated contact (RFC 5965 8.2): it cut them off from every notice. Now it is noted on
    the mail for an analyst, and nobody is suppressed."""
    out_id, _case_id, case_mail_id = _sent_case_mail(nrt, cc=("vendor@vendor.example",))
    result = ingest(nrt, arf(case_mail_id, rcpt="pat@initech.example"))
    assert (result.outcome, result.reason) == ("ignored", "complaint")
    with nrt.db.transaction() as s:
        assert s.get(NoticeSuppression, "pat@initech.example") is None
        assert s.get(NoticeSuppression, "vendor@vendor.example") is None
        assert s.get(OutboundMessage, out_id).last_error == "complaint (abuse)"
