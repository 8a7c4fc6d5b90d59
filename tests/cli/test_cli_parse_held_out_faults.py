"""`ticketgate parse --json` on the shapes of mail the held-out evaluations found misread."""

from __future__ import annotations

from pathlib import Path

BOUNCES = Path(__file__).resolve().parents[1] / "fixtures" / "bounces"


def test_parse_json_reads_a_header_with_several_unindented_folds(cli, tmp_path):
    """Zammad's mail068 shape: a banner above the header, a Received field whose continuation
    lines lost their indent; the sender and subject below them are still shown."""
    mail = tmp_path / "damaged.eml"
    mail.write_bytes(
        b"---- Original email message ----\r\n"
        b"Received: from web.example.cz ([192.0.2.7])\r\n"
        b"by mx.example.cz with ESMTP\r\n"
        b"for helpdesk@example.cz;\r\n"
        b"Thu, 2 Aug 2018 16:58:16 +0200\r\n"
        b"To: helpdesk@example.cz\r\n"
        b"Subject: Contact from Server\r\n"
        b"From: web@example.cz\r\n"
        b"\r\n"
        b"Contact form\r\n")
    [shown] = cli("parse", str(mail), "--json").out
    assert (shown["from"], shown["subject"]) == ("web@example.cz", "Contact from Server")
    assert shown["visible_reply"] == "Contact form"


def test_parse_json_names_the_recipient_of_a_report_that_lost_its_details(cli):
    """Postfix's "Delivery report unavailable" (Sisimai's lhost-postfix-64): the returned
    message had one recipient, so that one failed, and the diagnostic says where it came from."""
    [shown] = cli("parse", str(BOUNCES / "sisimai" / "lhost-postfix-64.eml"), "--json").out
    assert shown["failed_recipients"] == ["xxxx@wanadoo.fr"]
    [recipient] = shown["bounce"]["recipients"]
    assert (recipient["status"], recipient["permanent"]) == (None, True)
    assert "delivery report unavailable" in recipient["diagnostic"]
