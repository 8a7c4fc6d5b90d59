"""Admins working the triage queue and the failed-message queue from the command line."""

from __future__ import annotations

from pathlib import Path

from gateway.http.reasons import REASON_TEXT
from tests.support import new_mail, reply_to


def outbox_mail(tmp_path: Path) -> bytes:
    [path] = (tmp_path / "var" / "outbox").glob("*.eml")
    return path.read_bytes()


def ingest_bytes(cli, tmp_path: Path, raw: bytes, name: str = "m.eml", *extra: str):
    path = tmp_path / name
    path.write_bytes(raw)
    return cli("ingest", str(path), *extra)


def test_triage_list_shows_reason_and_suggestion(cli, desk, tmp_path):
    """Each item says why it is here and which case it probably belongs to."""
    ingest_bytes(cli, tmp_path, new_mail(sender="alice@acme.example",
                                         subject="About CASE-1001"))
    [item] = cli("triage", "list").out
    assert (item["reason"], item["suggested_case"], item["from"]) == (
        "no_reference", "CASE-1001", "alice@acme.example")


def test_triage_list_says_the_reason_in_words(cli, desk, tmp_path):
    """``why``: the console's and the API's sentence for the reason, what to do included."""
    ingest_bytes(cli, tmp_path, new_mail(sender="x@stranger.example"))
    [item] = cli("triage", "list").out
    assert item["why"] == REASON_TEXT["new_mail"]


def test_triage_list_filters_by_reason(cli, desk, tmp_path):
    """--reason narrows the queue (case-insensitive)."""
    ingest_bytes(cli, tmp_path, new_mail(sender="x@stranger.example"), "a.eml")
    ingest_bytes(cli, tmp_path, new_mail(sender="alice@acme.example", subject="CASE-1001",
                                         message_id="<b@x>"), "b.eml")
    assert [i["reason"] for i in cli("triage", "list", "--reason", "NO_REFERENCE").out] == [
        "no_reference"]


def test_triage_show_explains_the_decision(cli, desk, tmp_path):
    """The trace in words, and the mail itself."""
    ingest_bytes(cli, tmp_path, new_mail(sender="x@stranger.example", body="Need help"))
    shown = cli("triage", "show", "1").out[0]
    assert shown["trace"][-1] == "rule new_mail: triaged/new_mail"
    assert "Need help" in shown["text"]


def test_linking_an_unauthorized_reply_adds_it_without_reopening(cli, desk, tmp_path):
    """An admin can link bob's mail; bob is not allowed to flip the status."""
    raw = reply_to(outbox_mail(tmp_path), sender="bob@acme.example")
    assert ingest_bytes(cli, tmp_path, raw).out[0]["reason"] == "unauthorized_sender"
    linked = cli("triage", "link", "1", "CASE-1001").out[0]
    assert (linked["case"], linked["status"]) == ("CASE-1001", "awaiting_info")
    assert cli("triage", "list").out == []


def test_linking_a_designated_contacts_mail_flips_the_status(cli, desk, tmp_path):
    """Linked by hand, a reply from the contact counts like one with the reference."""
    ingest_bytes(cli, tmp_path, new_mail(sender="alice@acme.example", subject="CASE-1001"))
    assert cli("triage", "link", "1", "case-1001").out[0]["status"] == "open"


def test_keep_status_links_without_flipping(cli, desk, tmp_path):
    """The admin may choose to add the mail and leave the status alone."""
    ingest_bytes(cli, tmp_path, new_mail(sender="alice@acme.example", subject="CASE-1001"))
    run = cli("triage", "link", "1", "CASE-1001", "--keep-status")
    assert run.out[0]["status"] == "awaiting_info"


def test_discard_removes_item_from_queue(cli, desk, tmp_path):
    """Noise is discarded, and stays on record with who did it."""
    ingest_bytes(cli, tmp_path, new_mail(sender="x@stranger.example"))
    cli("triage", "discard", "1", "--as", "admin@desk.example")
    items = cli("triage", "list", "--all").out
    assert [(i["state"]) for i in items] == ["discarded"]


def test_acting_twice_on_an_item_is_refused(cli, desk, tmp_path):
    """A resolved item cannot be resolved again by a second admin."""
    ingest_bytes(cli, tmp_path, new_mail(sender="x@stranger.example"))
    cli("triage", "discard", "1")
    run = cli("triage", "link", "1", "CASE-1001")
    assert run.code == 1 and "already discarded" in run.err


def test_open_case_from_triage_for_a_contact(cli, desk, tmp_path):
    """New mail from a contact can become a case of its own."""
    ingest_bytes(cli, tmp_path, new_mail(sender="alice@acme.example", subject="Scanner"))
    opened = cli("triage", "open", "1").out[0]
    assert (opened["case"], opened["status"]) == ("CASE-1002", "open")


def test_reopen_from_triage_within_30_days(cli, desk, tmp_path):
    """A reopen request is granted by reopening the suggested case."""
    raw = reply_to(outbox_mail(tmp_path), sender="alice@acme.example")
    cli("case", "close", "CASE-1001")
    assert ingest_bytes(cli, tmp_path, raw).out[0]["reason"] == "reopen_request"
    assert cli("triage", "reopen", "1").out[0]["status"] == "open"


def test_failed_message_is_kept_and_retried(cli, desk, tmp_path):
    """When storage breaks mid-processing the mail is kept as failed and replays later."""
    blobs = tmp_path / "var" / "blobs"
    blobs.write_text("not a directory")  # attachments cannot be stored: processing fails
    raw = reply_to(outbox_mail(tmp_path), sender="alice@acme.example")
    first = ingest_bytes(cli, tmp_path, _with_attachment(raw)).out[0]
    cli("process-pending")
    cli("process-pending")  # the third attempt (process_max_attempts) is the last
    [failed] = cli("failed", "list").out
    assert first["outcome"] == "will_retry" and "blobs" in (failed["error"] or "")
    blobs.unlink()
    retried = cli("failed", "retry", str(failed["id"])).out[0]
    assert (retried["outcome"], retried["case"], cli("failed", "list").out) == (
        "linked", "CASE-1001", [])


def test_retry_all_with_nothing_failed_prints_nothing(cli, desk):
    """--all on an empty queue is a no-op, exit 0."""
    run = cli("failed", "retry", "--all")
    assert (run.code, run.out) == (0, [])


def _with_attachment(raw: bytes) -> bytes:
    import email
    import email.policy

    msg = email.message_from_bytes(raw, policy=email.policy.default)
    msg.add_attachment(b"log line\n", maintype="text", subtype="plain", filename="app.log")
    return msg.as_bytes()


def test_an_unknown_triage_reason_is_a_usage_error(cli):
    """`triage list --reason new-mail` (a typo of new_mail): one line naming the reasons,
    exit 2, not an empty queue that reads as "nothing waits"."""
    run = cli("triage", "list", "--reason", "new-mail")
    assert (run.code, run.out) == (2, [])
    assert run.err.count("\n") == 1 and "new_mail" in run.err
    assert cli("triage", "list", "--reason", "NEW_MAIL").code == 0
