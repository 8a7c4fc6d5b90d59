"""A From that our parser and the MX's DMARC verifier read as two different domains never
links: the trusted verdict (here a pass) is about the attacker's domain, not the designated
contact's we see (RFC 7489 6.6.1, RFC 8601 2.7.2; "Composition Kills", USENIX Security 2020).
Both shapes linked to the case before."""

from __future__ import annotations

import re

import pytest

REPLY = """\
Authentication-Results: mx.desk.example; spf=pass smtp.mailfrom=evil.example;
 dkim=pass header.d=evil.example; dmarc=pass header.from=evil.example
From: {sender}
To: care@desk.example
Subject: Re: Printer on fire {token}
Message-ID: <two-ways-{n}@evil.example>

Please send the invoice to my new address.
"""


def _token(tmp_path) -> str:
    [raw] = [p.read_text() for p in (tmp_path / "var" / "outbox").glob("*.eml")]
    found = re.search(r"\[ref:CASE-1001:[a-z2-7]{16}\]", raw)
    assert found
    return found.group(0)


@pytest.mark.parametrize("n, sender", [(1, "<@evil.example:alice@acme.example>"),
                                       (2, "Friends: alice@acme.example;")])
def test_a_from_the_verifier_read_as_another_domain_goes_to_triage(
        cli, desk, tmp_path, monkeypatch, n, sender):
    monkeypatch.setenv("TICKETGATE_TRUSTED_AUTHSERV_IDS", "mx.desk.example")
    path = tmp_path / f"two-ways-{n}.eml"
    text = REPLY.format(sender=sender, token=_token(tmp_path), n=n)
    path.write_bytes(text.replace("\n", "\r\n").encode())
    run = cli("ingest", str(path))
    assert run.code == 0, run.err
    assert (run.out[0]["outcome"], run.out[0]["reason"]) == ("triaged", "ambiguous_sender")


def test_the_same_verdict_about_the_from_we_read_still_links(cli, desk, tmp_path, monkeypatch):
    monkeypatch.setenv("TICKETGATE_TRUSTED_AUTHSERV_IDS", "mx.desk.example")
    path = tmp_path / "agreed.eml"
    text = REPLY.format(sender="Alice <alice@ACME.example>", token=_token(tmp_path), n=3)
    text = text.replace("evil.example", "acme.example")
    path.write_bytes(text.replace("\n", "\r\n").encode())
    run = cli("ingest", str(path))
    assert (run.out[0]["outcome"], run.out[0]["reason"]) == ("linked", "reply"), run.err


def test_a_from_that_is_only_a_quoted_string_is_no_sender(cli, desk, tmp_path):
    """'From: "alice@acme.example"' is a quoted local part without a domain: the stdlib
    unquoted it into alice's address and it linked; a DMARC verifier finds no domain there."""
    path = tmp_path / "quoted.eml"
    text = REPLY.format(sender='"alice@acme.example"', token=_token(tmp_path), n=4)
    text = text.split("\n", 2)[2]  # no Authentication-Results: nothing judged it
    path.write_bytes(text.replace("\n", "\r\n").encode())
    run = cli("ingest", str(path))
    assert (run.out[0]["outcome"], run.out[0]["reason"]) == ("rejected", "no_sender"), run.err
