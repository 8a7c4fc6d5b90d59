"""decide() is pure: snapshots and parsed mail in, a decision out — no database needed."""

from __future__ import annotations

import dataclasses
import datetime as dt

from parsing import Address, AuthResult, AutomationClass, ParsedMail, ReferenceSource
from parsing.model import Bounce, TokenCandidate
from workflows.domain import CaseStatus, MailboxPolicy
from workflows.inbound.decide import CHAIN, decide
from workflows.inbound.decision import (
    AddUpdate,
    CaseView,
    ChangeStatus,
    MarkBounced,
    OutboundView,
    QueueTriage,
    SenderView,
    Snapshot,
)
from workflows.settings import Mailbox

NOW = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)
CASE = CaseView(id=1, number="CASE-1001", status=CaseStatus.AWAITING_INFO, organization_id=7)
ALICE = SenderView("alice@acme.example", contact_id=1, organization_id=7, designated=True)
TOKEN = TokenCandidate("CASE-1001", "x" * 16, ReferenceSource.SUBJECT, valid=True)


def snap(**kw) -> Snapshot:
    base = {"now": NOW, "mailbox": Mailbox("care@desk.example"), "sender": ALICE,
            "cases": (CASE,), "trusted_authserv_ids": ("mx.desk.example",)}
    return Snapshot(**{**base, **kw})


def mail(**kw) -> ParsedMail:
    base = {"message_id": "m1@acme.example", "subject": "Re: x",
            "from_": Address("alice@acme.example", "Alice"), "text": "hello",
            "visible_reply": "hello", "tokens": (TOKEN,)}
    return ParsedMail(**{**base, **kw})


def test_every_rule_has_a_name_and_description():
    """Rules explain themselves: the trace and the docs use these."""
    assert all(rule.name and rule.description for rule in CHAIN)


def test_customer_reply_reopens_awaiting_info():
    """The state machine, not the rule, says Awaiting Info + reply -> Open."""
    d = decide(snap(), mail())
    assert ChangeStatus("CASE-1001", CaseStatus.OPEN, "customer_replied") in d.effects


def test_reply_to_open_case_adds_update_without_status_change():
    """Other statuses keep their status; the update is still added."""
    open_case = dataclasses.replace(CASE, status=CaseStatus.OPEN)
    d = decide(snap(cases=(open_case,)), mail())
    assert d.outcome == "linked"
    assert not any(isinstance(e, ChangeStatus) for e in d.effects)


def test_trace_names_the_deciding_rule():
    """Operators read the trace to see why a mail went where it did."""
    d = decide(snap(), mail())
    assert d.trace[-1] == "rule referenced: linked/reply"


def test_auto_reply_never_changes_status():
    """An out-of-office is recorded but is not the customer answering."""
    d = decide(snap(), mail(automation=AutomationClass.AUTO_REPLY))
    assert (d.outcome, d.reason) == ("ignored", "auto_reply")
    assert d.effects == (AddUpdate("CASE-1001", "auto_reply"),)


def test_bounce_found_by_original_message_id_marks_outbound():
    """A bounce without our token is tied to the case by the Message-ID it returns."""
    out = OutboundView(9, "ref.CASE-1001.x.y@desk.example", "CASE-1001")
    bounce = Bounce("ref.CASE-1001.x.y@desk.example", ("alice@acme.example",))
    d = decide(snap(bounced_outbound=out),
               mail(automation=AutomationClass.BOUNCE, bounce=bounce, tokens=()))
    assert MarkBounced(9, ("alice@acme.example",), True) in d.effects
    assert d.case_number == "CASE-1001"


def test_valid_token_beats_invalid_one():
    """A forged token beside a valid one does not hide the valid reference."""
    forged = dataclasses.replace(TOKEN, mac="y" * 16, valid=False, source=ReferenceSource.BODY)
    d = decide(snap(), mail(tokens=(forged, TOKEN)))
    assert d.outcome == "linked"


def test_dmarc_fail_from_untrusted_authserv_is_ignored():
    """Anyone can write an Authentication-Results header; only our MTA's counts."""
    ar = AuthResult("mx.attacker.example", "fail", "acme.example")
    assert decide(snap(), mail(auth_results=(ar,))).outcome == "linked"


def test_dmarc_verdict_about_another_domain_is_an_ambiguous_sender():
    """A trusted verdict on a different header.from domain than the From we read means the MX
    and we parsed the From two ways (tests/cli/test_cli_from_read_two_ways.py): it was
    ignored and the mail linked; now nobody can say who wrote it."""
    ar = AuthResult("mx.desk.example", "fail", "other.example")
    d = decide(snap(), mail(auth_results=(ar,)))
    assert (d.outcome, d.reason) == ("triaged", "ambiguous_sender")


def test_no_sender_is_rejected():
    """A message nobody can be held to is set aside, not linked."""
    d = decide(snap(sender=None), mail(from_=None))
    assert (d.outcome, d.reason) == ("rejected", "no_sender")


def test_duplicate_wins_over_everything():
    """The second copy of a message adds nothing, whatever it says."""
    d = decide(snap(earlier_duplicate_id=3), mail())
    assert (d.outcome, d.effects) == ("duplicate", ())


def test_closed_exactly_thirty_days_is_still_a_reopen_request():
    """The 30-day window includes its last day."""
    closed = dataclasses.replace(CASE, status=CaseStatus.CLOSED,
                                 closed_at=NOW - dt.timedelta(days=30))
    assert decide(snap(cases=(closed,)), mail()).reason == "reopen_request"


def test_closed_too_long_without_recent_notice_sends_reply():
    """The sender is told once to open a new case."""
    closed = dataclasses.replace(CASE, status=CaseStatus.CLOSED,
                                 closed_at=NOW - dt.timedelta(days=31))
    d = decide(snap(cases=(closed,)), mail())
    assert [type(e).__name__ for e in d.effects] == ["QueueTriage", "SendMail"]


def test_closed_too_long_with_recent_notice_stays_quiet():
    """No reply storm when the customer keeps writing to a long-closed case."""
    closed = dataclasses.replace(CASE, status=CaseStatus.CLOSED,
                                 closed_at=NOW - dt.timedelta(days=31))
    d = decide(snap(cases=(closed,), closed_notice_recently_sent=True), mail())
    assert d.effects == (QueueTriage("closed_too_long", "CASE-1001"),)


def test_escalation_marker_is_case_insensitive_on_first_line():
    """Customers write "ESCALATION REQUEST" or "escalation request:" alike."""
    d = decide(snap(), mail(visible_reply="\n  ESCALATION REQUEST - urgent\nmore"))
    assert d.reason == "escalation_request"


def test_escalation_marker_later_in_text_is_not_a_request():
    """Only the first line counts (PureEngage 6)."""
    d = decide(snap(), mail(visible_reply="Thanks.\nNo escalation request needed."))
    assert d.reason == "reply"


def test_open_case_policy_needs_designated_sender():
    """A known but non-designated contact cannot open a case by mail."""
    bob = SenderView("bob@acme.example", 2, 7, designated=False)
    d = decide(snap(sender=bob, mailbox=Mailbox("new@x", MailboxPolicy.OPEN_CASE)),
               mail(tokens=()))
    assert d.reason == "unknown_sender"


def test_bare_number_of_unknown_case_is_plain_new_mail():
    """A number that is no case of ours suggests nothing."""
    d = decide(snap(cases=()), mail(tokens=(), case_numbers=("CASE-9999",)))
    assert (d.reason, d.suggested_case) == ("new_mail", None)
