"""Issue 12 defect 1, vector by vector: hostile values from outside reach our mail as data,
never as headers. Real flow: the mail is ingested, processed, and the outbox row read back."""

from __future__ import annotations

import email
import email.policy

import pytest
from sqlalchemy import select

from tests.support import ingest, open_case, post
from workflows.cases import directory
from workflows.cases import service as cases
from workflows.outbound import headers as mailheaders
from workflows.storage.models import Case, Contact, OutboundMessage

INJECTED = "=?utf-8?q?Hi=0D=0AReply-To:_attacker@evil.example?="
# Left side all atext, so it even looks like a msg-id; the stdlib decodes it all the same.
INJECTED_ID = "<=?utf-8?q?x=0D=0ABcc:_victim@evil.example?=@evil.example>"
CASE_HEADERS = {"From", "To", "Subject", "Date", "Message-ID", "X-Ticketgate-Loop",
                "MIME-Version", "Content-Type"}


def _raw_mail(*, sender: str, to: str, subject: str, message_id: str,
              extra: str = "") -> bytes:
    """Bytes as a hostile client sends them (the email package would re-encode them)."""
    return (f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: {message_id}\r\n"
            f"Date: Mon, 02 Mar 2026 09:00:00 +0000\r\n{extra}MIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n\r\nPlease help.\r\n").encode()


def _names(raw: bytes) -> set[str]:
    return set(email.message_from_bytes(raw, policy=email.policy.default).keys())


def _outbound(rt, kind: str) -> list[OutboundMessage]:
    with rt.db.session() as s:
        return list(s.scalars(select(OutboundMessage).where(OutboundMessage.kind == kind)))


def test_an_encoded_subject_that_opens_a_case_adds_no_header_to_the_acknowledgement(
        rt, people):
    """Open-case mailbox: the subject becomes the case subject and the ack's subject."""
    ingest(rt, _raw_mail(sender=people["alice"], to="new@desk.example", subject=INJECTED,
                         message_id="<n1@acme.example>"), mailbox="new@desk.example")
    [ack] = _outbound(rt, "new_case_ack")
    assert _names(ack.raw) == CASE_HEADERS | {"Auto-Submitted", "X-Auto-Response-Suppress",
                                              "In-Reply-To", "References"}
    with rt.db.session() as s:
        [case] = s.scalars(select(Case))
        assert case.subject == "Hi Reply-To: attacker@evil.example"
    assert b"\r\nReply-To:" not in post(rt, case.number)


def test_an_encoded_message_id_is_not_carried_into_the_next_post(rt, people):
    """The analyst's post answers the customer's mail; an unusable id is dropped, not sent."""
    number = open_case(rt)
    first = post(rt, number)
    reply_id = email.message_from_bytes(first)["Message-ID"]
    ingest(rt, _raw_mail(sender=people["alice"], to="care@desk.example",
                         subject=f"Re: {email.message_from_bytes(first)['Subject']}",
                         message_id=INJECTED_ID,
                         extra=f"In-Reply-To: {reply_id}\r\nReferences: {reply_id}\r\n"))
    answer = post(rt, number, body="Thanks")
    assert _names(answer) == CASE_HEADERS
    assert b"evil.example" not in answer.split(b"\r\n\r\n", 1)[0]


def test_references_keep_the_whole_chain(rt, people):
    """RFC 5322 3.6.4: the parent's References, then the parent's Message-ID."""
    number = open_case(rt)
    first = email.message_from_bytes(post(rt, number))
    chain = "<root@acme.example> <mid@desk.example> " + first["Message-ID"]
    ingest(rt, _raw_mail(sender=people["alice"], to="care@desk.example",
                         subject=f"Re: {first['Subject']}", message_id="<r2@acme.example>",
                         extra=f"In-Reply-To: {first['Message-ID']}\r\nReferences: {chain}\r\n"))
    answer = email.message_from_bytes(post(rt, number, body="Thanks"))
    assert answer["In-Reply-To"] == "<r2@acme.example>"
    assert answer["References"].split() == [*chain.split(), "<r2@acme.example>"]


def test_a_long_chain_keeps_the_root_and_the_newest_ids():
    """The cap: the thread's root and the 19 nearest ancestors, the parent last."""
    refs = [f"m{i}@x.example" for i in range(50)]
    kept = mailheaders.references("parent@x.example", refs)
    assert len(kept) == mailheaders.MAX_REFERENCES == 20
    assert kept[0] == "m0@x.example" and kept[-1] == "parent@x.example"
    assert kept[1:-1] == tuple(refs[-18:])


@pytest.mark.parametrize("value", [
    INJECTED_ID, "<a b@x>", "<a@b\r\nBcc: x@evil.example>", "<a\x00@x>", "<@x>", "<a@>",
    "<é@x.example>", "<a@[1.2.3.4\r\n]>"])
def test_an_invalid_message_id_is_dropped(value):
    assert mailheaders.msg_id(value) is None


def test_a_valid_message_id_is_kept():
    assert mailheaders.msg_id("<CAF=x+y_z@mail.gmail.com>") == "CAF=x+y_z@mail.gmail.com"
    assert mailheaders.msg_id("a.b@[10.0.0.1]") == "a.b@[10.0.0.1]"


@pytest.mark.parametrize("value, shown", [
    (INJECTED, "Hi Reply-To: attacker@evil.example"),
    ("=?utf-8?b?PT91dGYtOD9xP2E9MEQ9MEFYOl8xPz0=?=", "a X: 1"),  # encoded twice
    ("Hi\r\nBcc: x\x00y\u2028z", "Hi Bcc: x y z"),
    ("Invoice \u202egpj.exe", "Invoice gpj.exe"),
    ("  many   spaces\t", "many spaces"),
])
def test_header_text_is_folded_after_decoding(value, shown):
    assert mailheaders.text(value) == shown


@pytest.mark.parametrize("value", ["a\x00b@x.example", "=?utf-8?q?a=0D=0A?=@x.example",
                                   "a@x.example\r\nBcc: y@evil.example", "a\u202e@x.example"])
def test_an_unusable_address_is_refused(value):
    with pytest.raises(mailheaders.BadAddress):
        mailheaders.address(value)


def test_an_attachment_name_is_decoded_before_it_is_cleaned():
    assert mailheaders.filename("=?utf-8?q?a=0D=0AX-Evil:_1?=.txt") == "a X-Evil: 1.txt"


def test_stored_names_are_folded_or_refused(rt, people):
    """Org and contact names: line breaks folded on the way in; nothing left is refused."""
    with rt.db.transaction() as s:
        org = directory.add_organization(s, name="Ini\r\ntech\x00", domains=["initech.example"],
                                         timezone="UTC", country=None, notify=[],
                                         now=rt.now())
        contact = directory.add_contact(s, organization=org.name, email="p@initech.example",
                                        name=INJECTED, designated=True, now=rt.now())
        assert (org.name, contact.name) == ("Ini tech", "Hi Reply-To: attacker@evil.example")
    refused = pytest.raises(mailheaders.UnsafeValue, match="organization name is empty")
    with refused, rt.db.transaction() as s:
        directory.add_organization(s, name="\r\n\x00", domains=[], timezone="UTC",
                                   country=None, notify=[], now=rt.now())


def test_a_case_subject_from_any_edge_is_stored_folded(rt, people):
    with rt.db.transaction() as s:
        alice = s.scalars(select(Contact).where(Contact.email == people["alice"])).one()
        case = cases.open_case(s, organization_id=alice.organization_id, contact=alice,
                               subject="Printer\r\nBcc: x@evil.example", now=rt.now(),
                               actor="test")
        assert case.subject == "Printer Bcc: x@evil.example"


def test_a_message_id_domain_that_cannot_make_a_msg_id_stops_the_start(tmp_path):
    """Checked once at load time, not refused on every mail."""
    from gateway.config import ConfigError, load_settings

    path = tmp_path / "config.toml"
    path.write_text('[[mailbox]]\naddress = "care@desk.example"\n')
    env = {"TICKETGATE_HOME": str(tmp_path / "var"),
           "TICKETGATE_MESSAGE_ID_DOMAIN": "desk example\r\nBcc: x"}
    with pytest.raises(ConfigError, match="message_id_domain"):
        load_settings(path, env=env)
