"""Intake's cheap Message-ID read: the same answer as the plain regex search it replaced."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from workflows.inbound.intake import _MESSAGE_ID, header_message_id

_HEADER_END = re.compile(rb"\r?\n\r?\n")  # what the header block ends with, as a regex

PIECES = [b"\n", b"\r\n", b"\r", b"Message-ID:", b"message-id: ", b"MESSAGE-ID:", b"X-Message-ID: ",
          b"<", b">", b" ", b"\t", b"a@b.example", b"x", b"\n\n", b"\xc3\xa9"]


def _searched(raw: bytes) -> str | None:
    end = _HEADER_END.search(raw, 0, 256 * 1024)
    head = raw[: end.start()] if end else raw[: 256 * 1024]
    match = _MESSAGE_ID.search(head)
    return match.group(1).decode("ascii", "replace") if match else None


@given(st.lists(st.sampled_from(PIECES), max_size=16).map(b"".join))
def test_the_same_message_id_as_a_regex_search_of_the_header_block(raw):
    assert header_message_id(raw) == _searched(raw)


def test_a_field_that_only_ends_in_message_id_is_not_the_message_id():
    assert header_message_id(b"X-Message-ID: <no@x>\nMessage-ID: <yes@x>\n\nbody") == "yes@x"


def test_a_folded_message_id_is_read():
    assert header_message_id(b"Subject: s\r\nMessage-ID:\r\n <f@x>\r\n\r\nbody") == "f@x"
