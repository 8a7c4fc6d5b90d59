"""parse(): a message header with a line that is neither a field nor a fold (RFC 5322 2.2)."""

from __future__ import annotations

from parsing import parse


def raw(text: str) -> bytes:
    return text.replace("\n", "\r\n").encode("utf-8")


def test_banner_line_above_the_header_keeps_sender_and_subject() -> None:
    """A relay that writes a banner above the header must not cost the mail its sender."""
    parsed = parse(raw(
        "---- Original email message ----\n"
        "From: pat@example.org\n"
        "Subject: Printer jammed\n"
        "\n"
        "It jams on page two.\n"
    ))
    assert parsed.from_ is not None and parsed.from_.email == "pat@example.org"
    assert parsed.subject == "Printer jammed"
    assert parsed.text.strip() == "It jams on page two."


def test_unindented_fold_is_kept_with_its_field() -> None:
    """A Received continuation that lost its indent must not end the header before the From."""
    parsed = parse(raw(
        "Received: from relay.example.net\n"
        "by mx.example.com with ESMTP\n"
        "From: Pat Doe <pat@example.org>\n"
        "Subject: Invoice 42\n"
        "\n"
        "See the invoice.\n"
    ))
    assert parsed.from_ is not None and parsed.from_.name == "Pat Doe"
    assert parsed.subject == "Invoice 42"
    assert ("Received", "from relay.example.net by mx.example.com with ESMTP") in parsed.headers


def test_body_without_separator_still_starts_at_the_first_text_line() -> None:
    """No empty line and no message field below: the text is the body, as before."""
    parsed = parse(raw(
        "From: pat@example.org\n"
        "Subject: Hi\n"
        "Thanks for the help\n"
        "Note: it works now\n"
    ))
    assert parsed.subject == "Hi"
    assert "Thanks for the help" in parsed.text
    assert "Note: it works now" in parsed.text


def test_text_lines_before_a_quoted_header_block_stay_the_body() -> None:
    """No empty line after the header, and the reply quotes an Outlook header block: the
    customer's first lines are the body, not part of the Subject."""
    parsed = parse(raw(
        "From: pat@example.org\n"
        "Subject: Hi\n"
        "Hi team,\n"
        "please see below.\n"
        "From: lee@example.net\n"
        "Subject: RE: Hi\n"
        "\n"
        "Earlier text.\n"
    ))
    assert parsed.subject == "Hi"
    assert "Hi team," in parsed.text
    assert "please see below." in parsed.text


def test_a_mime_part_header_is_not_stretched() -> None:
    """Inside a part a forwarded header block after a missing empty line stays body text."""
    parsed = parse(raw(
        "From: pat@example.org\n"
        "Subject: Fwd\n"
        'Content-Type: multipart/mixed; boundary="b"\n'
        "\n"
        "--b\n"
        "Content-Type: text/plain\n"
        "Forwarded message follows\n"
        "From: lee@example.net\n"
        "\n"
        "Original text.\n"
        "--b--\n"
    ))
    assert parsed.from_ is not None and parsed.from_.email == "pat@example.org"
    assert "Forwarded message follows" in parsed.text
