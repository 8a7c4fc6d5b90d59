"""Per-recipient deliveries: never twice, retried on 4xx, failed on 5xx, bounced, rate-limited."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import threading
from collections.abc import Sequence

from sqlalchemy import select, update

from gateway.smtp_client import SmtpTransport
from tests.notices.conftest import NOW, create, create_and_send
from tests.support import ingest
from workflows.cases import directory
from workflows.cases import service as cases
from workflows.notices import service, views
from workflows.notices.delivery import SendReport, requeue_uncertain, send_pending
from workflows.notices.mailings import queue_notice_mailing
from workflows.notices.model import NoticeKind, Purpose
from workflows.notices.render import Occasion
from workflows.notices.scheduler import run_due
from workflows.storage.models import (
    NoticeDelivery,
    NoticeSuppression,
    Organization,
    OutboundMessage,
)

MINUTE = dt.timedelta(minutes=1)


def statuses(rt, recipient: str | None = None) -> list[str]:  # type: ignore[no-untyped-def]
    with rt.db.transaction() as s:
        query = select(NoticeDelivery.status).order_by(NoticeDelivery.id)
        if recipient:
            query = query.where(NoticeDelivery.recipient == recipient)
        return list(s.scalars(query))


class Killed(BaseException):
    """What a SIGINT/SIGTERM looks like inside the send loop: not an error it may catch."""


class DiesAfter:
    """A transport that hands ``n`` messages to the real one, then the process 'dies'."""

    def __init__(self, real: SmtpTransport, n: int) -> None:
        self.real, self.n = real, n

    def send(self, raw: bytes, sender: str, recipients: Sequence[str], message_id: str) -> None:
        if self.n == 0:
            raise Killed
        self.n -= 1
        self.real.send(raw, sender, recipients, message_id)


def test_a_worker_killed_mid_send_never_mails_anyone_twice(nrt, desk, sink):
    """Killed after 2 of 4 handovers: the claimed rows stay 'sending'; once stale they are
    reported uncertain, and no later pass sends them again."""
    ref = create(nrt)
    dying = dataclasses.replace(nrt, transport=DiesAfter(nrt.transport, 2))
    with contextlib.suppress(Killed):
        service.send_notice(dying, ref, actor="test")
    assert len(sink[0].messages) == 2
    assert statuses(nrt) == ["sending"] * 4
    early = run_due(nrt, NOW + 5 * MINUTE)  # a live claim is left alone
    late = run_due(nrt, NOW + 20 * MINUTE)  # past notice_stale_minutes: maybe sent
    again = run_due(nrt, NOW + 60 * MINUTE)
    assert (early.sent.uncertain, late.sent.uncertain, again.sent.uncertain) == (0, 4, 0)
    assert len(sink[0].messages) == 2 and statuses(nrt) == ["uncertain"] * 4
    with nrt.db.transaction() as s:
        assert views.notice_detail(s, ref).uncertain == 4


def test_uncertain_deliveries_go_again_only_when_an_operator_says_so(nrt, desk, sink):
    """`notice send REF --resend-uncertain` is the explicit decision to risk a duplicate."""
    ref = create(nrt)
    with contextlib.suppress(Killed):
        service.send_notice(dataclasses.replace(nrt, transport=DiesAfter(nrt.transport, 0)),
                            ref, actor="test")
    run_due(nrt, NOW + 20 * MINUTE)
    with nrt.db.transaction() as s:
        mailing_ids = list(s.scalars(select(NoticeDelivery.mailing_id).distinct()))
        assert requeue_uncertain(s, mailing_ids) == 4
    run_due(nrt, NOW + 21 * MINUTE)
    assert statuses(nrt) == ["sent"] * 4 and len(sink[0].messages) == 4


def test_a_connection_lost_after_the_end_of_data_is_uncertain(nrt, desk, sink):
    """The server may have taken it (RFC 5321 6.1): not resent; the others still go."""
    sink[0].drop.add("ops@wombat.example")
    create_and_send(nrt, NoticeKind.ADVISORY)
    run_due(nrt, NOW + 30 * MINUTE)
    assert statuses(nrt, "ops@wombat.example") == ["uncertain"]
    assert statuses(nrt).count("sent") == 3
    assert len(sink[0].to("ops@wombat.example")) == 1


def test_a_4xx_is_retried_with_backoff_and_then_sent(nrt, desk, sink):
    """451 defers the delivery (5 minutes, then 15...); the retry after the server recovers
    sends it once."""
    sink[0].replies["noc@initech.example"] = "451 4.3.0 try later"
    create_and_send(nrt, NoticeKind.ADVISORY)
    run_due(nrt, NOW + 6 * MINUTE)  # second attempt, still 451
    with nrt.db.transaction() as s:
        row = s.scalars(select(NoticeDelivery).where(
            NoticeDelivery.recipient == "noc@initech.example")).one()
        assert (row.status, row.attempts, row.next_attempt_at) == (
            "deferred", 2, NOW + 21 * MINUTE)
    del sink[0].replies["noc@initech.example"]
    run_due(nrt, NOW + 10 * MINUTE)  # not yet due: nothing
    assert sink[0].to("noc@initech.example") == []
    run_due(nrt, NOW + 21 * MINUTE)
    assert statuses(nrt, "noc@initech.example") == ["sent"]
    assert len(sink[0].to("noc@initech.example")) == 1


def test_a_4xx_that_never_ends_fails_after_the_last_retry(nrt, desk, sink):
    """Five attempts (now, +5, +15, +60, +240 minutes), then failed with the server's words."""
    sink[0].replies["noc@initech.example"] = "452 4.2.2 mailbox full"
    create_and_send(nrt, NoticeKind.ADVISORY)
    for minutes in (5, 20, 80, 320, 600):
        run_due(nrt, NOW + minutes * MINUTE)
    with nrt.db.transaction() as s:
        row = s.scalars(select(NoticeDelivery).where(
            NoticeDelivery.recipient == "noc@initech.example")).one()
        assert (row.status, row.attempts) == ("failed", 5) and "452" in row.last_error


def test_a_5xx_fails_at_once_and_the_others_are_sent(nrt, desk, sink):
    """A permanent refusal is not retried; it does not hold up the rest of the list."""
    sink[0].replies["cto@acme.example"] = "550 5.1.1 no such user"
    mailed = service.send_notice(nrt, create(nrt, NoticeKind.INCIDENT), actor="test")
    assert (mailed.report.sent, mailed.report.failed) == (3, 1)
    run_due(nrt, NOW + 10 * MINUTE)
    assert statuses(nrt, "cto@acme.example") == ["failed"]


def test_the_hourly_limit_per_recipient_defers_then_sends(nrt, desk, sink):
    """With 2 automated mails an hour, a third advisory waits until the first ages out."""
    nrt = dataclasses.replace(nrt, settings=dataclasses.replace(nrt.settings,
                                                                automated_per_hour=2))
    for minute in (0, 10, 20):
        nrt.clock.current = NOW + minute * MINUTE
        create_and_send(nrt, NoticeKind.ADVISORY, organizations=("Wombat",))
    assert len(sink[0].to("ops@wombat.example")) == 2
    with nrt.db.transaction() as s:
        waiting = s.scalars(select(NoticeDelivery).where(
            NoticeDelivery.status == "deferred")).one()
        assert waiting.next_attempt_at == NOW + 60 * MINUTE and "rate limit" in \
            waiting.last_error
    run_due(nrt, NOW + 61 * MINUTE)
    assert len(sink[0].to("ops@wombat.example")) == 3


def dsn(failed: str, original_message_id: str) -> bytes:
    """A Postfix-style RFC 3464 report, as the recipient's MTA sends it back."""
    return f"""From: MAILER-DAEMON@mx.example (Mail Delivery System)
To: care@desk.example
Subject: Undelivered Mail Returned to Sender
Message-ID: <dsn-{failed}@mx.example>
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.example.

<{failed}>: host mx.example said: 550 5.1.1 User unknown

--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example

Final-Recipient: rfc822; {failed}
Action: failed
Status: 5.1.1

--B
Content-Type: text/rfc822-headers

From: Customer Care <care@desk.example>
To: {failed}
Message-ID: <{original_message_id}>

--B--
""".replace("\n", "\r\n").encode()


def test_a_bounced_notice_marks_the_recipient_and_later_notices_skip_it(nrt, desk, sink):
    """The inbound core parses the DSN, finds our delivery by its Message-ID and marks it
    bounced; the next notice skips that address and still reaches the rest of the list."""
    create_and_send(nrt, NoticeKind.ADVISORY)
    with nrt.db.transaction() as s:
        message_id = s.scalar(select(NoticeDelivery.message_id).where(
            NoticeDelivery.recipient == "cto@acme.example"))
    result = ingest(nrt, dsn("cto@acme.example", message_id))
    assert (result.outcome, result.reason) == ("ignored", "bounce")
    assert statuses(nrt, "cto@acme.example") == ["bounced"]
    mailed = service.send_notice(nrt, create(nrt, NoticeKind.INCIDENT), actor="test")
    assert (mailed.report.sent, mailed.report.skipped) == (3, 1)
    assert statuses(nrt, "cto@acme.example") == ["bounced", "skipped"]
    assert len(sink[0].to("cto@acme.example")) == 1


def test_a_bounce_of_case_mail_also_stops_notices_to_that_address(nrt, desk, sink):
    """An address gone for case mail (MarkBounced) is gone for notices too."""
    with nrt.db.transaction() as s:
        contact = directory.add_contact(s, organization="Initech", email="pat@initech.example",
                                        name="Pat", designated=True, now=nrt.now())
        org = s.scalars(select(Organization).where(Organization.name == "Initech")).one()
        org.notify = ["noc@initech.example", "pat@initech.example"]
        number = cases.open_case(s, organization_id=org.id, contact=contact, subject="Help",
                                 now=nrt.now(), actor="test").number
        out = cases.post_update(s, nrt.settings, nrt.key, number=number, body="Details?",
                                action="request_info", now=nrt.now(), actor="analyst")
        s.execute(update(OutboundMessage).where(OutboundMessage.id == out.id)
                  .values(status="sent"))
        case_mail_id = out.message_id
    ingest(nrt, dsn("pat@initech.example", case_mail_id))
    with nrt.db.transaction() as s:
        assert s.get(NoticeSuppression, "pat@initech.example") is not None
    mailed = service.send_notice(nrt, create(nrt, NoticeKind.INCIDENT,
                                             organizations=("Initech",)), actor="test")
    assert (mailed.report.sent, mailed.report.skipped) == (1, 1)


def test_two_senders_at_once_send_each_delivery_once(nrt, desk, sink):
    """`notice send` and a scheduler pass racing over the same queue: the compare-and-set
    claim gives every row to exactly one of them."""
    nrt = dataclasses.replace(nrt, settings=dataclasses.replace(nrt.settings,
                                                                notice_batch_size=5))
    with nrt.db.transaction() as s:
        org = s.scalars(select(Organization).where(Organization.name == "Wombat")).one()
        org.notify = [f"ops{i}@wombat.example" for i in range(60)]
    ref = create(nrt, NoticeKind.ADVISORY, organizations=("Wombat",))
    with nrt.db.transaction() as s:  # queue without sending: what a crashed command leaves
        notice = service.find_notice(s, ref)
        notice.state, notice.sent_at = "active", nrt.now()
        queue_notice_mailing(s, nrt.settings, notice, Occasion(Purpose.ANNOUNCE, nrt.now()),
                             dedupe_key=f"{ref}/announce")
    reports: list[SendReport] = []
    threads = [threading.Thread(target=lambda: reports.append(send_pending(nrt, at=nrt.now())))
               for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sum(r.sent for r in reports) == 60
    assert sorted(rcpts[0] for rcpts, _ in sink[0].messages) == sorted(
        f"ops{i}@wombat.example" for i in range(60))


def _case_mail(nrt, cc: tuple[str, ...] = ()) -> str:  # type: ignore[no-untyped-def]
    with nrt.db.transaction() as s:
        contact = directory.add_contact(s, organization="Initech", email="pat@initech.example",
                                        name="Pat", designated=True, now=nrt.now())
        org = s.scalars(select(Organization).where(Organization.name == "Initech")).one()
        number = cases.open_case(s, organization_id=org.id, contact=contact, subject="Help",
                                 now=nrt.now(), actor="test").number
        out = cases.post_update(s, nrt.settings, nrt.key, number=number, body="Details?",
                                action="request_info", now=nrt.now(), actor="analyst", cc=cc)
        s.execute(update(OutboundMessage).where(OutboundMessage.id == out.id)
                  .values(status="sent"))
        return out.message_id


def test_a_bounce_naming_addresses_the_case_mail_never_went_to_suppresses_none_of_them(
        nrt, desk, sink):
    """Whoever holds a case mail's Message-ID can write a DSN naming any address (a notice
    list, another organization's CTO): they were suppressed from every notice."""
    ingest(nrt, dsn("cto@acme.example", _case_mail(nrt)))
    with nrt.db.transaction() as s:
        assert s.get(NoticeSuppression, "cto@acme.example") is None


def test_a_bounce_of_case_mail_copied_to_several_suppresses_nobody(nrt, desk, sink):
    """The Cc'd vendor holds the same Message-ID: a DSN 'from' the contact's MX is its word."""
    ingest(nrt, dsn("pat@initech.example", _case_mail(nrt, cc=("vendor@vendor.example",))))
    with nrt.db.transaction() as s:
        assert s.get(NoticeSuppression, "pat@initech.example") is None
        row = s.scalars(select(OutboundMessage).where(
            OutboundMessage.failed_recipients.is_not(None))).all()
        assert any(r.failed_recipients == ["pat@initech.example"] for r in row)
