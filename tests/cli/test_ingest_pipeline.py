"""``ingest`` parses the next batch in a thread (``workflows.inbound.pipeline.ParseAhead``)
while it commits and processes the current one: the same lines, in the files' order, and the
parses made ahead are the ones processing uses."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from gateway.cli import ingest
from parsing import parse
from tests.support import reply_to
from workflows.inbound import pipeline, process


def _case_mail(tmp_path: Path) -> bytes:
    [sent] = sorted((tmp_path / "var" / "outbox").glob("*.eml"))
    return sent.read_bytes()


def _replies(tmp_path: Path, count: int) -> Path:
    """``count`` replies from Alice to CASE-1001's mail, 00.eml, 01.eml ..., plus a copy of
    the first one's bytes as the last file (a duplicate)."""
    sent = _case_mail(tmp_path)
    folder = tmp_path / "mail"
    folder.mkdir()
    for i in range(count):
        (folder / f"{i:02d}.eml").write_bytes(reply_to(
            sent, sender="alice@acme.example", body=f"Reply number {i}.",
            message_id=f"<pipe-{i}@acme.example>"))
    (folder / f"{count:02d}.eml").write_bytes((folder / "00.eml").read_bytes())
    return folder


def test_batches_give_one_line_a_file_in_the_files_order(cli, desk, tmp_path, monkeypatch):
    """Seven replies and a duplicate in batches of three: the batches overlap (one parsed
    while another is processed), the lines do not."""
    monkeypatch.setattr(ingest, "BATCH", 3)
    folder = _replies(tmp_path, 7)
    run = cli("ingest", str(folder))
    assert run.code == 0, run.err
    assert [line["source"] for line in run.out] == [
        str(folder / f"{i:02d}.eml") for i in range(8)]
    assert [line["outcome"] for line in run.out] == ["linked"] * 7 + ["duplicate"]
    assert [line["message_id"] for line in run.out] == [
        f"pipe-{i}@acme.example" for i in range(7)] + ["pipe-0@acme.example"]


def test_processing_takes_the_parses_made_ahead(cli, desk, tmp_path, monkeypatch):
    """Processing's own parse is never called: every mail was parsed by the thread."""
    monkeypatch.setattr(ingest, "BATCH", 2)
    folder = _replies(tmp_path, 5)

    def must_not_parse(raw: bytes, key: bytes | None = None):
        raise AssertionError("parsed again inside processing")

    monkeypatch.setattr(process, "parse", must_not_parse)
    run = cli("ingest", str(folder))
    assert [line["outcome"] for line in run.out] == ["linked"] * 5 + ["duplicate"]


def test_a_parse_that_raises_ahead_is_done_again_inside(cli, desk, tmp_path, monkeypatch):
    """Parsing never raises on bad mail; if the thread's parse raised all the same, that mail
    is parsed where it always was, inside processing, and the others are not disturbed."""
    folder = _replies(tmp_path, 3)
    poisoned = (folder / "01.eml").read_bytes()

    def flaky(raw: bytes, key: bytes | None = None):
        if raw == poisoned:
            raise RuntimeError("parser bug")
        return parse(raw, key=key)

    inside: list[bytes] = []

    def spy(raw: bytes, key: bytes | None = None):
        inside.append(raw)
        return parse(raw, key=key)

    monkeypatch.setattr(pipeline, "parse", flaky)
    monkeypatch.setattr(process, "parse", spy)
    run = cli("ingest", str(folder))
    assert [line["outcome"] for line in run.out] == ["linked"] * 3 + ["duplicate"]
    assert inside == [poisoned]


def test_the_switch_interval_is_restored(cli, desk, tmp_path):
    before = sys.getswitchinterval()
    assert before != pytest.approx(pipeline.SWITCH_INTERVAL)
    assert cli("ingest", str(_replies(tmp_path, 2))).code == 0
    assert sys.getswitchinterval() == pytest.approx(before)
