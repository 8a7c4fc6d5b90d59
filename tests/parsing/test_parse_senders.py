"""Who wrote it, as the parser reports it: every From mailbox, the Sender field, and every
DMARC verdict of Authentication-Results (parsed by ``authres``)."""

from __future__ import annotations

from parsing import parse
from parsing.model import Address, AuthResult


def mail(headers: str) -> bytes:
    return (headers.strip() + "\n\nbody\n").encode()


def test_two_from_fields_are_both_reported():
    """Routing reads the first From; the second must not disappear on the way."""
    parsed = parse(mail("From: alice@acme.example\nFrom: mallory@evil.example"))
    assert (parsed.from_, parsed.from_fields) == (Address("alice@acme.example"), 2)
    assert [a.email for a in parsed.authors] == ["alice@acme.example", "mallory@evil.example"]


def test_one_from_field_with_two_mailboxes():
    """RFC 5322 3.6.2 allows it; both authors are kept."""
    parsed = parse(mail("From: Alice <alice@acme.example>, mallory@evil.example"))
    assert (parsed.from_fields, len(parsed.authors)) == (1, 2)


def test_sender_field_is_read():
    """The mailbox that actually sent the mail (RFC 5322 3.6.2)."""
    parsed = parse(mail("From: alice@acme.example\nSender: Relay <relay@mail.acme.example>"))
    assert parsed.sender_field == (Address("relay@mail.acme.example", "Relay"),)


def test_one_dmarc_verdict_per_from_domain():
    """A verifier may report a verdict per From domain (RFC 7489 6.6.1): all are kept."""
    parsed = parse(mail("Authentication-Results: mx.desk.example; dmarc=pass "
                        "header.from=acme.example; dmarc=fail header.from=Evil.Example.\n"
                        "From: alice@acme.example"))
    assert parsed.auth_results == (AuthResult("mx.desk.example", "pass", "acme.example"),
                                   AuthResult("mx.desk.example", "fail", "evil.example"))


def test_unreadable_clause_does_not_hide_a_dmarc_failure():
    """A sender-chosen value authres cannot tokenize costs that clause, not the verdict."""
    parsed = parse(mail("Authentication-Results: mx.desk.example; spf=pass "
                        "smtp.mailfrom=@@@; dmarc=fail header.from=acme.example\n"
                        "From: alice@acme.example"))
    assert parsed.auth_results == (AuthResult("mx.desk.example", "fail", "acme.example"),)


def test_garbage_authentication_results_is_skipped():
    """No authserv-id, no verdict: nothing to believe."""
    parsed = parse(mail("Authentication-Results: ;;; ===\nFrom: alice@acme.example"))
    assert parsed.auth_results == ()
