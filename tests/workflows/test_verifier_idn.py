"""A DMARC verdict names an internationalized From domain in A-labels or U-labels (RFC 5890):
either is the From we read, not a second reading of it (``senders.verifier_disagrees``)."""

from __future__ import annotations

import pytest

from parsing import parse
from workflows.inbound.senders import ambiguity

TRUSTED = ("mx.desk.example",)


def _mail(from_domain: str, judged: str):  # type: ignore[no-untyped-def]
    return parse((f"Authentication-Results: mx.desk.example; dmarc=pass header.from={judged}\r\n"
                  f"From: Jörg <joerg@{from_domain}>\r\nTo: care@desk.example\r\n"
                  "Subject: Drucker\r\nMessage-ID: <idn@x>\r\n\r\nHallo\r\n").encode())


@pytest.mark.parametrize("from_domain, judged", [
    ("bücher.example", "xn--bcher-kva.example"),
    ("xn--bcher-kva.example", "bücher.example"),
    ("bücher.example", "bücher.example"),
])
def test_one_idn_domain_written_two_ways_is_one_sender(from_domain, judged):
    assert ambiguity(_mail(from_domain, judged), TRUSTED) is None


def test_another_domain_is_still_a_second_reading():
    assert "judged DMARC for evil.example" in (
        ambiguity(_mail("bücher.example", "evil.example"), TRUSTED) or "")
