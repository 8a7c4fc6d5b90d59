"""parse(): the signed reference token survives what mail clients do to a reply."""

from __future__ import annotations

import pytest

from parsing import parse, reference
from parsing.model import ReferenceSource
from tests.conftest import FIXTURES, KEY

TOKEN = reference.format_token("CASE-1001", KEY)
WRONG_KEY = b"w" * 32


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def mail(headers: str, body: str = "Thanks.\n", content_type: str = "text/plain") -> bytes:
    head = f"From: c@customer.example\nTo: support@example.com\nContent-Type: {content_type}\n"
    return (head + headers.strip("\n") + "\n\n" + body).replace("\n", "\r\n").encode()


def found(raw: bytes, key: bytes | None = KEY) -> set[tuple[str, ReferenceSource, bool | None]]:
    return {(t.number, t.source, t.valid) for t in parse(raw, key=key).tokens}


@pytest.mark.parametrize("prefix", ["Re:", "RE:", "AW:", "SV:", "Fwd:", "TR:", "Re: Fwd: RE:"])
def test_token_survives_reply_prefixes(prefix: str) -> None:
    """Every language's reply/forward prefix leaves the token intact in the subject."""
    raw = mail(f"Subject: {prefix} Printer broken {TOKEN}")
    assert found(raw) == {("CASE-1001", ReferenceSource.SUBJECT, True)}


def test_token_survives_quoting() -> None:
    """'> ' quoting adds characters around, never inside, the token."""
    raw = mail("Subject: Re: x", f"Fixed.\n\n> > Our reply {TOKEN}\n> > more\n")
    assert found(raw) == {("CASE-1001", ReferenceSource.BODY, True)}


def test_token_survives_quoted_printable_soft_line_break() -> None:
    """RFC 2045 6.7: a soft line break inside the token disappears on decoding."""
    assert found(fixture("quoted-printable-token.eml")) == {
        ("CASE-1001", ReferenceSource.BODY, True)
    }


def test_token_survives_format_flowed_wrapping() -> None:
    """RFC 3676 delsp=yes may split the token mid-word; unflowing joins it."""
    assert found(fixture("format-flowed-token.eml")) == {("CASE-1001", ReferenceSource.BODY, True)}


def test_token_in_html_only_body() -> None:
    """HTML-only replies are searched after conversion to text."""
    assert found(fixture("html-only-reply.eml")) == {("CASE-1001", ReferenceSource.BODY, True)}


def test_token_only_in_the_html_alternative() -> None:
    """Some clients drop the quote from the text part only; the HTML still counts."""
    raw = (
        (
            "From: c@customer.example\nContent-Type: multipart/alternative; boundary=A\n\n"
            "--A\nContent-Type: text/plain\n\nThanks.\n"
            "--A\nContent-Type: text/html\n\n"
            f"<p>Thanks.</p><blockquote>{TOKEN}</blockquote>\n--A--\n"
        )
        .replace("\n", "\r\n")
        .encode()
    )
    assert found(raw) == {("CASE-1001", ReferenceSource.BODY, True)}


def test_token_in_outlook_header_block() -> None:
    """Outlook quotes the original subject in a '-----Original Message-----' block."""
    raw = fixture("outlook-thread-index-only.eml")
    assert found(raw) == {
        ("CASE-1001", ReferenceSource.SUBJECT, True),
        ("CASE-1001", ReferenceSource.BODY, True),
    }


@pytest.mark.parametrize("change", [str.upper, str.lower])
def test_token_survives_case_changes(change: object) -> None:
    """Base32 has one case, so a client that changes case keeps a valid token."""
    raw = mail(f"Subject: {change(f'RE: printer {TOKEN}')}")  # type: ignore[operator]
    assert found(raw) == {("CASE-1001", ReferenceSource.SUBJECT, True)}


def test_reply_that_keeps_only_the_quoted_body() -> None:
    """A new subject, no thread headers: the quoted token alone still links the case."""
    raw = mail("Subject: new question", f"Another issue.\n\n> {TOKEN}\n")
    assert found(raw) == {("CASE-1001", ReferenceSource.BODY, True)}


def test_reply_that_keeps_only_the_headers() -> None:
    """Subject and body rewritten: References still carries our Message-ID (RFC 5322 3.6.4)."""
    mid = reference.make_message_id("CASE-1001", KEY, "support.example.com")
    raw = mail(f"Subject: something else\nReferences: <other@x.example> <{mid}>", "New text.\n")
    assert found(raw) == {("CASE-1001", ReferenceSource.THREAD, True)}


def test_thread_tokens_come_first() -> None:
    """Precedence order: thread, then subject, then body."""
    sources = [t.source for t in parse(fixture("gmail-reply-quoted.eml"), key=KEY).tokens]
    assert sources == [ReferenceSource.THREAD, ReferenceSource.BODY]


def test_wrong_key_makes_tokens_invalid() -> None:
    """A token is ours only under our key: under another it is reported as invalid."""
    raw = fixture("gmail-reply-quoted.eml")
    assert {t.valid for t in parse(raw, key=WRONG_KEY).tokens} == {False}


def test_tampered_mac_is_invalid() -> None:
    """Changing one character of the signature breaks it."""
    mac = reference.sign("CASE-1001", KEY)
    tampered = f"[ref:CASE-1001:{'a' if mac[0] != 'a' else 'b'}{mac[1:]}]"
    assert found(mail(f"Subject: Re: {tampered}")) == {
        ("CASE-1001", ReferenceSource.SUBJECT, False)
    }


def test_other_case_number_with_our_mac_is_invalid() -> None:
    """Knowing one valid token does not let a sender point at another case."""
    mac = reference.sign("CASE-1001", KEY)
    assert found(mail(f"Subject: [ref:CASE-1002:{mac}]")) == {
        ("CASE-1002", ReferenceSource.SUBJECT, False)
    }


def test_without_a_key_tokens_are_unverified() -> None:
    """parse is pure: without the key it finds tokens and leaves valid as None."""
    assert found(mail(f"Subject: Re: {TOKEN}"), key=None) == {
        ("CASE-1001", ReferenceSource.SUBJECT, None)
    }


def test_bare_case_numbers_are_suggestions_not_tokens() -> None:
    """'CASE-2002' or 'ticket #100123' typed by a person is a mention, never a link."""
    parsed = parse(mail("Subject: about CASE-2002", f"See ticket #100123 and {TOKEN}.\n"), key=KEY)
    assert parsed.case_numbers == ("CASE-2002", "100123")
    assert [t.number for t in parsed.tokens] == ["CASE-1001"]


def test_token_at_the_end_of_a_long_body_is_found() -> None:
    """Long threads quote our first mail at the very bottom; the search keeps the tail."""
    body = "line of discussion\n" * 30_000 + f"> {TOKEN}\n"
    assert found(mail("Subject: long", body)) == {("CASE-1001", ReferenceSource.BODY, True)}


def test_whitespace_run_after_case_does_not_hang() -> None:
    """reference.BARE_NUMBER_RE is quadratic on whitespace after 'case'; runs are shortened."""
    parsed = parse(mail("Subject: x", "case" + " " * 200_000 + "100100\n"))
    assert parsed.tokens == ()
