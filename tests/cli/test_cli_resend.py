"""`ticketgate case resend`: a case mail the relay refused for good goes out again, once, as it
was (same Message-ID), through a real SMTP session; anything not failed is refused."""

from __future__ import annotations

import pytest

from tests.notices.conftest import sink  # noqa: F401  (the fixture: a real SMTP sink)


@pytest.fixture
def refusing_desk(cli, sink, monkeypatch):  # noqa: F811
    """CASE-1001's request for information refused by the relay with a 554 (failed at once)."""
    handler, port = sink
    handler.replies["alice@acme.example"] = "554 5.7.1 relay access denied for this client"
    monkeypatch.setenv("TICKETGATE_TRANSPORT", f"smtp://127.0.0.1:{port}")
    cli("org", "add", "Acme", "--domain", "acme.example", "--tz", "Europe/Berlin")
    cli("contact", "add", "Acme", "alice@acme.example", "--name", "Alice")
    cli("case", "open", "--org", "Acme", "--contact", "alice@acme.example", "--subject", "Fax")
    posted = cli("case", "post", "CASE-1001", "--body", "Which model?", "--request-info")
    assert posted.out[0]["sent"] is False
    return posted.out[0]["message_id"]


def test_a_failed_case_mail_is_sent_again_with_its_message_id(cli, sink, refusing_desk):  # noqa: F811
    handler, _port = sink
    [waiting] = cli("health").out[0]["waiting"]
    assert (waiting["message_id"], waiting["status"]) == (refusing_desk, "failed")
    del handler.replies["alice@acme.example"]  # the relay fixed
    done = cli("case", "resend", f"<{refusing_desk}>")
    assert done.code == 0 and done.out[0]["status"] == "sent"
    [mail] = handler.mails()
    assert mail["Message-ID"] == f"<{refusing_desk}>" and "Which model?" in mail.as_string()
    assert cli("health").out[0]["case_mail"]["failed"] == 0


def test_a_resend_refused_again_stays_failed_with_the_new_error(cli, sink, refusing_desk):  # noqa: F811
    """Still failed, with the relay's new answer; exit 1 and one line, as a script expects."""
    done = cli("case", "resend", refusing_desk)
    assert done.code == 1 and done.out[0]["status"] == "failed"
    assert "relay access denied" in done.out[0]["last_error"]
    assert "refused" in done.err and "relay access denied" in done.err


def test_a_sent_mail_is_not_sent_again(cli, sink, refusing_desk):  # noqa: F811
    handler, _port = sink
    del handler.replies["alice@acme.example"]
    assert cli("case", "resend", refusing_desk).code == 0
    again = cli("case", "resend", refusing_desk)
    assert again.code == 1 and "is sent, not failed" in again.err
    assert len(handler.mails()) == 1


def test_an_unknown_message_id_is_a_clear_error(cli):
    done = cli("case", "resend", "nope@nowhere.example")
    assert done.code == 1 and "no case mail with Message-ID <nope@nowhere.example>" in done.err
