"""``ticketgate case post --attach FILE``: files out with the update, refusals in one line."""

from __future__ import annotations

import email
import email.policy

PDF = b"%PDF-1.5\nmanual\n%%EOF\n"


def _outbox(tmp_path) -> list[bytes]:
    return [p.read_bytes() for p in sorted((tmp_path / "var" / "outbox").glob("*.eml"))]


def test_post_with_files_lists_them_and_mails_them(cli, desk, tmp_path):
    script = tmp_path / "collect logs.sh"
    script.write_bytes(b"#!/bin/sh\ntar czf /tmp/logs.tgz /var/log\n")
    manual = tmp_path / "Benutzerhandbuch – Größe.pdf"
    manual.write_bytes(PDF)
    before = set(_outbox(tmp_path))
    run = cli("case", "post", "CASE-1001", "--body", "Please run the script.",
              "--attach", str(script), "--attach", str(manual))
    assert run.code == 0, run.err
    [line] = run.out
    assert line["sent"] is True
    assert [(a["filename"], a["content_type"], a["size"]) for a in line["attachments"]] == [
        ("collect logs.sh", "application/x-sh", script.stat().st_size),
        ("Benutzerhandbuch – Größe.pdf", "application/pdf", len(PDF))]
    [raw] = set(_outbox(tmp_path)) - before  # the file transport names mail by Message-ID
    mail = email.message_from_bytes(raw, policy=email.policy.default)
    assert line["message_id"] in str(mail["Message-ID"])
    assert [p.get_payload(decode=True) for p in mail.iter_attachments()] == [
        script.read_bytes(), PDF]
    shown = cli("case", "show", "CASE-1001").out[0]
    assert [a["filename"] for a in shown["attachments"]] == ["collect logs.sh",
                                                            "Benutzerhandbuch – Größe.pdf"]


def test_a_missing_file_is_one_line_and_nothing_is_sent(cli, desk, tmp_path):
    before = len(_outbox(tmp_path))
    run = cli("case", "post", "CASE-1001", "--body", "x", "--attach",
              str(tmp_path / "nope.log"))
    assert run.code == 1 and run.out == []
    assert run.err.strip().count("\n") == 0 and "nope.log: no such file" in run.err
    folder = cli("case", "post", "CASE-1001", "--body", "x", "--attach", str(tmp_path))
    assert folder.code == 1 and "not a file" in folder.err
    assert len(_outbox(tmp_path)) == before


def test_size_limits_come_from_the_configuration(cli, desk, tmp_path, monkeypatch):
    big = tmp_path / "big.log"
    big.write_bytes(b"x" * 2000)
    monkeypatch.setenv("TICKETGATE_POST_FILE_MAX_BYTES", "1024")
    run = cli("case", "post", "CASE-1001", "--body", "x", "--attach", str(big))
    assert run.code == 1
    assert "big.log is 2000 bytes: a file may be at most 1024 bytes" in run.err
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    assert "empty.txt is empty" in cli("case", "post", "CASE-1001", "--body", "x",
                                       "--attach", str(empty)).err
    monkeypatch.setenv("TICKETGATE_POST_FILE_MAX_BYTES", "lots")
    assert cli("case", "post", "CASE-1001", "--body", "x").code == 2
