"""parse(): who wrote it -- loops, bounces (and their details), auto-replies, lists, humans."""

from __future__ import annotations

import pytest

from parsing import parse, reference
from parsing.classify import RULES
from parsing.model import AutomationClass, Bounce
from tests.conftest import FIXTURES, KEY

OUR_ID = "ref.CASE-1001.ckkzpityypjsdydl.5e3a9c0d7b1f4a26@support.example.com"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def mail(headers: str, body: str = "Hello.\n") -> bytes:
    base = "From: Jane <jane@customer.example>\nTo: support@example.com\n"
    return (base + headers.strip("\n") + "\n\n" + body).replace("\n", "\r\n").encode()


def test_every_rule_has_a_unique_name_and_a_description() -> None:
    """Rule names are recorded in decision traces; they must be unique and explained."""
    names = [rule.name for rule, _ in RULES]
    assert len(names) == len(set(names))
    assert all(rule.description for rule, _ in RULES)


def test_plain_reply_is_human() -> None:
    """Nothing automatic about a normal reply: no rule hits."""
    parsed = parse(fixture("gmail-reply-quoted.eml"))
    assert (parsed.automation, parsed.automation_rules, parsed.bounce) == (
        AutomationClass.HUMAN,
        (),
        None,
    )


# --- LOOP ----------------------------------------------------------------------------------


def test_loop_header_means_our_own_mail() -> None:
    """We stamp X-Ticketgate-Loop on everything we send; seeing it means it came back."""
    parsed = parse(mail("Subject: hi\nX-Ticketgate-Loop: ticketgate-prod"))
    assert parsed.automation is AutomationClass.LOOP
    assert parsed.automation_rules == ("loop_header",)


def test_loop_header_of_another_instance_is_not_a_loop() -> None:
    """With our instance id given, only that value is ours; another desk's is not."""
    raw = mail("Subject: hi\nX-Ticketgate-Loop: vendor-desk")
    assert parse(raw, loop_id="ticketgate").automation is AutomationClass.HUMAN
    assert parse(raw, loop_id="Vendor-Desk ").automation is AutomationClass.LOOP


def test_own_message_id_is_a_loop_when_it_verifies() -> None:
    """Our Message-IDs are signed; a mail carrying one as its own id is ours."""
    mid = reference.make_message_id("CASE-1001", KEY, "support.example.com")
    assert parse(mail(f"Message-ID: <{mid}>"), key=KEY).automation is AutomationClass.LOOP


def test_forged_own_message_id_is_not_a_loop() -> None:
    """Knowing our id format is not enough: with the key, a wrong MAC is not ours."""
    mid = reference.make_message_id("CASE-1001", b"wrong" * 8, "support.example.com")
    assert parse(mail(f"Message-ID: <{mid}>"), key=KEY).automation is AutomationClass.HUMAN


def test_too_many_received_hops_is_a_loop() -> None:
    """RFC 5321 6.3: a pile of Received fields means the mail is going round in circles."""
    received = "".join(
        f"Received: from hop{i}.example by mx.example; Mon, 1 Jan 2024\n" for i in range(26)
    )
    parsed = parse(mail(received + "Subject: hi"))
    assert (parsed.automation, parsed.automation_rules) == (
        AutomationClass.LOOP,
        ("too_many_hops",),
    )


def test_loop_wins_over_everything() -> None:
    """Precedence LOOP > BOUNCE > AUTO_REPLY > LIST: answering our own mail would loop forever."""
    parsed = parse(mail("Subject: Out of Office: x\nX-Ticketgate-Loop: a\nList-Id: <l.example>"))
    assert parsed.automation is AutomationClass.LOOP
    assert set(parsed.automation_rules) >= {"loop_header", "auto_reply_subject", "list_id"}


# --- BOUNCE --------------------------------------------------------------------------------


def _core(bounce: Bounce | None) -> Bounce | None:
    """The fields these tests are about; per-recipient details are tested in test_bounces."""
    if bounce is None:
        return None
    return Bounce(bounce.original_message_id, bounce.failed_recipients, bounce.permanent,
                  bounce.format)


def test_rfc3464_dsn_bounce_details() -> None:
    """RFC 3464: the failed recipient, a permanent 5.1.1, and our original Message-ID."""
    parsed = parse(fixture("dsn-rfc3464-bounce.eml"))
    assert parsed.automation is AutomationClass.BOUNCE
    assert "dsn_report" in parsed.automation_rules
    assert _core(parsed.bounce) == Bounce(OUR_ID, ("gone@customer.example",), True, "rfc3464")


def test_returned_headers_do_not_make_a_bounce_a_loop() -> None:
    """The bounced copy carries our loop header; the bounce itself is not our mail."""
    assert parse(fixture("dsn-rfc3464-bounce.eml")).automation is AutomationClass.BOUNCE


def test_delayed_dsn_is_not_permanent() -> None:
    """RFC 3464 2.3.3 'delayed' with 4.x.x (RFC 3463) means the mail may still arrive."""
    raw = fixture("dsn-rfc3464-bounce.eml").replace(b"Action: failed", b"Action: delayed")
    raw = raw.replace(b"Status: 5.1.1", b"Status: 4.4.1")
    bounce = parse(raw).bounce
    assert bounce is not None and bounce.permanent is False
    assert bounce.failed_recipients == ("gone@customer.example",)


def test_qmail_bounce_details() -> None:
    """qmail's text format: '<addr>:' lines and a copy after '--- Below this line'."""
    parsed = parse(fixture("qmail-bounce.eml"))
    assert parsed.automation is AutomationClass.BOUNCE
    assert "qmail_bounce_text" in parsed.automation_rules
    assert _core(parsed.bounce) == Bounce(OUR_ID, ("nobody@customer.example",), True, "qmail")


def test_exim_bounce_details() -> None:
    """Exim: X-Failed-Recipients plus the copy after '------ This is a copy'."""
    parsed = parse(fixture("exim-bounce.eml"))
    assert {"exim_bounce_text", "x_failed_recipients"} <= set(parsed.automation_rules)
    assert _core(parsed.bounce) == Bounce(OUR_ID, ("left@customer.example",), True, "exim")


def test_exim_delay_warning_is_not_permanent() -> None:
    """Exim warns 'has not yet been delivered' long before it gives up."""
    body = (
        "This message was created automatically by mail delivery software.\n\n"
        "A message that you sent has not yet been delivered to one or more of its\n"
        "recipients after more than 24 hours on the queue on mx.customer.example.\n\n"
        "The address to which the message has not yet been delivered is:\n\n"
        "  slow@customer.example\n    Delay reason: mailbox busy\n"
    )
    bounce = parse(mail("Subject: Warning: message 1sH2k5 delayed 24 hours", body)).bounce
    assert _core(bounce) == Bounce(None, ("slow@customer.example",), False, "exim")


def test_heuristic_bounce_from_postmaster_with_failed_header() -> None:
    """Unknown formats still give what they can: the X-Failed-Recipients and a returned id."""
    raw = mail(
        "Subject: Undeliverable: Printer broken\nX-Failed-Recipients: a@c.example, B@c.example",
        f"Delivery has failed.\n\nOriginal message headers:\n\nMessage-ID: <{OUR_ID}>\n",
    ).replace(b"jane@customer.example", b"postmaster@customer.example")
    parsed = parse(raw)
    assert parsed.automation is AutomationClass.BOUNCE
    assert _core(parsed.bounce) == Bounce(OUR_ID, ("a@c.example", "b@c.example"), True,
                                         "x-failed-recipients")


@pytest.mark.parametrize(
    "subject",
    [
        "Undelivered Mail Returned to Sender",
        "Delivery Status Notification (Failure)",
        "Undeliverable: Printer broken",
        "Mail delivery failed: returning message to sender",
        "failure notice",
    ],
)
def test_bounce_subjects(subject: str) -> None:
    """Non-standard bounces are recognised by the subjects MTAs give them."""
    parsed = parse(mail(f"Subject: {subject}"))
    assert parsed.automation is AutomationClass.BOUNCE
    assert "bounce_subject" in parsed.automation_rules


# --- AUTO_REPLY ----------------------------------------------------------------------------


def test_auto_submitted_out_of_office() -> None:
    """RFC 3834 5.1: Auto-Submitted other than 'no' marks automatic mail."""
    parsed = parse(fixture("out-of-office-auto-submitted.eml"))
    assert parsed.automation is AutomationClass.AUTO_REPLY
    assert {"auto_submitted", "auto_reply_subject"} <= set(parsed.automation_rules)


def test_out_of_office_by_subject_only() -> None:
    """Many autoresponders send no header at all; the subject gives them away."""
    parsed = parse(fixture("out-of-office-subject-only.eml"))
    assert (parsed.automation, parsed.automation_rules) == (
        AutomationClass.AUTO_REPLY,
        ("auto_reply_subject",),
    )


def test_auto_submitted_no_is_human() -> None:
    """RFC 3834 5.1: 'Auto-Submitted: no' says a person wrote it, whatever the subject."""
    parsed = parse(fixture("auto-submitted-no-is-human.eml"))
    assert (parsed.automation, parsed.automation_rules) == (AutomationClass.HUMAN, ())


@pytest.mark.parametrize(
    "subject",
    [
        "Automatic reply: Printer broken",
        "Auto: Printer broken",
        "Abwesenheitsnotiz: Drucker",
        "Réponse automatique : Imprimante",
        "Risposta automatica: Stampante",
        "Respuesta automática: Impresora",
        "Autosvar: Skrivare",
        "Automatisch antwoord: Printer",
        "Fuera de la oficina: Impresora",
        "Afwezig: Printer",
        "Vacation",
        "Away from the office",
        "Jane Doe is out of the office.",
    ],
)
def test_auto_reply_subjects(subject: str) -> None:
    """Out-of-office subjects in the languages our customers write."""
    assert parse(mail(f"Subject: {subject}")).automation is AutomationClass.AUTO_REPLY


@pytest.mark.parametrize(
    "subject",
    ["Re: Out of office next week?", "Vacation request for July", "Auto insurance question"],
)
def test_human_subjects_that_mention_absence_stay_human(subject: str) -> None:
    """Only the autoresponders' prefixes count; people may talk about holidays."""
    assert parse(mail(f"Subject: {subject}")).automation is AutomationClass.HUMAN


def test_x_auto_response_suppress_alone_is_human() -> None:
    """Outlook sets X-Auto-Response-Suppress on ordinary mail: it is a request, not a mark."""
    parsed = parse(fixture("outlook-thread-index-only.eml"))
    assert parsed.header("X-Auto-Response-Suppress") == "All"
    assert parsed.automation is AutomationClass.HUMAN


def test_x_auto_response_suppress_with_null_return_path_is_auto() -> None:
    """With a second weak signal (a null Return-Path, RFC 3834 3.3) it does count."""
    parsed = parse(mail("Subject: Re: x\nReturn-Path: <>\nX-Auto-Response-Suppress: OOF, DR"))
    assert parsed.automation_rules == ("suppress_with_auto_signal",)


@pytest.mark.parametrize(
    "header", ["X-Autoreply: yes", "X-Autorespond: on", "Precedence: auto_reply"]
)
def test_autoresponder_headers(header: str) -> None:
    """Vacation programs mark their replies with these headers."""
    assert parse(mail(f"Subject: Re: x\n{header}")).automation is AutomationClass.AUTO_REPLY


def test_read_receipt_is_auto_reply() -> None:
    """An MDN (RFC 8098) is machine-generated; it must not reopen a case."""
    raw = mail(
        "Subject: Read: x\nContent-Type: multipart/report;"
        ' report-type=disposition-notification; boundary="b"',
        "--b\nContent-Type: text/plain\n\nRead.\n--b--\n",
    )
    assert parse(raw).automation_rules == ("mdn_report",)


# --- LIST ----------------------------------------------------------------------------------


def test_human_reply_relayed_by_a_list_is_list_mail() -> None:
    """A person wrote it, but the list sent it: answering would mail the whole list."""
    parsed = parse(fixture("list-mail-list-id.eml"))
    assert parsed.automation is AutomationClass.LIST
    assert {"list_id", "list_unsubscribe", "precedence_bulk"} <= set(parsed.automation_rules)


@pytest.mark.parametrize("header", ["Precedence: bulk", "Precedence: junk", "X-Mailing-List: x"])
def test_bulk_headers_are_list(header: str) -> None:
    """RFC 3834 2: bulk and list mail must not get automatic answers."""
    assert parse(mail(f"Subject: x\n{header}")).automation is AutomationClass.LIST


def test_feedback_id_alone_is_human() -> None:
    """ESPs put Feedback-ID on one-to-one mail too; only with campaign headers is it bulk."""
    assert parse(mail("Subject: x\nFeedback-ID: 1:2:3:ses")).automation is AutomationClass.HUMAN
    parsed = parse(mail("Subject: x\nFeedback-ID: 1:2:3:ses\nX-Campaign-Id: 42"))
    assert parsed.automation_rules == ("esp_bulk",)



TRANSCRIPT = ("Our relay refused it again, here is the session:\n"
              ">>> RCPT TO:<orders@partner.example>\n"
              "<<< 550 5.1.1 <orders@partner.example>: Recipient address rejected\n")


def transcript_mail(sender: str, subject: str) -> bytes:
    return (f"From: {sender}\nTo: care@desk.example\nSubject: {subject}\n"
            f"Message-ID: <t1@acme.example>\n\n{TRANSCRIPT}").replace("\n", "\r\n").encode()


def test_transcript_pasted_by_a_role_address_into_a_reply_is_human() -> None:
    """admin@ answering its case with the SMTP session it saw: the customer's reply."""
    parsed = parse(transcript_mail("admin@acme.example", "Re: [CASE-1001] Orders bounce"))
    assert parsed.automation is AutomationClass.HUMAN


def test_transcript_from_postmaster_titled_as_a_reply_is_a_bounce() -> None:
    """A mail system that titles its transcript "Re: <subject>" (Apache James does)."""
    parsed = parse(transcript_mail("post_master@relay.example", "Re: Orders"))
    assert parsed.automation is AutomationClass.BOUNCE
