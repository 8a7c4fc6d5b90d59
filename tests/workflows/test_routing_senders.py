"""Golden fixtures for who may touch a case (issue 12 §2, §3): one fixture per rule.

Sender identity: a mail whose author is ambiguous (two From fields, one From with two
mailboxes, a Sender not aligned with From) never links; a trusted DMARC verdict counts for
every From domain. Only allowed senders touch a case: a stranger's automated mail carrying a
valid reference goes to triage and is never listed on the case. Fixtures: see
tests/fixtures/routing/README.md (signed for CASE-1001 with the test key).
"""

from __future__ import annotations

import pytest

from tests.support import ingest, open_case, post
from tests.workflows.test_routing_golden import case_row, raw, triage_items, updates


@pytest.fixture
def awaiting(rt, people):
    """CASE-1001, opened by alice, after the analyst asked for information."""
    number = open_case(rt)
    post(rt, number)
    return number

AMBIGUOUS = [
    "two-from-fields-dmarc-pass-other-domain.eml",
    "one-from-two-mailboxes.eml",
    "sender-not-aligned-with-from.eml",
]


@pytest.mark.parametrize("fixture", AMBIGUOUS)
def test_ambiguous_sender_never_links(rt, awaiting, fixture):
    """Whose mail is it? Without one answer nothing is linked; the admin sees the case."""
    result = ingest(rt, raw(fixture))
    assert (result.outcome, result.reason, result.case_number) == (
        "triaged", "ambiguous_sender", None)
    [item] = triage_items(rt)
    assert (item.reason, item.suggested_case_id) == ("ambiguous_sender", case_row(rt).id)
    assert (updates(rt), case_row(rt).status) == ([], "awaiting_info")


def test_sender_of_the_same_domain_still_links(rt, awaiting):
    """A Sender of the From's own domain (an assistant, a company relay) is one author."""
    result = ingest(rt, raw("sender-same-domain-on-behalf.eml"))
    assert (result.outcome, result.reason, result.case_status) == ("linked", "reply", "open")


def test_trusted_dmarc_fail_for_the_second_from_domain_is_spoofed(rt, awaiting):
    """The DMARC gate reads every From domain, not only the first."""
    result = ingest(rt, raw("dmarc-fail-second-from-domain.eml"))
    assert (result.outcome, result.reason) == ("triaged", "spoofed_sender")
    assert updates(rt) == []


AUTOMATED_HEADERS = [
    b"Auto-Submitted: auto-generated",
    b"Precedence: bulk",
    b"List-Id: Billing <billing.evil.example>",
]


@pytest.mark.parametrize("header", AUTOMATED_HEADERS)
def test_strangers_automated_mail_never_reaches_the_case(rt, awaiting, header):
    """A valid reference does not let a stranger's robot write on the case timeline."""
    mail = raw("stranger-auto-submitted-valid-token.eml").replace(
        b"Auto-Submitted: auto-generated", header)
    result = ingest(rt, mail)
    assert (result.outcome, result.reason, result.case_number) == (
        "triaged", "unauthorized_sender", None)
    [item] = triage_items(rt)
    assert item.suggested_case_id == case_row(rt).id
    assert (updates(rt), case_row(rt).status) == ([], "awaiting_info")
