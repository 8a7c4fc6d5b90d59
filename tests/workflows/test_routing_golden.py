"""Golden fixtures: one real-shaped message per routing rule, and where each must land.

Every fixture is signed for CASE-1001 with the test key (see tests/fixtures/routing/README.md).
The case is opened and the analyst asks for information, so the case starts Awaiting Info.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from tests.conftest import ROOT
from tests.support import close, ingest, open_case, post
from workflows.storage.models import (
    Attachment,
    Case,
    CaseUpdate,
    OutboundMessage,
    TriageItem,
)

ROUTING = ROOT / "tests" / "fixtures" / "routing"
CARE, NEW, ESCALATIONS = "care@desk.example", "new@desk.example", "escalations@desk.example"
BOUNCED_ID = "ref.CASE-1001.ckkzpityypjsdydl.00000000b0a1ce00@desk.example"


def raw(name: str) -> bytes:
    return (ROUTING / name).read_bytes()


@pytest.fixture
def awaiting(rt, people):
    """CASE-1001, opened by alice, after the analyst asked for information."""
    number = open_case(rt)
    assert number == "CASE-1001"
    post(rt, number)
    return number


def case_row(rt, number="CASE-1001") -> Case:
    with rt.db.transaction() as s:
        return s.scalars(select(Case).where(Case.number == number)).one()


def updates(rt, kind: str | None = None) -> list[CaseUpdate]:
    with rt.db.transaction() as s:
        q = select(CaseUpdate).where(CaseUpdate.direction == "inbound")
        if kind:
            q = q.where(CaseUpdate.kind == kind)
        return list(s.scalars(q))


def triage_items(rt) -> list[TriageItem]:
    with rt.db.transaction() as s:
        return list(s.scalars(select(TriageItem)))


def outbound(rt, kind: str) -> list[OutboundMessage]:
    with rt.db.transaction() as s:
        return list(s.scalars(select(OutboundMessage).where(OutboundMessage.kind == kind)))


LINKED_REPLIES = [
    "gmail-reply-threaded.eml",
    "outlook-thread-index-only-html.eml",
    "apple-mail-reply-quoted.eml",
    "html-only-reply-token-in-quote.eml",
    "german-aw-iso-8859-1.eml",
    "reply-keeps-only-headers.eml",
    "reply-keeps-only-quoted-body.eml",
    "upper-cased-token.eml",
    "fwd-prefix-token-in-subject.eml",
    "dmarc-fail-untrusted-authserv.eml",
]


@pytest.mark.parametrize("fixture", LINKED_REPLIES)
def test_reply_shapes_link_and_reopen(rt, awaiting, fixture):
    """Whatever the client did to the reply, its reference brings it back to the case."""
    result = ingest(rt, raw(fixture))
    assert (result.outcome, result.reason, result.case_number, result.case_status) == (
        "linked", "reply", "CASE-1001", "open")
    assert len(updates(rt, "reply")) == 1


def test_german_reply_keeps_its_umlauts(rt, awaiting):
    """ISO-8859-1 quoted-printable text is decoded, not mangled, on the case."""
    ingest(rt, raw("german-aw-iso-8859-1.eml"))
    assert "Büro, Größe A4" in updates(rt, "reply")[0].full_text


def test_out_of_office_is_recorded_and_keeps_awaiting_info(rt, awaiting):
    """An auto-reply is not the customer answering: the case stays Awaiting Info."""
    result = ingest(rt, raw("out-of-office-auto-submitted.eml"))
    assert (result.outcome, result.reason, result.case_status) == (
        "ignored", "auto_reply", "awaiting_info")
    assert len(updates(rt, "auto_reply")) == 1
    assert outbound(rt, "analyst_post")[0].status == "sent"  # and nothing was answered


def test_bounce_marks_the_analysts_mail_undelivered(rt, awaiting):
    """A DSN for our mail marks that mail bounced and its recipient failing."""
    with rt.db.transaction() as s:
        s.execute(update(OutboundMessage).values(message_id=BOUNCED_ID))
    result = ingest(rt, raw("bounce-of-analyst-mail-rfc3464.eml"))
    assert (result.outcome, result.reason, result.case_status) == (
        "ignored", "bounce", "awaiting_info")
    sent = outbound(rt, "analyst_post")[0]
    assert (sent.status, sent.failed_recipients) == ("bounced", ["alice@acme.example"])


def test_forged_token_is_never_linked(rt, awaiting):
    """A reference whose signature fails goes to triage, whatever case it names."""
    result = ingest(rt, raw("forged-token.eml"))
    assert (result.outcome, result.reason, result.case_status) == (
        "triaged", "invalid_reference", None)
    assert case_row(rt).status == "awaiting_info"


def test_unauthorized_sender_is_triaged_with_the_case_suggested(rt, awaiting):
    """A non-designated contact cannot update a case, even with a valid reference."""
    result = ingest(rt, raw("unauthorized-sender-valid-token.eml"))
    assert (result.outcome, result.reason) == ("triaged", "unauthorized_sender")
    [item] = triage_items(rt)
    assert item.suggested_case_id == case_row(rt).id


def test_dmarc_failure_from_trusted_mta_is_spoofed(rt, awaiting):
    """A trusted MTA's DMARC fail overrides a valid reference."""
    result = ingest(rt, raw("dmarc-fail-valid-token.eml"))
    assert (result.outcome, result.reason) == ("triaged", "spoofed_sender")
    assert case_row(rt).status == "awaiting_info"


def test_bare_case_number_is_only_a_suggestion(rt, awaiting):
    """New mail naming a case number goes to the admins with that case suggested."""
    result = ingest(rt, raw("new-mail-names-case-number.eml"))
    assert (result.outcome, result.reason) == ("triaged", "no_reference")
    assert triage_items(rt)[0].suggested_case_id == case_row(rt).id


def test_reply_to_recently_closed_case_is_a_reopen_request(rt, awaiting, clock):
    """Within 30 days a reply never silently reopens: it asks the admins."""
    close(rt, "CASE-1001")
    clock.advance(days=10)
    result = ingest(rt, raw("reply-to-closed-case.eml"))
    assert (result.outcome, result.reason, result.case_status) == (
        "triaged", "reopen_request", None)
    assert case_row(rt).status == "closed"


def test_reply_to_long_closed_case_gets_one_reply(rt, awaiting, clock):
    """After 30 days the sender is told to open a new case — once, not on every mail."""
    close(rt, "CASE-1001")
    clock.advance(days=40)
    first = ingest(rt, raw("reply-to-closed-case.eml"))
    second = ingest(rt, raw("reply-to-closed-case.eml").replace(b"closed-1@", b"closed-2@"))
    assert (first.reason, second.reason) == ("closed_too_long", "closed_too_long")
    [notice] = outbound(rt, "closed_too_long")
    assert notice.recipients == ["alice@acme.example"]
    # An answer to the mail that came in (RFC 3834 3.1.7): auto-replied.
    assert b"Auto-Submitted: auto-replied" in notice.raw


def test_escalation_request_flags_and_notifies(rt, awaiting):
    """"Escalation Request" on the first line flags the case and mails management."""
    result = ingest(rt, raw("escalation-request-first-line.eml"))
    assert (result.outcome, result.reason, result.case_status) == (
        "linked", "escalation_request", "open")
    assert case_row(rt).escalated is True
    [notice] = outbound(rt, "escalation")
    assert notice.recipients == ["managers@desk.example"]


def test_reply_through_escalation_alias_escalates(rt, awaiting):
    """A valid reply sent to the escalation alias is an escalation request."""
    result = ingest(rt, raw("gmail-reply-threaded.eml"), mailbox=ESCALATIONS)
    assert (result.outcome, result.reason) == ("linked", "escalation_request")
    assert case_row(rt).escalated is True


def test_new_mail_opens_a_case_where_the_mailbox_says_so(rt, people):
    """Mailbox policy open_case: a designated contact's new mail opens a case, acknowledged."""
    result = ingest(rt, raw("new-mail-no-reference.eml"), mailbox=NEW)
    assert (result.outcome, result.reason, result.case_number, result.case_status) == (
        "linked", "new_case", "CASE-1001", "open")
    [ack] = outbound(rt, "new_case_ack")
    assert b"[ref:CASE-1001:ckkzpityypjsdydl]" in ack.raw
    assert ack.recipients == ["alice@acme.example"]


def test_new_mail_from_a_stranger_is_triaged(rt, people):
    """Only designated contacts open cases by mail."""
    result = ingest(rt, raw("new-mail-stranger.eml"), mailbox=NEW)
    assert (result.outcome, result.reason) == ("triaged", "unknown_sender")


def test_new_mail_goes_to_triage_by_default(rt, people):
    """"A new case cannot be created via email": the default policy is triage."""
    result = ingest(rt, raw("new-mail-no-reference.eml"), mailbox=CARE)
    assert (result.outcome, result.reason) == ("triaged", "new_mail")


def test_our_own_mail_coming_back_is_a_loop(rt, awaiting):
    """Our mail reflected back must never be recorded or answered."""
    result = ingest(rt, raw("loop-our-own-mail.eml"))
    assert (result.outcome, result.reason) == ("ignored", "loop")
    assert updates(rt) == []


def test_another_desks_loop_header_is_not_our_loop(rt, awaiting):
    """A customer whose own desk runs ticketgate stamps its instance id, not ours: a reply."""
    reply = b"X-Ticketgate-Loop: acme-care\r\n" + raw("gmail-reply-threaded.eml")
    result = ingest(rt, reply)
    assert (result.outcome, result.reason, result.case_status) == ("linked", "reply", "open")


def test_list_mail_is_recorded_but_changes_nothing(rt, awaiting):
    """List traffic quoting a reference is noted on the case; the status stays."""
    result = ingest(rt, raw("list-mail-with-token.eml"))
    assert (result.outcome, result.reason, result.case_status) == (
        "ignored", "list_mail", "awaiting_info")


def test_same_message_id_again_is_a_duplicate(rt, awaiting):
    """The same Message-ID relayed again with other headers adds nothing twice."""
    first = ingest(rt, raw("gmail-reply-threaded.eml"))
    again = ingest(rt, raw("duplicate-message-id-other-bytes.eml"))
    assert (first.outcome, again.outcome, again.reason) == (
        "linked", "duplicate", "same_message_id")
    assert len(updates(rt)) == 1


def test_attachment_is_stored_by_content_not_by_name(rt, awaiting):
    """A hostile filename is metadata only: the blob is named by its sha256 under blobs/."""
    ingest(rt, raw("reply-with-attachment.eml"))
    with rt.db.transaction() as s:
        [att] = s.scalars(select(Attachment)).all()
        assert s.scalar(select(func.count()).select_from(Attachment)) == 1
    assert att.filename == "../../etc/passwd"
    blob = rt.settings.blob_dir / att.sha256[:2] / att.sha256[2:4] / att.sha256
    assert blob.read_bytes().startswith(b"printer.log line 1")
    assert all(p.is_relative_to(rt.settings.home) for p in Path(rt.settings.home).rglob("*"))
