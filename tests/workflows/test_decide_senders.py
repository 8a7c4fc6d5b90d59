"""decide(): the sender checks come before anything is recorded on a case (pure tests)."""

from __future__ import annotations

from parsing import Address, AutomationClass
from parsing.model import Bounce
from tests.workflows.test_decide import ALICE, mail, snap
from workflows.domain import MailboxPolicy
from workflows.inbound.decide import decide
from workflows.inbound.decision import AddUpdate, MarkBounced, OutboundView, SenderView
from workflows.settings import Mailbox

STRANGER = SenderView("robot@evil.example")
OURS = OutboundView(5, "ref.CASE-1001.x@desk.example", "CASE-1001")


def test_allowed_senders_auto_reply_is_recorded_on_the_case():
    """The contact's own out-of-office is part of the case story."""
    d = decide_auto(ALICE)
    assert (d.outcome, d.case_number, d.effects) == (
        "ignored", "CASE-1001", (AddUpdate("CASE-1001", "auto_reply"),))


def test_strangers_auto_reply_with_a_reference_goes_to_triage():
    """Nothing of the stranger's reaches the case: no update, only a triage item."""
    d = decide_auto(STRANGER, from_=Address("robot@evil.example"))
    assert (d.outcome, d.reason, d.case_number, d.suggested_case) == (
        "triaged", "unauthorized_sender", None, "CASE-1001")
    assert not any(isinstance(e, AddUpdate) for e in d.effects)


def test_strangers_auto_reply_naming_no_case_stays_on_the_message():
    """Without a reference there is nothing to suggest: ignored, recorded on the message."""
    d = decide_auto(STRANGER, from_=Address("robot@evil.example"), tokens=())
    assert (d.outcome, d.reason, d.case_number, d.effects) == (
        "ignored", "auto_reply", None, ())


def test_bounce_of_our_mail_keeps_its_path_whoever_relays_it():
    """A DSN names our outbound message: it marks it bounced and is noted on its case."""
    bounce = Bounce("ref.CASE-1001.x@desk.example", ("alice@acme.example",))
    d = decide_mail(snap(sender=SenderView("mailer-daemon@mx.acme.example"),
                         bounced_outbound=OURS),
                    automation=AutomationClass.BOUNCE, bounce=bounce,
                    from_=Address("mailer-daemon@mx.acme.example"))
    assert (d.outcome, d.reason, d.case_number) == ("ignored", "bounce", "CASE-1001")
    assert MarkBounced(5, ("alice@acme.example",), True) in d.effects


def test_bounce_of_nothing_we_sent_is_a_strangers_automated_mail():
    """A look-alike DSN naming none of our mail gets the stranger's treatment."""
    d = decide_mail(snap(sender=STRANGER), automation=AutomationClass.BOUNCE,
                    bounce=Bounce(None, ("x@acme.example",)),
                    from_=Address("robot@evil.example"))
    assert (d.outcome, d.reason) == ("triaged", "unauthorized_sender")


def test_automated_mail_with_two_authors_is_ambiguous():
    """Even the contact's address beside another one does not make it the contact's."""
    d = decide_auto(ALICE, from_all=(Address("alice@acme.example"),
                                     Address("mallory@evil.example")))
    assert (d.outcome, d.reason) == ("triaged", "ambiguous_sender")


def test_ambiguous_new_mail_never_opens_a_case():
    """Policy open_case: a designated contact's address plus another one opens nothing."""
    d = decide_mail(snap(mailbox=Mailbox("new@desk.example", MailboxPolicy.OPEN_CASE)),
                    tokens=(), from_fields=2)
    assert (d.outcome, d.reason) == ("triaged", "ambiguous_sender")


def decide_auto(sender: SenderView, **kw):
    return decide_mail(snap(sender=sender), automation=AutomationClass.AUTO_REPLY, **kw)


def decide_mail(snapshot, **kw):
    return decide(snapshot, mail(**kw))
