"""``ingest`` on SQLite leaves WAL checkpoints to a thread of its own (issue 15): its batch
commits nudge the thread, which checkpoints, and the command stops it before exiting."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import reply_to
from workflows.storage import checkpoint
from workflows.storage.checkpoint import WalCheckpointer


def test_ingest_checkpoints_in_a_thread(cli, desk, tmp_path: Path, database_url: str,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL has no WAL file to checkpoint from the client")
    monkeypatch.setattr(checkpoint, "INTERVAL", 0.0)  # served at once: no wait in the test
    stopped: list[WalCheckpointer] = []
    stop = WalCheckpointer.stop
    monkeypatch.setattr(WalCheckpointer, "stop", lambda self: (stop(self), stopped.append(self)))
    case_mail = sorted((tmp_path / "var" / "outbox").glob("*.eml"))[0].read_bytes()
    folder = tmp_path / "in"
    folder.mkdir()
    for n in range(3):
        (folder / f"{n}.eml").write_bytes(reply_to(case_mail, sender="alice@acme.example",
                                                   body=f"Answer {n}.",
                                                   message_id=f"<ck-{n}@client.example>"))
    out = cli("ingest", str(folder)).out
    assert [line["outcome"] for line in out] == ["linked"] * 3
    [thread] = stopped
    assert thread.checkpoints >= 1
