"""parse(): RFC 2047 encoded-words written against the rules, as mailers send them."""

from __future__ import annotations

from parsing import parse


def raw(text: str) -> bytes:
    return text.replace("\n", "\r\n").encode("ascii")


def test_encoded_word_with_spaces_in_the_subject_is_decoded() -> None:
    """RFC 2047 2 forbids spaces inside an encoded-word; shown raw, the subject is unreadable."""
    parsed = parse(raw(
        "From: pat@example.org\n"
        "Subject: =?us-ascii?Q?Order 7 / Berlin West?=\n"
        "\n"
        "Where is it?\n"
    ))
    assert parsed.subject == "Order 7 / Berlin West"


def test_comma_inside_an_encoded_display_name_keeps_the_name_whole() -> None:
    """RFC 2047 5(3) keeps "," out of a phrase's encoded-word; read as a list separator, it
    split "Bürling, Pat" into two broken mailboxes and left the sender named "=20Pat?="."""
    parsed = parse(raw(
        "From: =?iso-8859-1?Q?B=FCrling,=20Pat?= <pat@example.org>\n"
        "Subject: Hello\n"
        "\n"
        "Hi.\n"
    ))
    assert parsed.from_ is not None and parsed.from_.email == "pat@example.org"
    assert parsed.from_.name == "Bürling, Pat"
    assert not any(d.where == "from" for d in parsed.defects)


def test_comma_encoded_word_in_to_does_not_split_the_list() -> None:
    """The same name in To stays one recipient beside the next one."""
    parsed = parse(raw(
        "From: pat@example.org\n"
        "To: =?utf-8?Q?Smith,_Jo?= <jo@example.org>, sam@example.org\n"
        "Subject: Hello\n"
        "\n"
        "Hi.\n"
    ))
    assert [(a.email, a.name) for a in parsed.to] == [
        ("jo@example.org", "Smith, Jo"), ("sam@example.org", "")]
