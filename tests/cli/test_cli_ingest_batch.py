"""``ingest`` of a folder, a batch of messages at a time: redelivery is a no-op within a folder
and across runs, and a message that raises keeps its error while the others of its batch are
processed (the batch's all-at-once try is rolled back, then each message gets a savepoint)."""

from __future__ import annotations

import email
import email.policy
from pathlib import Path

from tests.support import new_mail, reply_to


def _outbox(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / "var" / "outbox").glob("*.eml"))


def _reply(tmp_path: Path, n: int, *, attachment: bool = False) -> bytes:
    raw = reply_to(_outbox(tmp_path)[0].read_bytes(), sender="alice@acme.example",
                   body=f"Answer {n}.", message_id=f"<batch-{n}@client.example>")
    if not attachment:
        return raw
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    msg.add_attachment(b"log line\n", maintype="text", subtype="plain", filename="app.log")
    return msg.as_bytes()


def _folder(tmp_path: Path, mails: list[bytes]) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    for i, raw in enumerate(mails):
        (folder / f"{i}.eml").write_bytes(raw)
    return folder


def _break_blob_store(tmp_path: Path) -> None:
    """Storing an attachment raises: the blob store's directory is a file."""
    (tmp_path / "var" / "blobs").write_text("not a directory")


def _replies(cli) -> list[str]:
    updates = cli("case", "show", "CASE-1001").out[0]["updates"]
    return [u["kind"] for u in updates]


def test_a_message_that_raises_keeps_its_error_and_the_others_are_processed(cli, desk,
                                                                             tmp_path):
    """The failing message is kept (will_retry, its error); its neighbours are linked."""
    _break_blob_store(tmp_path)
    folder = _folder(tmp_path, [_reply(tmp_path, 1), _reply(tmp_path, 2, attachment=True),
                                _reply(tmp_path, 3)])
    out = cli("ingest", str(folder)).out
    assert [line["outcome"] for line in out] == ["linked", "will_retry", "linked"]
    assert "blobs" in out[1]["reason"]
    assert _replies(cli) == ["post", "reply", "reply"]


def test_a_message_that_raised_in_a_batch_counts_one_attempt(cli, desk, tmp_path):
    """The batch's rolled-back try and the message's own are one attempt: two sweeps later
    it is failed (3)."""
    _break_blob_store(tmp_path)
    cli("ingest", str(_folder(tmp_path, [_reply(tmp_path, 1),
                                         _reply(tmp_path, 2, attachment=True)])))
    for _ in range(2):
        cli("process-pending")
    [failed] = cli("failed", "list").out
    assert (failed["attempts"], "blobs" in failed["error"]) == (3, True)


def test_mail_of_a_batch_that_raised_is_sent_once(cli, desk, tmp_path):
    """A case opened in the batch's rolled-back try is opened again message by message: one
    case, one acknowledgement in the outbox, none from the try that failed."""
    _break_blob_store(tmp_path)
    before = len(_outbox(tmp_path))
    folder = _folder(tmp_path, [
        new_mail(sender="alice@acme.example", to="new@desk.example", subject="Scanner jam",
                 message_id="<batch-new@client.example>"),
        _reply(tmp_path, 2, attachment=True)])
    out = cli("ingest", "--mailbox", "new@desk.example", str(folder)).out
    assert [(line["outcome"], line["case"]) for line in out] == [
        ("linked", "CASE-1002"), ("will_retry", None)]
    assert len(_outbox(tmp_path)) == before + 1


def test_the_same_bytes_twice_in_one_folder_are_one_message(cli, desk, tmp_path):
    """The second copy is a duplicate of the first, decided in the same batch."""
    reply = _reply(tmp_path, 1)
    out = cli("ingest", str(_folder(tmp_path, [reply, reply]))).out
    assert [(line["outcome"], line["reason"], line["case"]) for line in out] == [
        ("linked", "reply", "CASE-1001"), ("duplicate", "same_bytes", "CASE-1001")]
    assert _replies(cli) == ["post", "reply"]


def test_the_same_message_id_twice_in_one_folder_is_a_duplicate(cli, desk, tmp_path):
    """Other bytes, same Message-ID: both kept, the second decided a duplicate of the first."""
    first = _reply(tmp_path, 1)
    other = first.replace(b"Answer 1.", b"Answer 1, again.")
    out = cli("ingest", str(_folder(tmp_path, [first, other]))).out
    assert [(line["outcome"], line["reason"]) for line in out] == [
        ("linked", "reply"), ("duplicate", "same_message_id")]
    assert _replies(cli) == ["post", "reply"]


def test_a_second_ingest_of_a_folder_prints_a_duplicate_for_each(cli, desk, tmp_path):
    """Rerun after a success: nothing decided again, each line names the case as before."""
    folder = _folder(tmp_path, [_reply(tmp_path, n) for n in range(3)])
    cli("ingest", str(folder))
    again = cli("ingest", str(folder)).out
    assert [(line["outcome"], line["reason"], line["case"], line["message_id"])
            for line in again] == [("duplicate", "same_bytes", "CASE-1001",
                                    f"batch-{n}@client.example") for n in range(3)]
    assert _replies(cli) == ["post", "reply", "reply", "reply"]


def test_each_batch_is_parsed_once_and_processed_whole(cli, desk, tmp_path, monkeypatch):
    """``ingest`` parses the next batch while the server writes the one before: every mail
    is parsed once, and no batch falls back to a savepoint per message (which a write the
    pipeline refused would make happen, silently and slowly)."""
    from gateway.cli import ingest
    from workflows.inbound import process

    monkeypatch.setattr(ingest, "BATCH", 2)
    parses, isolated = [], []
    real_parse, real_run = ingest.parse, process._run_batch

    def counted(raw: bytes, **kwargs):  # type: ignore[no-untyped-def]
        parses.append(raw)
        return real_parse(raw, **kwargs)

    def run_batch(*args, **kwargs):  # type: ignore[no-untyped-def]
        isolated.append(kwargs["isolate"])
        return real_run(*args, **kwargs)

    monkeypatch.setattr(ingest, "parse", counted)
    monkeypatch.setattr(process, "parse", counted)
    monkeypatch.setattr(process, "_run_batch", run_batch)
    mails = [_reply(tmp_path, n) for n in range(5)]
    out = cli("ingest", str(_folder(tmp_path, mails))).out
    assert [line["outcome"] for line in out] == ["linked"] * 5
    assert sorted(parses) == sorted(mails)
    assert isolated == [False, False, False]
    assert _replies(cli) == ["post"] + ["reply"] * 5
