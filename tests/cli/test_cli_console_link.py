"""Staff mail links to the console: one slash before ``cases`` even when ``public_url`` ends in
one (Settings.console_link), on the owner's mail and on the escalation request."""

from __future__ import annotations

import email
import email.policy
import re
from pathlib import Path

import pytest

from tests.support import reply_to

ANALYST = "ana@desk.example"


@pytest.fixture(autouse=True)
def public_url_with_slash(monkeypatch):
    # Read by each in-process ``main`` call of the ``cli`` fixture, so it holds for the desk too.
    monkeypatch.setenv("TICKETGATE_PUBLIC_URL", "https://desk.example/")


def sent_to(tmp_path: Path, address: str) -> list[bytes]:
    return [m for p in sorted((tmp_path / "var" / "outbox").glob("*.eml"))
            if f"To: {address}".encode() in (m := p.read_bytes())]


def case_links(raw: bytes) -> set[str]:
    """Every link to a case in the mail's text and HTML parts, decoded (quoted-printable may
    break a line inside a link)."""
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    text = "".join(part.get_content() for part in msg.walk()
                   if part.get_content_type() in ("text/plain", "text/html"))
    return set(re.findall(r"https?://[^\s\"<>]*cases/[\w-]+", text))


def ingest_reply(cli, tmp_path: Path, body: str) -> None:
    [request] = sent_to(tmp_path, "alice@acme.example")
    reply = tmp_path / "reply.eml"
    reply.write_bytes(reply_to(request, sender="alice@acme.example", body=body))
    assert cli("ingest", str(reply)).code == 0


def test_owner_mail_links_the_case_with_one_slash(cli, desk, tmp_path):
    """The owner's "Reply on CASE-1001" mail (workflows.cases.assignment)."""
    assert cli("user", "add", ANALYST, "--role", "analyst", "--no-password",
               "--notify-by-mail").code == 0
    assert cli("case", "assign", "CASE-1001", "--to", ANALYST).code == 0
    ingest_reply(cli, tmp_path, "Model HP 4000.")
    [mail] = sent_to(tmp_path, ANALYST)
    assert case_links(mail) == {"https://desk.example/cases/CASE-1001"}


def test_escalation_request_mail_links_the_case_with_one_slash(cli, desk, tmp_path):
    """Management's "Escalation request" mail (workflows.inbound.apply)."""
    ingest_reply(cli, tmp_path, "Escalation Request: production is down.")
    [mail] = sent_to(tmp_path, "managers@desk.example")
    assert case_links(mail) == {"https://desk.example/cases/CASE-1001"}
