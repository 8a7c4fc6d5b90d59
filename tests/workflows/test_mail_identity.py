"""Per-mailbox identity on case mail: the From display name and the signature come from the
case's [[mailbox]] (`display_name`, `signature`), else the desk's `desk_name`."""

from __future__ import annotations

import dataclasses
import email
import email.policy

import pytest
from sqlalchemy import select

from gateway.config import ConfigError, load_settings
from tests.support import ingest, new_mail, open_case, post
from workflows.clock import escalation
from workflows.domain import Family, OutboundKind
from workflows.inbound import triage
from workflows.settings import Mailbox
from workflows.storage.models import OutboundMessage

SIGNATURE = "Kind regards,\nThe Acme Desk · +49 30 1234"


@pytest.fixture
def settings(settings):
    care = dataclasses.replace(settings.mailboxes[0], display_name="Acme Support",
                               signature=SIGNATURE)
    new = dataclasses.replace(settings.mailboxes[1], display_name="Intake Desk")
    boxes: tuple[Mailbox, ...] = (care, new, *settings.mailboxes[2:])
    return dataclasses.replace(settings, mailboxes=boxes, desk_name="Example Desk")


def parsed(raw: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)


def test_an_analysts_case_speaks_for_the_first_mailbox(rt, people):
    mail = parsed(post(rt, open_case(rt)))
    assert mail["From"].addresses[0].display_name == "Acme Support"
    assert SIGNATURE.replace("\n", "\r\n") in mail.get_body(("plain",)).get_content()
    assert "The Acme Desk" in mail.get_body(("html",)).get_content()
    assert b"Customer Care" not in mail.as_bytes()


def test_a_case_speaks_for_the_mailbox_its_first_mail_came_to(rt, people):
    """Opened from mail to new@ (policy open_case): the acknowledgement and later posts are
    from "Intake Desk", without care@'s signature."""
    opened = ingest(rt, new_mail(sender=people["alice"], subject="Scanner"),
                    mailbox="new@desk.example")
    assert opened.case_number is not None
    reply = parsed(post(rt, opened.case_number))
    assert reply["From"].addresses[0].display_name == "Intake Desk"
    assert "The Acme Desk" not in reply.get_body(("plain",)).get_content()


def test_the_acknowledgement_of_mail_to_an_open_case_mailbox_speaks_for_it(rt, people):
    """The "case opened" reply to mail that came to new@ (policy open_case) is from "Intake
    Desk" like every later mail of the case, not from the desk's name."""
    opened = ingest(rt, new_mail(sender=people["alice"], subject="Scanner"),
                    mailbox="new@desk.example")
    with rt.db.transaction() as s:
        ack = s.scalars(select(OutboundMessage).where(
            OutboundMessage.kind == OutboundKind.NEW_CASE_ACK.value)).one()
        assert ack.case_id is not None and opened.case_number
        raw = ack.raw
    assert parsed(raw)["From"].addresses[0].display_name == "Intake Desk"


def test_triage_open_uses_the_mailbox_of_the_triaged_mail(rt, people):
    ingest(rt, new_mail(sender=people["alice"], subject="Scanner"))  # care@: triage
    with rt.db.transaction() as s:
        number = triage.open_for_sender(s, rt.settings, rt.key, item_id=1, actor="t",
                                        now=rt.now()).number
    assert parsed(post(rt, number))["From"].addresses[0].display_name == "Acme Support"


def _config(tmp_path, mailbox_lines: str):
    path = tmp_path / "c.toml"
    path.write_text('[gateway]\ndesk_name = "Example Desk"\n[[mailbox]]\n'
                    f'address = "care@desk.example"\n{mailbox_lines}')
    return load_settings(path, env={"TICKETGATE_HOME": str(tmp_path)})


def test_config_reads_identity_keys(tmp_path):
    got = _config(tmp_path, 'display_name = "Acme Support"\nsignature = """Regards,\nUs"""\n')
    assert (got.desk_name, got.mailboxes[0].display_name, got.mailboxes[0].signature) == (
        "Example Desk", "Acme Support", "Regards,\nUs")


def test_a_display_name_on_two_lines_stops_the_start(tmp_path):
    with pytest.raises(ConfigError, match="display_name"):
        _config(tmp_path, 'display_name = "Acme\\nBcc: x@evil.example"\n')


def test_an_escalated_case_speaks_for_its_originals_mailbox(rt, people):
    """TSUP-1001, opened from CASE-1001 (first mail to new@, "Intake Desk"), has no mail of its
    own: its "escalated" mail and later posts speak for the original's mailbox, not for the
    first [[mailbox]] as a case opened on the phone would."""
    opened = ingest(rt, new_mail(sender=people["alice"], subject="Scanner"),
                    mailbox="new@desk.example")
    assert opened.case_number is not None
    with rt.db.transaction() as s:
        done = escalation.escalate_case(s, rt.settings, rt.key, number=opened.case_number,
                                        to=Family.TSUP, now=rt.now(), actor="t")
        told = s.get(OutboundMessage, done.outbound_id)
        assert told is not None
        raw = told.raw
    assert parsed(raw)["From"].addresses[0].display_name == "Intake Desk"
    assert parsed(post(rt, done.linked))["From"].addresses[0].display_name == "Intake Desk"
