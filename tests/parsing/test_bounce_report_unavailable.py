"""A failure report that lost its per-recipient part: Postfix's "Delivery report unavailable".

The report's own fixture (``sisimai/lhost-postfix-64``, checked with the corpus in
test_bounces.py) names its recipient only in the returned message's To; these show that a
returned message with more than one recipient gives none, as the report does not say which.
"""

from __future__ import annotations

from parsing import parse


def report(returned_header: str, notice: str = "\t--- Delivery report unavailable ---\n") -> bytes:
    text = (
        "From: MAILER-DAEMON@mx.example.net (Mail Delivery System)\n"
        "To: desk@example.com\n"
        "Subject: Undelivered Mail Returned to Sender\n"
        "MIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\n'
        "\n"
        "--B\n"
        "Content-Description: Notification\n"
        "Content-Type: text/plain\n"
        "\n"
        "This is the mail system at host mx.example.net.\n"
        "\n"
        "I'm sorry to have to inform you that your message could not\n"
        "be delivered to one or more recipients. It's attached below.\n"
        "\n"
        "                   The mail system\n"
        "\n"
        f"{notice}"
        "\n"
        "--B\n"
        "Content-Description: Delivery report\n"
        "Content-Type: message/delivery-status\n"
        "\n"
        "Reporting-MTA: dns; mx.example.net\n"
        "X-Postfix-Sender: rfc822; desk@example.com\n"
        "\n"
        "--B\n"
        "Content-Description: Undelivered Message\n"
        "Content-Type: message/rfc822\n"
        "\n"
        "From: desk@example.com\n"
        f"{returned_header}"
        "Subject: Your case CASE-1001\n"
        "Message-ID: <out-1@example.com>\n"
        "\n"
        "Hello.\n"
        "--B--\n"
    )
    return text.replace("\n", "\r\n").encode()


def test_one_returned_recipient_is_the_failed_one() -> None:
    bounce = parse(report("To: pat@example.org\n")).bounce
    assert bounce is not None
    assert (bounce.failed_recipients, bounce.permanent) == (("pat@example.org",), True)
    assert bounce.original_message_id == "out-1@example.com"


def test_two_returned_recipients_give_none() -> None:
    bounce = parse(report("To: pat@example.org\nCc: lee@example.org\n")).bounce
    assert bounce is not None
    assert bounce.failed_recipients == ()


def test_a_relay_trace_naming_another_address_gives_none() -> None:
    """To says one address, the relay's Received another (an alias or a Bcc): ambiguous."""
    received = ("Received: from desk.example.com by mx.example.net with ESMTP id 1\n"
                "\tfor <p.doe@example.org>; Mon, 16 Dec 2019 14:12:15 +0100\n")
    bounce = parse(report(received + "To: pat@example.org\n")).bounce
    assert bounce is not None
    assert bounce.failed_recipients == ()


def test_a_bcc_field_gives_none() -> None:
    bounce = parse(report("To: pat@example.org\nBcc: lee@example.org\n")).bounce
    assert bounce is not None
    assert bounce.failed_recipients == ()


def test_a_report_that_names_its_recipient_is_read_as_before() -> None:
    """No "unavailable" notice: the prose's recipient, not the returned To."""
    notice = "<gone@example.org>: host mx.example.org said: 550 5.1.1 User unknown\n"
    bounce = parse(report("To: pat@example.org\n", notice=notice)).bounce
    assert bounce is not None
    assert bounce.failed_recipients == ("gone@example.org",)
