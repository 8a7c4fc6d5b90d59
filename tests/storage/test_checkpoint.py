"""WAL checkpoints in a thread of their own (``Database.checkpoints_in_background``, issue 15):
while the block runs, this process's commits leave the WAL to the thread, and what they commit
still reaches the database file; outside it, SQLite's automatic checkpoint is back."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.support import wait_until
from workflows.storage.db import Database

pytestmark = pytest.mark.filterwarnings("error")


def _autocheckpoint(db: Database) -> int:
    with db.reading() as conn:
        return int(conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one())


def _rows_in_file_alone(path: Path, copy: Path) -> int:
    """Rows of ``t`` in the database file itself, the WAL left out (a copy of the file alone)."""
    shutil.copyfile(path, copy)
    with sqlite3.connect(copy) as conn:
        found = conn.execute("SELECT count(*) FROM sqlite_schema WHERE name = 't'").fetchone()
        return conn.execute("SELECT count(*) FROM t").fetchone()[0] if found[0] else 0


@pytest.fixture
def db(tmp_path: Path):  # type: ignore[no-untyped-def]
    database = Database(f"sqlite:///{tmp_path / 'wal.db'}")
    yield database
    database.dispose()


def test_commits_inside_the_block_do_not_checkpoint(db: Database) -> None:
    with db.checkpoints_in_background():
        assert _autocheckpoint(db) == 0


def test_the_automatic_checkpoint_is_back_after_the_block(db: Database) -> None:
    with db.checkpoints_in_background():
        _autocheckpoint(db)
    assert _autocheckpoint(db) == 1000


def test_committed_rows_reach_the_database_file(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "wal.db"
    with db.writing() as conn:
        conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, body BLOB)"))
    with db.checkpoints_in_background():
        with db.writing() as conn:
            conn.execute(text("INSERT INTO t (body) VALUES (:b)"),
                         [{"b": bytes(4096)} for _ in range(300)])
        checkpointer = db._checkpointer
        assert checkpointer is not None
        wait_until(lambda: checkpointer.checkpoints >= 1, "the thread's first checkpoint")
        assert _rows_in_file_alone(path, tmp_path / "copy.db") == 300


def test_other_databases_run_no_thread(tmp_path: Path) -> None:
    memory = Database("sqlite:///:memory:")
    with memory.checkpoints_in_background():
        assert memory._checkpointer is None
    memory.dispose()
