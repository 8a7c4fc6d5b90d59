"""Loop protection in ``decide`` (rules ``new_case_flood`` and ``new_mail``), pure: the counts
come in the snapshot. The peer: another desk's autoresponder answering each acknowledgement
with new mail that marks nothing as automated (RFC 3834 5)."""

from __future__ import annotations

from parsing import AutomationClass
from tests.workflows.test_decide import ALICE, mail, snap
from workflows.domain import MailboxPolicy
from workflows.inbound.decide import decide
from workflows.inbound.decision import OpenCase, QueueTriage, SenderView
from workflows.settings import Mailbox

OPENS = Mailbox("new@desk.example", MailboxPolicy.OPEN_CASE)
THREE = ("CASE-1003", "CASE-1002", "CASE-1001")  # newest first, as the snapshot gives them


def test_a_sender_under_the_limit_gets_an_acknowledged_case():
    """Two cases opened lately, limit three: the third opens, acknowledged."""
    d = decide(snap(mailbox=OPENS, sender_new_cases=THREE[1:], new_cases_per_sender=3),
               mail(tokens=()))
    assert (d.outcome, d.reason) == ("linked", "new_case")
    assert d.effects == (OpenCase(7, 1, "Re: x", acknowledge=True),)


def test_a_sender_at_the_limit_waits_in_triage_unanswered():
    """Past the limit: triaged as new_case_flood, their latest case suggested; no case
    opened and no mail sent, so the peer gets nothing to answer."""
    d = decide(snap(mailbox=OPENS, sender_new_cases=THREE, new_cases_per_sender=3),
               mail(tokens=()))
    assert (d.outcome, d.reason, d.suggested_case) == ("triaged", "new_case_flood", "CASE-1003")
    assert d.effects == (QueueTriage("new_case_flood", "CASE-1003"),)


def test_the_trace_says_why_it_was_held():
    """The operator reads the count and the limit in ``triage show``."""
    d = decide(snap(mailbox=OPENS, sender_new_cases=THREE, new_cases_per_sender=3,
                    new_cases_window_hours=24.0), mail(tokens=()))
    assert "opened 3 cases in 24 h (limit 3): held, not acknowledged" in d.trace[-2]
    assert d.trace[-1] == "rule new_case_flood: triaged/new_case_flood"


def test_a_case_opened_soon_after_an_acknowledgement_is_not_acknowledged():
    """One acknowledgement per sender per window: the case opens, silently."""
    d = decide(snap(mailbox=OPENS, acknowledged_lately=True), mail(tokens=()))
    assert (d.outcome, d.reason) == ("linked", "new_case")
    assert d.effects == (OpenCase(7, 1, "Re: x", acknowledge=False),)
    assert any("acknowledged moments ago" in line for line in d.trace)


def test_a_reply_with_a_reference_is_never_held():
    """The limit is on new cases: a sender past it still updates their cases."""
    d = decide(snap(mailbox=OPENS, sender_new_cases=THREE, new_cases_per_sender=3,
                    acknowledged_lately=True), mail())
    assert (d.outcome, d.reason, d.case_number) == ("linked", "reply", "CASE-1001")


def test_a_triage_mailbox_keeps_its_reason():
    """Mail to a triage mailbox opens no case anyway: it stays new_mail."""
    d = decide(snap(sender_new_cases=THREE, new_cases_per_sender=3), mail(tokens=()))
    assert d.reason == "new_mail"


def test_a_stranger_stays_an_unknown_sender():
    """Only a designated contact opens cases, so only one can flood them."""
    stranger = SenderView("peer@else.example")
    d = decide(snap(mailbox=OPENS, sender=stranger, sender_new_cases=THREE,
                    new_cases_per_sender=3), mail(tokens=()))
    assert d.reason == "unknown_sender"


def test_an_autoresponder_that_says_so_is_ignored_before_any_count():
    """With Auto-Submitted (RFC 3834 5) the peer's answer is an auto-reply, as before."""
    d = decide(snap(mailbox=OPENS, sender=ALICE), mail(tokens=(),
                                                       automation=AutomationClass.AUTO_REPLY))
    assert (d.outcome, d.reason) == ("ignored", "auto_reply")
