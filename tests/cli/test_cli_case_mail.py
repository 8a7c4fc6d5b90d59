"""Acknowledgement and "case closed" mail, per mailbox (`acknowledge`, `notify_closed` on
[[mailbox]]), through the CLI: triage "open case", an analyst's `case open` and `case close`."""

from __future__ import annotations

import email
import email.policy
from pathlib import Path

import pytest

from tests.support import new_mail

CONFIG = ('[gateway]\nfrom_address = "care@desk.example"\n'
          'escalation_address = "managers@desk.example"\n'
          '[[mailbox]]\naddress = "care@desk.example"\n{flags}'
          '[[mailbox]]\naddress = "new@desk.example"\npolicy = "open_case"\n')


@pytest.fixture
def configure(tmp_path):
    def write(flags: str) -> None:
        (tmp_path / "config.toml").write_text(CONFIG.format(flags=flags))
    return write


def mails(tmp_path: Path, subject_starts: str) -> list[email.message.EmailMessage]:
    found = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
             for p in (tmp_path / "var" / "outbox").glob("*.eml")]
    return [m for m in found if " ".join(str(m["Subject"]).split()).startswith(subject_starts)]


def test_triage_open_case_acknowledges_with_number_and_reference(cli, desk, tmp_path,
                                                                 configure):
    """The contact learns the new case's number; the reference ties their reply to it."""
    configure("acknowledge = true\n")
    raw = new_mail(sender="alice@acme.example", subject="Scanner")
    (tmp_path / "m.eml").write_bytes(raw)
    cli("ingest", str(tmp_path / "m.eml"))
    opened = cli("triage", "open", "1").out[0]
    assert opened["case"] == "CASE-1002" and opened["acknowledged"] is True
    (ack,) = mails(tmp_path, "Case CASE-1002 opened")
    assert str(ack["To"]) == "alice@acme.example"
    assert str(ack["In-Reply-To"]) == "<new-1@client.example>"
    assert "[ref:CASE-1002:" in str(ack["Subject"])  # the Reference ID (parsing.reference)


def test_no_acknowledgement_when_the_mailbox_does_not_ask(cli, desk, tmp_path):
    (tmp_path / "m.eml").write_bytes(new_mail(sender="alice@acme.example", subject="Scanner"))
    cli("ingest", str(tmp_path / "m.eml"))
    assert "acknowledged" not in cli("triage", "open", "1").out[0]
    assert mails(tmp_path, "Case CASE-1002 opened") == []


def test_an_analyst_opened_case_is_acknowledged(cli, desk, tmp_path, configure):
    configure("acknowledge = true\n")
    cli("case", "open", "--org", "Acme", "--contact", "alice@acme.example",
        "--subject", "Phones down")
    (ack,) = mails(tmp_path, "Case CASE-1002 opened: Phones down")
    assert "CASE-1002" in ack.get_body(("plain",)).get_content()


def test_closing_mails_the_contact_when_configured(cli, desk, tmp_path, configure):
    configure("notify_closed = true\n")
    assert cli("case", "close", "CASE-1001").code == 0
    (closed,) = mails(tmp_path, "Case CASE-1001 closed")
    text = closed.get_body(("plain",)).get_content()
    assert "as resolved" in text and "within 30 days" in text


def test_the_closed_mail_continues_the_cases_thread(cli, desk, tmp_path, configure):
    """"Case CASE-1001 closed" answers the case's last mail to the contact (In-Reply-To,
    References), as the auto-close does, so the contact's mail program files it with the
    conversation instead of starting a thread of its own."""
    configure("notify_closed = true\n")
    assert cli("case", "close", "CASE-1001").code == 0
    (closed,) = mails(tmp_path, "Case CASE-1001 closed")
    assert str(closed["In-Reply-To"]) == f"<{desk}>"
    assert f"<{desk}>" in str(closed["References"])


def test_an_acknowledgement_of_mail_is_auto_replied(cli, desk, tmp_path, configure):
    """Answering a mail that came in, it says so (RFC 3834 3.1.7, 5.2): auto-replied."""
    configure("acknowledge = true\n")
    (tmp_path / "m.eml").write_bytes(new_mail(sender="alice@acme.example", subject="Scanner",
                                              to="new@desk.example"))
    assert cli("ingest", "--mailbox", "new@desk.example", str(tmp_path / "m.eml")).code == 0
    (ack,) = mails(tmp_path, "Case CASE-1002 opened: Scanner")
    assert str(ack["Auto-Submitted"]) == "auto-replied"


def test_an_acknowledgement_of_a_case_opened_by_hand_is_auto_generated(cli, desk, tmp_path,
                                                                       configure):
    """No mail came in: the acknowledgement is generated, not a reply (RFC 3834 5.1)."""
    configure("acknowledge = true\n")
    cli("case", "open", "--org", "Acme", "--contact", "alice@acme.example",
        "--subject", "Phones down")
    (ack,) = mails(tmp_path, "Case CASE-1002 opened: Phones down")
    assert str(ack["Auto-Submitted"]) == "auto-generated"
