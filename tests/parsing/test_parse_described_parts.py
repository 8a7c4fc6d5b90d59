"""parse(): a part without a filename is named by its Content-Description (RFC 2045 8)."""

from __future__ import annotations

from parsing import parse
from tests.parsing.test_parse_attachments import mixed


def names(raw: bytes) -> list[str | None]:
    return [a.filename for a in parse(raw).attachments]


def test_a_report_part_is_named_by_its_description() -> None:
    """A delivery-status part (RFC 3464) has no filename: its label, with .txt, names it."""
    part = ("Content-Description: Delivery report\nContent-Type: message/delivery-status\n\n"
            "Reporting-MTA: dns; mx.example.net\n")
    assert names(mixed(part)) == ["Delivery report.txt"]


def test_a_filename_wins_over_the_description() -> None:
    part = ('Content-Type: application/pdf\nContent-Description: The contract\n'
            'Content-Disposition: attachment; filename="contract-v2.pdf"\n\n%PDF-1.4\n')
    assert names(mixed(part)) == ["contract-v2.pdf"]


def test_an_attached_message_keeps_its_subject_as_name() -> None:
    """Postfix's "Undelivered Message" says less than the returned mail's subject."""
    part = ("Content-Description: Undelivered Message\nContent-Type: message/rfc822\n\n"
            "From: a@x.example\nSubject: Invoice 42\n\nText.\n")
    assert names(mixed(part)) == ["Invoice 42.eml"]


def test_an_attached_message_without_subject_is_named_by_its_description() -> None:
    part = ("Content-Description: Undelivered Message\nContent-Type: message/rfc822\n\n"
            "From: a@x.example\n\nText.\n")
    assert names(mixed(part)) == ["Undelivered Message.eml"]


def test_the_description_is_cleaned_and_bounded() -> None:
    """Encoded-words decoded (RFC 2047 5), no path separators or control characters, at most
    150 characters before the extension."""
    encoded = "Content-Description: =?utf-8?q?R=C3=A9sum=C3=A9_../../etc/passwd?=\n"
    part = encoded + "Content-Type: application/pdf\n\n%PDF-1.4\n"
    assert names(mixed(part)) == ["Résumé .._.._etc_passwd.pdf"]
    long_part = "Content-Description: " + "x" * 400 + "\nContent-Type: text/csv\n" \
        "Content-Disposition: attachment\n\na,b\n"
    assert names(mixed(long_part)) == ["x" * 150 + ".csv"]


def test_a_described_text_body_stays_the_body() -> None:
    """A text part without a filename or attachment disposition is the message's text, even
    with a description (Postfix labels its notice "Notification")."""
    part = ("Content-Description: Notification\nContent-Type: text/plain\n\n"
            "This is the mail system.\n")
    parsed = parse(mixed(part))
    assert parsed.attachments == ()
    assert "This is the mail system." in parsed.text
