"""parse(): header fields -- subject, addresses, dates, ids, Authentication-Results, raw headers."""

from __future__ import annotations

import datetime as dt

from parsing import parse
from parsing.model import Address, AuthResult
from tests.conftest import FIXTURES


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def mail(headers: str, body: str = "Hello.\n") -> bytes:
    return (headers.strip("\n") + "\n\n" + body).replace("\n", "\r\n").encode("utf-8")


def test_subject_rfc2047_iso_8859_1_is_decoded() -> None:
    """German Outlook encodes umlauts in the subject (RFC 2047); the case title must read right."""
    parsed = parse(fixture("german-aw-iso-8859-1.eml"))
    assert parsed.subject == "AW: Drucker defekt überall [ref:CASE-1001:ckkzpityypjsdydl]"


def test_subject_iso_2022_jp_is_decoded() -> None:
    """Japanese mailers still send ISO-2022-JP encoded-words."""
    assert parse(fixture("iso-2022-jp-subject.eml")).subject == "プリンターの故障"


def test_subject_folding_and_tabs_collapse_to_single_spaces() -> None:
    """A folded subject is one line of text (RFC 5322 2.2.3), whatever the client's wrapping."""
    parsed = parse(mail("From: a@example.com\nSubject: Printer\n\t  broken   again\n  today"))
    assert parsed.subject == "Printer broken again today"


def test_adjacent_encoded_words_join_without_the_space_between() -> None:
    """RFC 2047 6.2: whitespace between encoded-words is not displayed; split UTF-8 must rejoin."""
    raw = mail("From: a@example.com\nSubject: =?utf-8?B?w7w=?= =?utf-8?Q?ber?= =?utf-8?B?4oKs?=")
    assert parse(raw).subject == "über€"


def test_from_decodes_name_and_lower_cases_address() -> None:
    """The sender's address is the key for contacts, so it is normalised to lower case."""
    parsed = parse(fixture("german-aw-iso-8859-1.eml"))
    assert parsed.from_ == Address("juergen.mueller@kunde.example.de", "Jürgen Müller")


def test_missing_from_is_none_with_a_defect() -> None:
    """No From is the sender's fault: the parser says so instead of raising."""
    parsed = parse(fixture("no-from-header.eml"))
    assert parsed.from_ is None
    assert any(d.where == "from" for d in parsed.defects)


def test_unparsable_from_is_none_with_a_defect() -> None:
    """A From without an addr-spec cannot identify a sender."""
    parsed = parse(mail("From: Big Bug bb at bug dot com\nSubject: x"))
    assert parsed.from_ is None
    assert any("unparsable From" in d.description for d in parsed.defects)


def test_quoted_display_name_with_comma_is_one_mailbox() -> None:
    """Quoted commas belong to the name (RFC 5322 3.2.4), not the list."""
    parsed = parse(
        mail('From: "Doe, Jane" <Jane@Example.com>\nTo: a@x.example, "B, C" <b@x.example>')
    )
    assert parsed.from_ == Address("jane@example.com", "Doe, Jane")
    assert [a.email for a in parsed.to] == ["a@x.example", "b@x.example"]


def test_encoded_name_is_decoded_after_address_parsing() -> None:
    """A decoded name may contain ',' or '<'; decoding first would split the mailbox."""
    parsed = parse(mail("From: =?utf-8?Q?Smith=2C_J=C3=B6rg_=3Cboss=3E?= <js@example.com>"))
    assert parsed.from_ == Address("js@example.com", "Smith, Jörg <boss>")


def test_reply_to_and_cc_are_parsed() -> None:
    """Replies go to Reply-To; Cc recipients become case watchers."""
    parsed = parse(mail("From: a@x.example\nReply-To: Desk <desk@x.example>\nCc: c@x.example"))
    assert parsed.reply_to == (Address("desk@x.example", "Desk"),)
    assert parsed.cc == (Address("c@x.example", ""),)


def test_group_syntax_flattens_to_members() -> None:
    """RFC 5322 3.4 groups: 'Team: a@x, b@x;' lists two recipients; empty groups list none."""
    parsed = parse(mail("From: a@x.example\nTo: Team: b@x.example, c@x.example;, Nobody:;"))
    assert [a.email for a in parsed.to] == ["b@x.example", "c@x.example"]


def test_date_is_timezone_aware() -> None:
    """Timers compare dates across zones; a naive datetime would be ambiguous."""
    parsed = parse(fixture("gmail-reply-quoted.eml"))
    assert parsed.date == dt.datetime(2024, 6, 7, 6, 15, tzinfo=dt.UTC)
    assert parsed.date.tzinfo is not None


def test_obsolete_date_syntax_is_read() -> None:
    """RFC 5322 4.3: comments and spaces around ':' are obsolete but legal (mail-parser reads)."""
    parsed = parse(mail("From: a@x.example\nDate: Wed, 1 (first) Jan 2020 10 : 00 : 00 +0100"))
    assert parsed.date == dt.datetime(2020, 1, 1, 9, 0, tzinfo=dt.UTC)


def test_minus_zero_zone_means_utc_without_a_defect() -> None:
    """RFC 5322 3.3: -0000 is UTC with the local zone unknown, not an error."""
    parsed = parse(mail("From: a@x.example\nDate: Wed, 1 Jan 2020 10:00:00 -0000"))
    assert parsed.date == dt.datetime(2020, 1, 1, 10, 0, tzinfo=dt.UTC)
    assert not [d for d in parsed.defects if d.where == "date"]


def test_unparsable_date_is_none_with_a_defect() -> None:
    """Spam sends dates like 'Pn, 29 paX 2007'; that is a defect, not a crash."""
    parsed = parse(mail("From: a@x.example\nDate: Pn, 29 paX 2007 21:13:00 +0100"))
    assert parsed.date is None
    assert any(d.where == "date" for d in parsed.defects)


def test_message_id_in_reply_to_and_references_lose_angle_brackets() -> None:
    """Threading compares bare ids (RFC 5322 3.6.4), however the client bracketed them."""
    parsed = parse(
        mail(
            "From: a@x.example\nMessage-ID:  <m1@x.example> \nIn-Reply-To: <p2@x.example>\n"
            "References: <r1@x.example>\n <p2@x.example>"
        )
    )
    assert parsed.message_id == "m1@x.example"
    assert parsed.in_reply_to == ("p2@x.example",)
    assert parsed.references == ("r1@x.example", "p2@x.example")


def test_unbracketed_references_are_still_read() -> None:
    """Some clients drop the brackets; the ids are still the thread."""
    parsed = parse(mail("From: a@x.example\nReferences: r1@x.example r2@x.example"))
    assert parsed.references == ("r1@x.example", "r2@x.example")


def test_outlook_thread_index_only_has_no_thread_ids() -> None:
    """Outlook may send only Thread-Index; threading then relies on the subject token."""
    parsed = parse(fixture("outlook-thread-index-only.eml"))
    assert parsed.in_reply_to == ()
    assert parsed.references == ()
    assert parsed.header("Thread-Index") == "AQHatlR8kq3n0b2xE0W5n4q7QkY5LbG4yC1w"


def test_authentication_results_dmarc_fail_and_header_from() -> None:
    """Routing distrusts DMARC failures; the verdict and the domain it is about are extracted."""
    parsed = parse(fixture("dmarc-fail-authentication-results.eml"))
    assert parsed.auth_results == (
        AuthResult("mx.support.example.com", "fail", "bank.example"),
        AuthResult("spamfilter.example.net", "pass", "relay.example"),
    )


def test_authentication_results_without_dmarc() -> None:
    """A verifier that did not check DMARC says nothing about it: dmarc is None."""
    parsed = parse(mail("From: a@x.example\nAuthentication-Results: mx.example; spf=pass"))
    assert parsed.auth_results == (AuthResult("mx.example", None, None),)


def test_headers_keep_order_and_are_decoded() -> None:
    """The raw header list is kept for audits and rules, decoded but in the order sent."""
    parsed = parse(mail("X-First: 1\nFrom: a@x.example\nSubject: =?utf-8?q?caf=C3=A9?=\nX-Last: 2"))
    assert parsed.headers == (
        ("X-First", "1"),
        ("From", "a@x.example"),
        ("Subject", "café"),
        ("X-Last", "2"),
    )


def test_utf8_raw_header_rfc6532() -> None:
    """RFC 6532 allows raw UTF-8 in headers."""
    raw = "From: Jörg <jörg@example.de>\r\nSubject: Grüße\r\n\r\nx".encode()
    parsed = parse(raw)
    assert parsed.subject == "Grüße"
    assert parsed.from_ == Address("jörg@example.de", "Jörg")


def test_raw_latin1_header_uses_the_declared_charset() -> None:
    """Old clients send 8-bit headers in the body's charset; that is the best guess."""
    raw = (
        b"From: a@x.example\r\nSubject: Gr\xfc\xdfe\r\n"
        b"Content-Type: text/plain; charset=iso-8859-1\r\n\r\nx"
    )
    parsed = parse(raw)
    assert parsed.subject == "Grüße"
    assert any("not UTF-8" in d.description for d in parsed.defects)


def test_nul_bytes_in_headers_are_removed() -> None:
    """NUL cannot be stored in PostgreSQL text columns; it is dropped with a defect."""
    parsed = parse(b"From: a@x.example\r\nSubject: a\x00b\r\n\r\nx")
    assert parsed.subject == "ab"
    assert any("NUL" in d.description for d in parsed.defects)


def test_raw_koi8r_subject_without_charset_is_read_as_russian():
    """Old Russian clients sent KOI8-R headers raw with no label; guess it, don't garble it."""
    raw = b"From: a@b.example\r\nSubject: " + "тест тест".encode("koi8-r") + b"\r\n\r\nhi\r\n"
    assert parse(raw).subject == "тест тест"


def test_raw_latin1_subject_without_charset_stays_latin():
    """Accented Latin text must not be mistaken for Cyrillic."""
    raw = b"From: a@b.example\r\nSubject: " + "Grüße aus Zürich".encode("latin-1") + b"\r\n\r\n"
    assert parse(raw).subject == "Grüße aus Zürich"
