"""`ticketgate case post --cc`: the Cc'd address gets the mail, and keeps getting later ones."""

from __future__ import annotations

import email
import email.policy
from pathlib import Path


def sent(tmp_path: Path) -> list[email.message.EmailMessage]:
    return [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
            for p in (tmp_path / "var" / "outbox").glob("*.eml")]


def cc_of(tmp_path: Path, text: str) -> str | None:
    (mail,) = [m for m in sent(tmp_path) if text in m.get_body(("plain",)).get_content()]
    return str(mail["Cc"]) if mail["Cc"] else None


def test_cc_on_this_post_and_the_next(cli, desk, tmp_path):
    first = cli("case", "post", "CASE-1001", "--body", "Copying finance.", "--cc",
                "Finance@Acme.example")
    assert first.code == 0 and first.out[0]["cc"] == ["finance@acme.example"]
    cli("case", "post", "CASE-1001", "--body", "Any news?")
    assert cc_of(tmp_path, "Which model?") is None  # the fixture's post, before
    assert cc_of(tmp_path, "Copying finance.") == "finance@acme.example"
    assert cc_of(tmp_path, "Any news?") == "finance@acme.example"


def test_a_malformed_cc_is_refused_without_sending(cli, desk, tmp_path):
    run = cli("case", "post", "CASE-1001", "--body", "x", "--cc", "nope")
    assert run.code == 2 and len(sent(tmp_path)) == 1  # only the fixture's post
