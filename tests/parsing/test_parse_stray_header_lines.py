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


def test_several_unindented_fold_lines_keep_sender_and_subject() -> None:
    """The shape of Zammad's test mail068 (a relay's banner, then a Received field whose
    three continuation lines lost their indent): the header goes on below the damage."""
    parsed = parse(raw(
        "---- Original email message ----\n"
        "Return-Path: web@shop.example.cz\n"
        "Received: from mail.shop.example.cz ([192.0.2.7])\n"
        "by mx.example.cz with ESMTP\n"
        "for helpdesk@example.cz;\n"
        "Thu, 2 Aug 2018 16:58:16 +0200\n"
        "To: helpdesk@example.cz\n"
        "Subject: Contact from Server\n"
        "From: web@shop.example.cz\n"
        "Date: Thu, 2 Aug 2018 16:58:28 +0200\n"
        "\n"
        "Contact form\n"
    ))
    assert parsed.from_ is not None and parsed.from_.email == "web@shop.example.cz"
    assert parsed.subject == "Contact from Server"
    assert parsed.text.strip() == "Contact form"
    received = parsed.header("Received")
    assert received is not None and received.endswith("for helpdesk@example.cz; "
                                                      "Thu, 2 Aug 2018 16:58:16 +0200")


def test_reply_without_separator_keeps_its_lines_before_a_quoted_block() -> None:
    """Three text lines, then an Outlook quote block and the empty line: the block repeats the
    header's From, so the lines are the customer's reply, not damage inside the header."""
    parsed = parse(raw(
        "From: pat@example.org\n"
        "To: desk@example.com\n"
        "Subject: Re: Printer\n"
        "Thanks, that fixed it.\n"
        "The jam is gone.\n"
        "Best, Pat\n"
        "From: lee@example.com\n"
        "Sent: Monday\n"
        "Subject: Printer\n"
        "\n"
        "Please try the other tray.\n"
    ))
    assert parsed.subject == "Re: Printer"
    for line in ("Thanks, that fixed it.", "The jam is gone.", "Best, Pat"):
        assert line in parsed.visible_reply


def test_a_long_run_of_text_lines_is_the_body() -> None:
    """More lines of text in a row than a damaged fold leaves: the body, even when fields that
    the header lacks follow them."""
    lines = "".join(f"Line {n} of my reply\n" for n in range(5))
    parsed = parse(raw(
        "From: pat@example.org\n"
        "Subject: Re: Printer\n"
        + lines
        + "To: desk@example.com\n"
        "\n"
        "Tail.\n"
    ))
    assert parsed.subject == "Re: Printer"
    assert "Line 0 of my reply" in parsed.text and "Line 4 of my reply" in parsed.text


def test_text_lines_above_any_field_stay_the_body() -> None:
    """A body with no header of its own (a reply's text, then an Outlook quote block): above
    the first field only one banner line may be damage, so both text lines stay the body."""
    parsed = parse(raw(
        "This is a reply from Outlook!\n"
        "________________________________\n"
        "From: Discourse <info@example.org>\n"
        "Sent: Thursday, 28 January 2016 8:16 p.m.\n"
        "Subject: (no subject)\n"
        "\n"
        "Lorem ipsum.\n"
    ))
    assert parsed.from_ is None
    assert "This is a reply from Outlook!" in parsed.visible_reply
