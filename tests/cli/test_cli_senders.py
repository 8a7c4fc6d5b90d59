"""Only allowed senders touch a case, seen from the command line (issue 12 §3)."""

from __future__ import annotations

from pathlib import Path

from tests.support import reply_to


def _outbox_mail(tmp_path: Path) -> bytes:
    [path] = (tmp_path / "var" / "outbox").glob("*.eml")
    return path.read_bytes()


def test_strangers_auto_submitted_mail_is_in_triage_not_on_the_case(cli, desk, tmp_path):
    """A robot outside the organization quoting a valid reference writes nothing on the case:
    `case show` lists only the analyst's post; the mail waits in triage, case suggested."""
    mail = reply_to(_outbox_mail(tmp_path), sender="billing@evil.example",
                    body="URGENT: our bank details changed.",
                    extra_headers={"Auto-Submitted": "auto-generated"})
    path = tmp_path / "robot.eml"
    path.write_bytes(mail)
    [line] = cli("ingest", str(path)).out
    assert (line["outcome"], line["reason"], line["case"]) == (
        "triaged", "unauthorized_sender", None)
    shown = cli("case", "show", "CASE-1001").out[0]
    assert ([u["kind"] for u in shown["updates"]], shown["status"]) == (
        ["post"], "awaiting_info")
    assert "bank details" not in str(shown)
    [item] = cli("triage", "list").out
    assert (item["reason"], item["suggested_case"], item["from"]) == (
        "unauthorized_sender", "CASE-1001", "billing@evil.example")
