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

