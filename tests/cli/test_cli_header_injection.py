"""Issue 12 defect 1 through the CLI: a hostile file name or name is data, never a header, and
a name that cannot be made safe is one line and exit 1 -- never a traceback."""

from __future__ import annotations

import email
import email.policy

import pytest

ENCODED = "=?utf-8?q?a=0D=0AX-Evil:_1?=.txt"
CASE_HEADERS = ["Content-Type", "Date", "From", "MIME-Version", "Message-ID", "Subject", "To",
                "X-Ticketgate-Loop"]


def _sent(tmp_path, before: set[bytes]) -> email.message.EmailMessage:
    [raw] = {p.read_bytes() for p in (tmp_path / "var" / "outbox").glob("*.eml")} - before
    return email.message_from_bytes(raw, policy=email.policy.default)


def _outbox(tmp_path) -> set[bytes]:
    return {p.read_bytes() for p in (tmp_path / "var" / "outbox").glob("*.eml")}


@pytest.mark.parametrize("name, kept", [(ENCODED, "a X-Evil: 1.txt"),
                                        ("b\r\nX-Evil: 1.txt", "b X-Evil: 1.txt")])
def test_an_attached_txt_whose_name_decodes_to_a_line_break_goes_out_as_one_parameter(
        cli, desk, tmp_path, name, kept):
    """Was a traceback (the header registry refused the CR/LF it had decoded itself)."""
    folder = tmp_path / "files"
    folder.mkdir()
    (folder / name).write_bytes(b"log line\n")
    before = _outbox(tmp_path)
    run = cli("case", "post", "CASE-1001", "--body", "The log.", "--attach", str(folder / name))
    assert run.code == 0, run.err
    assert [a["filename"] for a in run.out[0]["attachments"]] == [kept]
    mail = _sent(tmp_path, before)
    assert sorted(mail.keys()) == CASE_HEADERS  # the case has no customer mail to answer
    [part] = mail.iter_attachments()
    assert part.get_filename() == kept and "X-Evil" not in part
    assert part.get_payload(decode=True) == b"log line\n"


def test_an_org_name_that_is_only_control_characters_is_refused(cli):
    run = cli("org", "add", "=?utf-8?q?=0D=0A=00?=", "--domain", "x.example", "--tz", "UTC")
    assert run.code == 1 and run.out == []
    assert "organization name is empty once control characters are removed" in run.err
    assert "Traceback" not in run.err and run.err.strip().count("\n") == 0


def test_org_contact_and_subject_are_stored_folded(cli):
    org = cli("org", "add", "Ini\r\ntech", "--domain", "initech.example", "--tz", "UTC")
    assert (org.code, org.out[0]["name"]) == (0, "Ini tech")
    contact = cli("contact", "add", "Ini tech", "p@initech.example", "--name",
                  "Peter\r\nBcc: x@evil.example")
    assert (contact.code, contact.out[0]["name"]) == (0, "Peter Bcc: x@evil.example")
    opened = cli("case", "open", "--org", "Ini tech", "--contact", "p@initech.example",
                 "--subject", "=?utf-8?q?Hi=0D=0AReply-To:_attacker@evil.example?=")
    assert opened.code == 0, opened.err
    assert opened.out[0]["subject"] == "Hi Reply-To: attacker@evil.example"
