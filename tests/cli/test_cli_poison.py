"""A poison message cannot loop (issue 12): attempts are counted, then the message is failed.

Processing is made to fail for real: the blob store's directory is a file, so storing the
reply's attachment raises. Each attempt is counted before it starts; after three (the default
``process_max_attempts``) the message is ``failed`` and nothing retries it until an operator
says ``ticketgate failed retry``.
"""

from __future__ import annotations

import email
import email.policy
from pathlib import Path

from tests.support import reply_to


def _outbox_mail(tmp_path: Path) -> bytes:
    [path] = (tmp_path / "var" / "outbox").glob("*.eml")
    return path.read_bytes()


def _reply_with_attachment(tmp_path: Path) -> Path:
    raw = reply_to(_outbox_mail(tmp_path), sender="alice@acme.example")
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    msg.add_attachment(b"log line\n", maintype="text", subtype="plain", filename="app.log")
    path = tmp_path / "reply.eml"
    path.write_bytes(msg.as_bytes())
    return path


def _break_blob_store(tmp_path: Path) -> Path:
    blobs = tmp_path / "var" / "blobs"
    blobs.write_text("not a directory")
    return blobs


def test_message_that_raises_is_failed_after_three_attempts(cli, desk, tmp_path):
    """Each failed attempt is counted and retried later; the third one is the last."""
    _break_blob_store(tmp_path)
    first = cli("ingest", str(_reply_with_attachment(tmp_path))).out[0]
    second = cli("process-pending").out[0]
    third = cli("process-pending").out[0]
    assert [first["outcome"], second["message_status"], third["message_status"]] == [
        "will_retry", "received", "failed"]
    [failed] = cli("failed", "list").out
    assert (failed["attempts"], "blobs" in failed["error"]) == (3, True)


def test_failed_message_is_not_retried_for_ever(cli, desk, tmp_path):
    """Once failed, the sweep (process-pending) leaves it alone: no fourth attempt."""
    _break_blob_store(tmp_path)
    cli("ingest", str(_reply_with_attachment(tmp_path)))
    for _ in range(2):
        cli("process-pending")
    assert cli("process-pending").out == []
    [failed] = cli("failed", "list").out
    assert failed["attempts"] == 3


def test_failed_retry_requeues_with_a_fresh_count(cli, desk, tmp_path):
    """`failed retry` brings the message back: processed once the cause is fixed."""
    blobs = _break_blob_store(tmp_path)
    cli("ingest", str(_reply_with_attachment(tmp_path)))
    for _ in range(2):
        cli("process-pending")
    [failed] = cli("failed", "list").out
    blobs.unlink()
    [retried] = cli("failed", "retry", str(failed["id"])).out
    assert (retried["status"], retried["outcome"], retried["case"]) == (
        "processed", "linked", "CASE-1001")
    assert cli("failed", "list").out == []


def test_failed_retry_restarts_the_attempt_count(cli, desk, tmp_path):
    """A retried message that fails again gets its full number of attempts again."""
    _break_blob_store(tmp_path)
    cli("ingest", str(_reply_with_attachment(tmp_path)))
    for _ in range(2):
        cli("process-pending")
    [failed] = cli("failed", "list").out
    [retried] = cli("failed", "retry", str(failed["id"])).out
    assert (retried["status"], cli("failed", "list").out) == ("received", [])


def test_message_over_its_time_limit_is_failed(cli, desk, tmp_path, monkeypatch):
    """A limit no processing can meet: every attempt overruns; the third one fails it."""
    monkeypatch.setenv("TICKETGATE_PROCESS_TIME_LIMIT", "0.000000001")
    path = tmp_path / "reply.eml"
    path.write_bytes(reply_to(_outbox_mail(tmp_path), sender="alice@acme.example"))
    first = cli("ingest", str(path)).out[0]
    for _ in range(2):
        cli("process-pending")
    [failed] = cli("failed", "list").out
    assert (first["outcome"], failed["attempts"]) == ("will_retry", 3)
    assert "time limit" in failed["error"]
    shown = cli("case", "show", "CASE-1001").out[0]
    assert ([u["kind"] for u in shown["updates"]], shown["status"]) == (
        ["post"], "awaiting_info")  # an overrun attempt is rolled back, not half-applied


def test_impossible_time_limit_is_a_configuration_error(cli, monkeypatch):
    """A limit Celery's hard limit could not follow is refused at start, exit 2."""
    monkeypatch.setenv("TICKETGATE_PROCESS_TIME_LIMIT", "500")
    run = cli("failed", "list")
    assert (run.code, "process_time_limit" in run.err) == (2, True)
