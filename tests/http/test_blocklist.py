"""Blocked senders (workflows.cases.blocklist, checked in workflows.inbound.apply): triage only."""

from __future__ import annotations

from tests.support import ingest, new_mail, open_case, post, reply_to
from workflows.cases.blocklist import block_sender


def _block(rt, email: str) -> None:
    with rt.db.transaction() as s:
        block_sender(s, email=email, reason="test", actor="admin@desk.example", now=rt.now())


def test_mail_from_a_blocked_sender_never_waits_in_triage(rt, people):
    """It is recorded (nothing is lost) and discarded on arrival, with the reason traced."""
    _block(rt, "spam@else.example")
    result = ingest(rt, new_mail(sender="Spam <SPAM@else.example>"))
    from workflows.storage.models import InboundMessage, TriageItem

    with rt.db.transaction() as s:
        item = s.query(TriageItem).one()
        row = s.get(InboundMessage, result.inbound_id)
        assert (item.state, item.resolved_by) == ("discarded", "system:blocklist")
        assert row is not None and row.trace[-1] == "sender is blocked: discarded on arrival"


def test_a_blocked_contacts_valid_reply_still_reaches_its_case(rt, people):
    """The reference links a reply, not the address: blocking cannot lose a customer's answer."""
    number = open_case(rt)
    sent = post(rt, number)
    _block(rt, people["alice"])
    result = ingest(rt, reply_to(sent, sender=people["alice"]))
    assert (result.outcome, result.case_number) == ("linked", number)
